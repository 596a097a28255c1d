"""The plate model: compares a live frame with a background plate and predicts the person mask.

A light encoder runs on the frame and on the plate with shared weights. At each scale the two feature maps are
fused with their absolute difference, so the network compares learned features rather than raw pixels; that is what
keeps it steady under exposure and white-balance drift. A small decoder brings the fused features back up to half
the input resolution. The plate's features are computed once (`encode`) and reused for every frame.
"""
from dataclasses import dataclass
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.layers import StoredConfig, conv_bn_relu


@dataclass
class PlateNetConfig:
    channels: Sequence[int] = (16, 24, 48, 64)  # one per stride-2 stage: /2, /4, /8, /16
    decoder_channels: int = 24
    input_long_side: int = 320  # the frame's long side is resized to this before inference
    in_channels: int = 3

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


class PlateNet(StoredConfig, nn.Module):
    ARCH = "plate_net"

    def __init__(self, config: PlateNetConfig = None):
        super().__init__()
        self.config = config or PlateNetConfig()
        channels = list(self.config.channels)
        width = self.config.decoder_channels
        self.encoder = PlateEncoder(self.config)
        # Fuse (frame, plate, |frame - plate|) at every scale into decoder width.
        self.fuse = nn.ModuleList(conv_bn_relu(3 * c, width, kernel_size=1) for c in channels)
        self.refine = nn.ModuleList(conv_bn_relu(width, width) for _ in channels[:-1])
        self.bottleneck = conv_bn_relu(width, width)
        self.head = nn.Conv2d(width, 1, 1)

    def encode(self, image: torch.Tensor) -> List[torch.Tensor]:
        """Multi-scale features of one normalised image; call once for the plate and cache."""
        return self.encoder(image)

    def decode(self, frame_features: List[torch.Tensor], plate_features: List[torch.Tensor]) -> torch.Tensor:
        """Mask logits at half the input resolution."""
        fused = [
            fuse(torch.cat([f, p, (f - p).abs()], dim=1))
            for fuse, f, p in zip(self.fuse, frame_features, plate_features)
        ]
        x = self.bottleneck(fused[-1])
        for level in range(len(fused) - 2, -1, -1):
            skip = fused[level]
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = self.refine[level](x + skip)
        return self.head(x)

    def forward(self, frame: torch.Tensor, plate: torch.Tensor) -> torch.Tensor:
        """Mask logits at the input resolution (training and export use this path)."""
        logits = self.decode(self.encode(frame), self.encode(plate))
        return F.interpolate(logits, size=frame.shape[-2:], mode="bilinear", align_corners=False)
