"""What every inference runtime executes: the networks wrapped as graphs with a uint8 image in and the mask
probability out.

- "encoder" (plate model): pixels -> the feature maps the decoder reads (config.decoded_levels of them); run once
  on the plate.
- "frame" (plate model): (pixels, the plate's features) -> probability at 1/config.output_stride of the input. The
  frame's encoder and the decoder in one graph: one call per frame, and the frame's features never leave the
  runtime.
- "single" (single-frame model): pixels -> probability at 1/config.output_stride of the input.

pixels are N x H x W x C uint8, as models.preprocess.prepare_pixels makes them (BGR, or gray). The BGR-to-RGB
swap, the normalisation (exactly models.preprocess.normalise_image's) and the sigmoid happen inside the graph. The
engine crops the padding off the probability (N x 1 x h x w) and upsamples it to the full frame with the guided
filter (models.guided_filter), which OpenCV runs faster than the graph runtimes do. PyTorch runs these
same modules eagerly, and the compiled runtimes run their ONNX export, so every runtime computes one function.
"""
import copy
from typing import Dict, Tuple

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from models.checkpoint import model_kind
from models.preprocess import PIXEL_OFFSET, PIXEL_SCALE


class PixelInput(nn.Module):
    """uint8 N x H x W x C (BGR or gray) -> float N x C x H x W (RGB or gray), the same numbers
    models.preprocess.normalise_image gives the trainer."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.swap = in_channels == 3

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        image = pixels.permute(0, 3, 1, 2)
        if self.swap:
            image = image[:, [2, 1, 0]]
        return image.float() * PIXEL_SCALE - PIXEL_OFFSET


class PlateEncoderGraph(nn.Module):
    def __init__(self, network: nn.Module):
        super().__init__()
        self.pixels = PixelInput(network.config.in_channels)
        self.network = network

    def forward(self, pixels: torch.Tensor):
        return tuple(self.network.encode(self.pixels(pixels)))


class PlateFrameGraph(nn.Module):
    def __init__(self, network: nn.Module):
        super().__init__()
        self.encoder = PlateEncoderGraph(network)
        self.network = network

    def forward(self, pixels: torch.Tensor, *plate_features):
        return torch.sigmoid(self.network.decode(list(self.encoder(pixels)), list(plate_features)))


class SingleGraph(nn.Module):
    def __init__(self, network: nn.Module):
        super().__init__()
        self.pixels = PixelInput(network.config.in_channels)
        self.network = network

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.network.low_res_logits(self.pixels(pixels)))


def _fold_batch_norms(module: nn.Module) -> None:
    """Conv2d followed by BatchNorm2d in a Sequential becomes one Conv2d (eval mode), in place."""
    for child in module.children():
        _fold_batch_norms(child)
    if isinstance(module, nn.Sequential):
        for index in range(len(module) - 1):
            conv, norm = module[index], module[index + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                module[index] = fuse_conv_bn_eval(conv, norm)
                module[index + 1] = nn.Identity()


def inference_copy(network: nn.Module) -> nn.Module:
    """A copy of the network for inference only: eval mode, batch norms folded into the convolutions."""
    network = copy.deepcopy(network).eval()
    _fold_batch_norms(network)
    for parameter in network.parameters():
        parameter.requires_grad_(False)
    return network


def build_graphs(network: nn.Module) -> Dict[str, nn.Module]:
    """The graphs of one network, by name: {'encoder', 'frame'} for the plate model, {'single'} otherwise."""
    network = inference_copy(network)
    network.padded_input_only = True  # the engine pads every input to the size multiple (models.preprocess)
    if model_kind(network) == "plate":
        graphs = {"encoder": PlateEncoderGraph(network), "frame": PlateFrameGraph(network)}
    else:
        graphs = {"single": SingleGraph(network)}
    return {name: graph.eval() for name, graph in graphs.items()}


def graph_io_names(name: str, network: nn.Module) -> Tuple[list, list]:
    """(input names, output names) of one of the network's graphs, as its ONNX export and the runtimes call them."""
    levels = network.config.decoded_levels if model_kind(network) == "plate" else 0
    features = [f"features{level}" for level in range(levels)]
    if name == "encoder":
        return ["pixels"], features
    if name == "frame":
        return ["pixels", *[f"plate_{feature}" for feature in features]], ["probability"]
    return ["pixels"], ["probability"]
