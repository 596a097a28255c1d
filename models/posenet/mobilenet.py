"""PoseNet's MobileNetV1 network (TF.js layout, batch norm folded into biases) in PyTorch."""
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

OUTPUT_STRIDE = 16
NUM_KEYPOINTS = 17
NUM_EDGES = 16  # parent->child links of the pose tree, used by the displacement heads

# Strides of conv0..conv13 for each depth multiplier, as in the TF.js PoseNet checkpoints
# (the 0.50 and 0.75 networks never downsample past conv6; 1.00/1.01 do at conv12).
_STRIDES_SHALLOW = [2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1]
_STRIDES_DEEP = [2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
STRIDES: Dict[float, List[int]] = {0.50: _STRIDES_SHALLOW, 0.75: _STRIDES_SHALLOW,
                                   1.00: _STRIDES_DEEP, 1.01: _STRIDES_DEEP}
# Default widths when no state dict tells them (MobileNetV1 widths times the multiplier, except that
# the 0.50 and 0.75 checkpoints keep their conv6 width to the end). Loading infers widths from the weights.
_BASE_WIDTHS = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
DEFAULT_WIDTHS: Dict[float, List[int]] = {
    0.50: [16, 32, 64, 64, 128, 128, 256, 256, 256, 256, 256, 256, 256, 256],
    0.75: [24, 48, 96, 96, 192, 192, 384, 384, 384, 384, 384, 384, 384, 384],
    1.00: list(_BASE_WIDTHS),
    1.01: list(_BASE_WIDTHS),
}


def output_strided(strides: Sequence[int], widths: Sequence[int], output_stride: int = OUTPUT_STRIDE):
    """(stride, dilation, channels) per layer: once the running stride reaches output_stride,
    later strides turn into dilation so the feature map keeps that resolution."""
    current, rate, result = 1, 1, []
    for stride, channels in zip(strides, widths):
        if current == output_stride:
            result.append((1, rate, channels))
            rate *= stride
        else:
            result.append((stride, 1, channels))
            current *= stride
    return result


class _Conv(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride, padding=1)

    def forward(self, x):
        return torch.clamp(self.conv(x), 0.0, 6.0)


class _Separable(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, dilation: int):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 3, stride, padding=dilation, dilation=dilation, groups=c_in)
        self.pointwise = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x):
        x = torch.clamp(self.depthwise(x), 0.0, 6.0)
        return torch.clamp(self.pointwise(x), 0.0, 6.0)


class MobileNetPoseNet(nn.Module):
    """Input: RGB in [-1, 1], N x 3 x H x W with H, W = 16k + 1. Output (all at stride 16):
    heatmap scores (sigmoid, 17 ch), offsets (34 ch: 17 y then 17 x, pixels),
    forward and backward displacements (32 ch each: 16 y then 16 x, pixels)."""

    def __init__(self, multiplier: float = 0.50, widths: Optional[Sequence[int]] = None):
        super().__init__()
        if multiplier not in STRIDES:
            raise ValueError(f"PoseNet depth multiplier {multiplier} is not one of {sorted(STRIDES)}")
        self.multiplier = multiplier
        widths = list(widths) if widths is not None else DEFAULT_WIDTHS[multiplier]
        if len(widths) != len(STRIDES[multiplier]):
            raise ValueError(f"PoseNet MobileNet needs {len(STRIDES[multiplier])} layer widths, got {len(widths)}")
        layers = output_strided(STRIDES[multiplier], widths)
        blocks, c_in = [], 3
        for index, (stride, dilation, c_out) in enumerate(layers):
            block = _Conv(c_in, c_out, stride) if index == 0 else _Separable(c_in, c_out, stride, dilation)
            blocks.append((f"conv{index}", block))
            c_in = c_out
        self.features = nn.Sequential()
        for name, block in blocks:
            self.features.add_module(name, block)
        self.heatmap = nn.Conv2d(c_in, NUM_KEYPOINTS, 1)
        self.offset = nn.Conv2d(c_in, 2 * NUM_KEYPOINTS, 1)
        self.displacement_fwd = nn.Conv2d(c_in, 2 * NUM_EDGES, 1)
        self.displacement_bwd = nn.Conv2d(c_in, 2 * NUM_EDGES, 1)

    def forward(self, x):
        x = self.features(x)
        return (torch.sigmoid(self.heatmap(x)), self.offset(x),
                self.displacement_fwd(x), self.displacement_bwd(x))


def widths_from_state_dict(state: Dict[str, torch.Tensor]) -> List[int]:
    """Output channels of conv0..conv13 read from the weights; clear error when the layout differs."""
    widths = []
    for index in range(len(_BASE_WIDTHS)):
        key = "features.conv0.conv.weight" if index == 0 else f"features.conv{index}.pointwise.weight"
        if key not in state:
            raise ValueError(f"not a PoseNet MobileNet state dict: key '{key}' is missing")
        widths.append(int(state[key].shape[0]))
    return widths


def build_from_state_dict(state: Dict[str, torch.Tensor], multiplier: Optional[float] = None) -> MobileNetPoseNet:
    """A network shaped like the weights, loaded strictly (every key must match, none left over)."""
    widths = widths_from_state_dict(state)
    if multiplier is None:
        multiplier = multiplier_from_first_width(widths[0])
    model = MobileNetPoseNet(multiplier, widths)
    model.load_state_dict(state, strict=True)
    return model.eval()


def multiplier_from_first_width(width: int) -> float:
    """Depth multiplier from conv0's width (16/24/32). 1.00 and 1.01 share an architecture."""
    for multiplier in (0.50, 0.75, 1.00):
        if DEFAULT_WIDTHS[multiplier][0] == width:
            return multiplier
    raise ValueError(f"PoseNet first layer has {width} channels; expected 16, 24 or 32")
