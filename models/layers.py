"""Small building blocks shared by Backplate's networks."""
from dataclasses import asdict

import torch.nn as nn


def conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3,
                 dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, dilation * (kernel_size // 2), dilation=dilation,
                  bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class StoredConfig:
    """For networks built from a config dataclass (self.config): the config as checkpoints store it."""

    def config_dict(self) -> dict:
        """Plain values only (tuples become lists), so the checkpoint loads with weights_only=True."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self.config).items()}
