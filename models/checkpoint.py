"""One small file per model: the state dict plus the config needed to rebuild it.

Files are read with torch.load(weights_only=True), so a checkpoint can never run code. Training checkpoints
(optimizer, step, RNG state, ...) use the same format with extra keys, so the engine loads them too.
"""
from pathlib import Path
from typing import Tuple, Union

import torch
import torch.nn as nn

from fileio.atomic_files import atomic_path
from models.gan.networks import (PatchDiscriminator, PatchDiscriminatorConfig, ResnetGenerator,
                                 ResnetGeneratorConfig, UnetGenerator, UnetGeneratorConfig)
from models.plate_net import PlateNet, PlateNetConfig
from models.unet import LikeUnet, LikeUnetConfig

FORMAT_NAME = "backplate-checkpoint"
FORMAT_VERSION = 1
ARCHITECTURES = {
    PlateNet.ARCH: (PlateNet, PlateNetConfig),
    LikeUnet.ARCH: (LikeUnet, LikeUnetConfig),
    UnetGenerator.ARCH: (UnetGenerator, UnetGeneratorConfig),
    ResnetGenerator.ARCH: (ResnetGenerator, ResnetGeneratorConfig),
    PatchDiscriminator.ARCH: (PatchDiscriminator, PatchDiscriminatorConfig),
}
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_WEIGHTS = {"plate": WEIGHTS_DIR / "plate.pt", "single": WEIGHTS_DIR / "single.pt"}


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt or not a Backplate model; str() is a user-facing message."""


def build_model(arch: str, config: dict) -> nn.Module:
    if arch not in ARCHITECTURES:
        raise CheckpointError(f"unknown architecture {arch!r}; expected one of {sorted(ARCHITECTURES)}")
    model_class, config_class = ARCHITECTURES[arch]
    try:
        return model_class(config_class(**config))
    except TypeError as exc:
        raise CheckpointError(f"config does not fit architecture {arch!r}: {exc}") from exc


def model_kind(model: nn.Module) -> str:
    """'plate' for models that need a plate, 'single' for single-frame ones."""
    return "plate" if isinstance(model, PlateNet) else "single"


def checkpoint_payload(model: nn.Module, **extra) -> dict:
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "arch": model.ARCH,
        "config": model.config_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    payload.update(extra)
    return payload


def atomic_torch_save(payload: dict, path: Union[str, Path]) -> None:
    with atomic_path(path) as temp_name:
        torch.save(payload, temp_name)


def save_checkpoint(path: Union[str, Path], model: nn.Module, **extra) -> None:
    """Writes model weights + config (and any extra primitives/tensors) atomically."""
    atomic_torch_save(checkpoint_payload(model, **extra), path)


def read_checkpoint(path: Union[str, Path], map_location="cpu") -> dict:
    """The raw payload, validated; raises CheckpointError with the file name and a fix."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many kinds for truncated or foreign files
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is corrupt or not a PyTorch file ({type(exc).__name__}). "
            f"Re-export it, or retrain with `python -m training`."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{path} is not a Backplate checkpoint (no '{FORMAT_NAME}' header). "
            f"Use a file written by `python -m training` or models.checkpoint.save_checkpoint."
        )
    if payload.get("version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint version {payload['version']}; this Backplate reads "
                              f"up to {FORMAT_VERSION}. Update Backplate.")
    return payload


def load_checkpoint(path: Union[str, Path], map_location="cpu") -> Tuple[nn.Module, dict]:
    """Rebuilds the model (in eval mode) from a checkpoint; returns (model, payload)."""
    payload = read_checkpoint(path, map_location)
    model = build_model(payload["arch"], payload["config"])
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights in {path} do not match its own config: {exc}") from exc
    return model.eval(), payload
