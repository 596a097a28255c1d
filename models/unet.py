"""The single-frame model: a light U-Net ("LikeUnet": the U-Net shape with far fewer kernels).

It segments a person from one image, for when no plate exists yet. Each input side must be a multiple of
2**len(channels) (32 with the default five levels); the engine pads to that.
"""
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.layers import StoredConfig, conv_bn_relu


@dataclass
class LikeUnetConfig:
    channels: Sequence[int] = (8, 16, 32, 64, 96)
    input_long_side: int = 256
    in_channels: int = 3  # 3 for RGB, 1 for the grayscale variant

    @property
    def size_multiple(self) -> int:
        return 2 ** len(self.channels)


class LikeUnet(StoredConfig, nn.Module):
    ARCH = "like_unet"

    def __init__(self, config: LikeUnetConfig = None):
        super().__init__()
        self.config = config or LikeUnetConfig()
        channels = list(self.config.channels)
        # The first level already works at half resolution: full-size convs cost most and add little.
        self.stem = conv_bn_relu(self.config.in_channels, channels[0], stride=2)
        self.down = nn.ModuleList()
        previous = channels[0]
        for width in channels[1:]:
            self.down.append(nn.Sequential(conv_bn_relu(previous, width, stride=2), conv_bn_relu(width, width)))
            previous = width
        self.up = nn.ModuleList()
        for width in reversed(channels[:-1]):
            self.up.append(conv_bn_relu(previous + width, width))
            previous = width
        self.head = nn.Conv2d(previous, 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skips = [self.stem(image)]
        for block in self.down:
            skips.append(block(skips[-1]))
        x = skips.pop()
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        logits = self.head(x)
        return F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)
