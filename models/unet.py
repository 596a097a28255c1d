"""The single-frame model: a light U-Net ("LikeUnet": the U-Net shape with far fewer kernels).

It segments a person from one image, for when no plate exists yet. Each input side must be a multiple of
2**len(channels) (32 with the default five levels); the engine pads to that.

Two decoders: the original one concatenates each skip with the upsampled path and convolves at that level's width
(decoder_channels=0); the lean one projects each skip to one narrow width with a 1x1 convolution, adds it, and
refines with one 3x3 convolution (decoder_channels=N), which costs a fraction of the concatenating one. Its finest
level (at output stride 2) works on the most pixels, so it may be narrower (finest_decoder_channels): a 1x1
convolution narrows the path before it is upsampled there.
"""
from dataclasses import dataclass
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.layers import StoredConfig, conv_bn_relu, upsample_like


@dataclass
class LikeUnetConfig:
    channels: Sequence[int] = (8, 16, 32, 64, 96)
    input_long_side: int = 256
    in_channels: int = 3  # 3 for RGB, 1 for the grayscale variant
    output_stride: int = 2  # the decoder stops at 1/output_stride of the input (2 or 4); the guided filter does the rest
    decoder_channels: int = 0  # 0: the concatenating decoder; N: the lean decoder at width N
    finest_decoder_channels: int = 0  # lean decoder at output stride 2: width of level 0; 0: decoder_channels

    @property
    def size_multiple(self) -> int:
        return 2 ** len(self.channels)

    @property
    def first_decoded_level(self) -> int:
        return {2: 0, 4: 1}[self.output_stride]

    @property
    def finest_width(self) -> int:
        """The lean decoder's width at its finest decoded level."""
        if self.first_decoded_level == 0 and self.finest_decoder_channels:
            return self.finest_decoder_channels
        return self.decoder_channels


class LikeUnet(StoredConfig, nn.Module):
    ARCH = "like_unet"
    # True once every input is padded to config.size_multiple (the engine's graphs): each decoder step is then
    # an exact 2x upsampling (models.layers.upsample_like).
    padded_input_only = False

    def __init__(self, config: LikeUnetConfig = None):
        super().__init__()
        self.config = config or LikeUnetConfig()
        if self.config.output_stride not in (2, 4):
            raise ValueError(f"output_stride must be 2 or 4, not {self.config.output_stride}")
        channels = list(self.config.channels)
        first = self.config.first_decoded_level
        # The first level already works at half resolution: full-size convs cost most and add little.
        self.stem = conv_bn_relu(self.config.in_channels, channels[0], stride=2)
        self.down = nn.ModuleList()
        previous = channels[0]
        for width in channels[1:]:
            self.down.append(nn.Sequential(conv_bn_relu(previous, width, stride=2), conv_bn_relu(width, width)))
            previous = width
        # Levels finer than the output hold Identity, so weights keep their names whatever the output stride.
        levels = range(len(channels) - 2, -1, -1)  # decoded levels, deepest first
        width = self.config.decoder_channels
        if width:
            finest = self.config.finest_width
            widths = {level: finest if level == 0 else width for level in levels}
            self.bottleneck = conv_bn_relu(channels[-1], width, kernel_size=1)
            self.lateral = nn.ModuleList(conv_bn_relu(channels[level], widths[level], kernel_size=1)
                                         if level >= first else nn.Identity() for level in levels)
            self.up = nn.ModuleList(conv_bn_relu(widths[level], widths[level]) if level >= first else nn.Identity()
                                    for level in levels)
            # Narrowed at level 1's resolution, before the upsampling, where it costs a quarter as much.
            self.narrow = conv_bn_relu(width, finest, kernel_size=1) if finest != width else nn.Identity()
            previous = widths[first]
        else:
            self.up = nn.ModuleList()
            for level in levels:
                self.up.append(conv_bn_relu(previous + channels[level], channels[level]) if level >= first
                               else nn.Identity())
                previous = channels[level] if level >= first else previous
        self.head = nn.Conv2d(previous, 1, 1)

    def encode(self, image: torch.Tensor) -> List[torch.Tensor]:
        features = [self.stem(image)]
        for block in self.down:
            features.append(block(features[-1]))
        return features

    def low_res_logits(self, image: torch.Tensor) -> torch.Tensor:
        """Mask logits at 1/output_stride of the input: what the engine's graph returns before the guided filter."""
        features = self.encode(image)
        first = self.config.first_decoded_level
        x = features.pop()
        if self.config.decoder_channels:
            x = self.bottleneck(x)
        for index, level in enumerate(range(len(features) - 1, first - 1, -1)):
            skip = features[level]
            if self.config.decoder_channels and level == 0:
                x = self.narrow(x)
            x = upsample_like(x, skip, self.padded_input_only)
            if self.config.decoder_channels:
                x = self.up[index](x + self.lateral[index](skip))
            else:
                x = self.up[index](torch.cat([x, skip], dim=1))
        return self.head(x)

    def forward(self, image: torch.Tensor, low_res: bool = False) -> torch.Tensor:
        """Mask logits at the input resolution (training and export use this path); with low_res, at the
        decoder's own scale, as the engine gets them."""
        logits = self.low_res_logits(image)
        return logits if low_res else F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)
