"""PoseNet's network in ONNX Runtime. On a CPU it runs the MobileNet several times faster than eager PyTorch, and
the palm tracker shares the CPU with the segmentation model. The graph is exported once per weights file and
cached, as the segmentation graphs are (models.graph_export)."""
import warnings
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
import torch.nn as nn

from fileio.atomic_files import atomic_path
from fileio.cache import cache_dir
from models.graph_export import ONNX_OPSET, weights_fingerprint

GRAPH_FORMAT = 1  # bump when the exported graph's inputs or outputs change
OUTPUT_NAMES = ["heatmaps", "offsets", "displacement_fwd", "displacement_bwd"]


def exported_graph(network: nn.Module, folder: Optional[Path] = None) -> Path:
    """The network as an ONNX file with any input height and width, exported now unless the cache holds it."""
    fingerprint = weights_fingerprint(network, f"posenet format={GRAPH_FORMAT}")
    path = (folder or cache_dir() / "graphs") / f"posenet-{fingerprint}.onnx"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, 3, 257, 193)
    axes = {"image": {2: "height", 3: "width"}}
    axes.update({name: {2: f"{name}_height", 3: f"{name}_width"} for name in OUTPUT_NAMES})
    with atomic_path(path) as temp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
        torch.onnx.export(network.cpu().eval(), example, temp, input_names=["image"], output_names=OUTPUT_NAMES,
                          dynamic_axes=axes, opset_version=ONNX_OPSET, dynamo=False)
    return path


class OnnxPoseNetwork:
    """Callable like the network: a 1 x 3 x H x W float32 image in [-1, 1] -> its four output maps (numpy)."""

    def __init__(self, network: nn.Module, threads: int):
        from models.runtimes import onnxruntime_cpu_session, runtime_missing
        if runtime_missing("onnxruntime"):  # before exporting anything; the caller falls back to PyTorch
            raise ImportError("onnxruntime is not installed")
        self.session = onnxruntime_cpu_session(exported_graph(network), threads)

    def __call__(self, image: np.ndarray) -> List[np.ndarray]:
        return self.session.run(None, {"image": np.ascontiguousarray(image, dtype=np.float32)})
