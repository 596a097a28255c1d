"""Converts a TF.js PoseNet MobileNet checkpoint (manifest.json + one raw float32 file per variable)
into a PyTorch state dict for MobileNetPoseNet. Offline: reads files from a local folder."""
import json
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import torch

from .mobilenet import build_from_state_dict

_PREFIX = "MobilenetV1/"
_HEADS = {"heatmap_2": "heatmap", "offset_2": "offset",
          "displacement_fwd_2": "displacement_fwd", "displacement_bwd_2": "displacement_bwd"}


class ConversionError(Exception):
    """The checkpoint folder is incomplete or not a PoseNet MobileNet; str(exc) says what is wrong."""


def torch_name(tf_name: str) -> str:
    """'MobilenetV1/Conv2d_3_pointwise/weights' -> 'features.conv3.pointwise.weight', etc.
    Raises KeyError for variables PoseNet does not use."""
    if not tf_name.startswith(_PREFIX):
        raise KeyError(tf_name)
    layer, _, kind = tf_name[len(_PREFIX):].partition("/")
    suffix = {"weights": "weight", "depthwise_weights": "weight", "biases": "bias"}.get(kind)
    if suffix is None:
        raise KeyError(tf_name)
    if layer in _HEADS:
        return f"{_HEADS[layer]}.{suffix}"
    parts = layer.split("_")  # Conv2d_0 | Conv2d_5_depthwise | Conv2d_5_pointwise
    if parts[0] != "Conv2d" or not parts[1].isdigit():
        raise KeyError(tf_name)
    index = int(parts[1])
    if len(parts) == 2:
        return f"features.conv{index}.conv.{suffix}"
    if len(parts) == 3 and parts[2] in ("depthwise", "pointwise"):
        return f"features.conv{index}.{parts[2]}.{suffix}"
    raise KeyError(tf_name)


def to_torch_layout(tf_name: str, array: np.ndarray) -> np.ndarray:
    """TF kernels are H x W x in x out (depthwise: H x W x channels x 1); PyTorch wants out x in x H x W
    (depthwise: channels x 1 x H x W). Biases are unchanged."""
    if array.ndim == 1:
        return array
    if tf_name.endswith("depthwise_weights"):
        return array.transpose(2, 3, 0, 1)
    return array.transpose(3, 2, 0, 1)


def read_manifest(folder: Path) -> Dict[str, Tuple[str, Tuple[int, ...]]]:
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConversionError(f"no manifest.json in {folder}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConversionError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise ConversionError(f"{path} should map variable names to {{filename, shape}}")
    entries = {}
    for name, entry in manifest.items():
        try:
            entries[name] = (str(entry["filename"]), tuple(int(d) for d in entry["shape"]))
        except (TypeError, KeyError, ValueError):
            raise ConversionError(f"{path}: entry '{name}' lacks a filename or shape") from None
    return entries


def convert_folder(folder) -> Dict[str, torch.Tensor]:
    """State dict from a downloaded checkpoint folder, checked by a strict load into the network."""
    folder = Path(folder)
    state: Dict[str, torch.Tensor] = {}
    for tf_name, (filename, shape) in sorted(read_manifest(folder).items()):
        try:
            key = torch_name(tf_name)
        except KeyError:
            continue  # variables PoseNet's heads do not use (e.g. older part heatmaps)
        shard = folder / filename
        if not shard.is_file():
            raise ConversionError(f"weight file {shard} listed in the manifest is missing")
        raw = np.fromfile(shard, dtype="<f4")
        if raw.size != int(np.prod(shape)):
            raise ConversionError(f"{shard} holds {raw.size} floats; the manifest says shape {list(shape)}")
        state[key] = torch.from_numpy(np.ascontiguousarray(to_torch_layout(tf_name, raw.reshape(shape))))
    try:
        build_from_state_dict(state)
    except (ValueError, RuntimeError) as exc:
        raise ConversionError(f"checkpoint in {folder} does not fit PoseNet MobileNetV1: {exc}") from None
    return state
