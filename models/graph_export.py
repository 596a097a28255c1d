"""ONNX files of the engine's graphs (models.engine_graphs), built on this machine from the checkpoint's weights and
kept in the cache folder, keyed by a hash of the weights and config. Nothing is downloaded.
"""
import hashlib
import json
import warnings
from pathlib import Path
from typing import Dict

import numpy as np
import torch
import torch.nn as nn

from fileio.atomic_files import atomic_path
from fileio.cache import cache_dir
from models.engine_graphs import build_graphs, graph_io_names

# Bump when the graphs' definition changes, so stale exports are never reused.
GRAPH_FORMAT = 8
ONNX_OPSET = 17
EXAMPLE_SIZE = (480, 640)  # any frame size works: height and width are dynamic in the files


def model_fingerprint(network: nn.Module) -> str:
    """A hash of the architecture, config and every weight: the same checkpoint gives the same fingerprint."""
    return weights_fingerprint(network, f"format={GRAPH_FORMAT} arch={network.ARCH} "
                                        f"config={json.dumps(network.config_dict(), sort_keys=True)}")


def weights_fingerprint(network: nn.Module, header: str) -> str:
    """A hash of header and every weight of the network (names, dtypes, shapes and values)."""
    digest = hashlib.sha256(header.encode())
    for name, tensor in sorted(network.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.numpy().tobytes() if tensor.dtype != torch.bfloat16 else tensor.float().numpy().tobytes())
    return digest.hexdigest()[:20]


def _example_inputs(graphs: Dict[str, nn.Module], channels: int, long_side: int, multiple: int):
    from models.preprocess import model_input_size
    _, _, height, width = model_input_size(*EXAMPLE_SIZE, long_side, multiple)
    pixels = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, height, width, channels), np.uint8))
    if "encoder" not in graphs:
        return {"single": (pixels,)}
    with torch.no_grad():
        encoded = graphs["encoder"](pixels)
    return {"encoder": (pixels,), "frame": (pixels, *encoded)}


def _dynamic_axes(inputs, input_names, output_names) -> dict:
    axes = {name: ({1: "height", 2: "width"} if tensor.dtype == torch.uint8 else {2: "height", 3: "width"})
            for name, tensor in zip(input_names, inputs)}
    axes.update({name: {2: "height", 3: "width"} for name in output_names})
    return {name: {axis: f"{label}_{name}" for axis, label in spec.items()} for name, spec in axes.items()}


def export_graphs(network: nn.Module, folder: Path = None) -> Dict[str, Path]:
    """{graph name: ONNX file} for this network, exported now unless the cache already holds them."""
    folder = folder or cache_dir() / "graphs" / f"{network.ARCH}-{model_fingerprint(network)}"
    graphs = build_graphs(network)
    paths = {name: folder / f"{name}.onnx" for name in graphs}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if not missing:
        return paths
    config = network.config
    examples = _example_inputs(graphs, config.in_channels, config.input_long_side, config.size_multiple)
    folder.mkdir(parents=True, exist_ok=True)
    for name in missing:
        input_names, output_names = graph_io_names(name, network)
        with atomic_path(paths[name]) as temp, torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
            torch.onnx.export(graphs[name], examples[name], temp, input_names=input_names, output_names=output_names,
                              dynamic_axes=_dynamic_axes(examples[name], input_names, output_names),
                              opset_version=ONNX_OPSET, dynamo=False)
    return paths
