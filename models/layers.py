"""Small building blocks shared by Backplate's networks."""
from dataclasses import asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3,
                 dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, dilation * (kernel_size // 2), dilation=dilation,
                  bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def upsample_like(x: torch.Tensor, reference: torch.Tensor, exact_double: bool = False) -> torch.Tensor:
    """x bilinearly resized to reference's height and width. exact_double says that reference is always exactly twice
    x's size (as in a decoder fed an input padded to the network's size multiple): the step is then written as a fixed
    scale, the same numbers, and a graph exported from it carries no shape arithmetic, which costs the runtimes more
    than the resize itself at these sizes. Without it, the graph reads the sizes, so any input size works."""
    if exact_double:
        if not torch.jit.is_tracing() and tuple(reference.shape[-2:]) != (2 * x.shape[-2], 2 * x.shape[-1]):
            raise ValueError(f"exact_double upsampling from {tuple(x.shape[-2:])} to {tuple(reference.shape[-2:])}: "
                             f"pad the input to the network's size multiple")
        return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
    return F.interpolate(x, size=reference.shape[-2:], mode="bilinear", align_corners=False)


class StoredConfig:
    """For networks built from a config dataclass (self.config): the config as checkpoints store it."""

    def config_dict(self) -> dict:
        """Plain values only (tuples become lists), so the checkpoint loads with weights_only=True."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in asdict(self.config).items()}
