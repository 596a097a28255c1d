"""The plate model: compares a live frame with a background plate and predicts the person mask.

A light encoder runs on the frame and on the plate with shared weights. At each scale the two feature maps are
fused with their absolute difference, so the network compares learned features rather than raw pixels; that is what
keeps it steady under exposure and white-balance drift. A small decoder brings the fused features back up to half
(or a quarter of) the input resolution. The plate's features are computed once (`encode`) and reused for every frame.
"""
from dataclasses import dataclass
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.layers import StoredConfig, conv_bn_relu, upsample_like


@dataclass
class PlateNetConfig:
    channels: Sequence[int] = (16, 24, 48, 64)  # one per stride-2 stage: /2, /4, /8, /16
    decoder_channels: int = 24
    input_long_side: int = 320  # the frame's long side is resized to this before inference
    in_channels: int = 3
    output_stride: int = 2  # the mask comes out at 1/output_stride of the input (2 or 4); the guided filter does the rest
    context_layers: int = 0  # dilated convolutions (dilation 2, 4, ...) plus a whole-frame summary at the coarsest scale

    @property
    def first_decoded_level(self) -> int:
        return {2: 0, 4: 1}[self.output_stride]

    @property
    def decoded_levels(self) -> int:
        """How many feature maps `encode` returns (the scales the decoder reads)."""
        return len(self.channels) - self.first_decoded_level

    @property
    def size_multiple(self) -> int:
        return 2 ** len(self.channels)


class PlateEncoder(nn.Module):
    def __init__(self, config: PlateNetConfig):
        super().__init__()
        stages = []
        previous = config.in_channels
        for index, width in enumerate(config.channels):
            layers = [conv_bn_relu(previous, width, stride=2)]
            if index > 0:  # the first, full-size stage stays single-conv to keep it cheap
                layers.append(conv_bn_relu(width, width))
            stages.append(nn.Sequential(*layers))
            previous = width
        self.stages = nn.ModuleList(stages)

    def forward(self, image: torch.Tensor) -> List[torch.Tensor]:
        features = []
        for stage in self.stages:
            image = stage(image)
            features.append(image)
        return features


class SceneContext(nn.Module):
    """Widens what the coarsest fused features see: dilated 3x3 convolutions, and the mean over the whole frame.

    A weak local difference (a pale arm on a pale wall, dark jeans on a dark door) is easier to call when the body it
    belongs to is in view. The block adds its output to its input through 1x1 projections that start at zero, so a
    network fine-tuned from weights without it starts out computing exactly what those weights did.
    """

    def __init__(self, width: int, layers: int):
        super().__init__()
        self.dilated = nn.ModuleList(conv_bn_relu(width, width, dilation=2 ** (index + 1)) for index in range(layers))
        self.project = nn.Conv2d(width * layers, width, 1)
        self.summary = nn.Sequential(nn.Conv2d(width, width, 1), nn.ReLU(inplace=True), nn.Conv2d(width, width, 1))
        for projection in (self.project, self.summary[-1]):
            nn.init.zeros_(projection.weight)
            nn.init.zeros_(projection.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wide = self.project(torch.cat([layer(x) for layer in self.dilated], dim=1))
        return x + wide + self.summary(x.mean(dim=(2, 3), keepdim=True))


class PlateNet(StoredConfig, nn.Module):
    ARCH = "plate_net"
    # True once every input is padded to config.size_multiple (the engine's graphs): each decoder step is then
    # an exact 2x upsampling (models.layers.upsample_like).
    padded_input_only = False

    def __init__(self, config: PlateNetConfig = None):
        super().__init__()
        self.config = config or PlateNetConfig()
        channels = list(self.config.channels)
        width = self.config.decoder_channels
        self.encoder = PlateEncoder(self.config)
        if self.config.output_stride not in (2, 4):
            raise ValueError(f"output_stride must be 2 or 4, not {self.config.output_stride}")
        first = self.config.first_decoded_level
        # Fuse (frame, plate, |frame - plate|) at every decoded scale into decoder width. Levels above the output
        # scale hold Identity, so weights keep their names whatever the output stride.
        self.fuse = nn.ModuleList(conv_bn_relu(3 * c, width, kernel_size=1) if level >= first else nn.Identity()
                                  for level, c in enumerate(channels))
        self.refine = nn.ModuleList(conv_bn_relu(width, width) if level >= first else nn.Identity()
                                    for level in range(len(channels) - 1))
        self.bottleneck = conv_bn_relu(width, width)
        if self.config.context_layers < 0:
            raise ValueError(f"context_layers must be 0 or more, not {self.config.context_layers}")
        self.context = SceneContext(width, self.config.context_layers) if self.config.context_layers else nn.Identity()
        self.head = nn.Conv2d(width, 1, 1)

    def encode(self, image: torch.Tensor) -> List[torch.Tensor]:
        """The multi-scale features the decoder reads, of one normalised image; call once for the plate and cache."""
        return self.encoder(image)[self.config.first_decoded_level:]

    def decode(self, frame_features: List[torch.Tensor], plate_features: List[torch.Tensor]) -> torch.Tensor:
        """Mask logits at 1/output_stride of the input resolution."""
        first = self.config.first_decoded_level
        fused = {
            level: self.fuse[level](torch.cat([f, p, (f - p).abs()], dim=1))
            for level, f, p in zip(range(first, len(self.fuse)), frame_features, plate_features)
        }
        last = len(self.fuse) - 1
        x = self.context(self.bottleneck(fused[last]))
        for level in range(last - 1, first - 1, -1):
            skip = fused[level]
            x = upsample_like(x, skip, self.padded_input_only)
            x = self.refine[level](x + skip)
        return self.head(x)

    def forward(self, frame: torch.Tensor, plate: torch.Tensor, low_res: bool = False) -> torch.Tensor:
        """Mask logits at the input resolution (training and export use this path); with low_res, at
        1/output_stride of it, as the engine gets them."""
        logits = self.decode(self.encode(frame), self.encode(plate))
        return logits if low_res else F.interpolate(logits, size=frame.shape[-2:], mode="bilinear", align_corners=False)
