"""Translation between person domains (no Qt, CPU or CUDA): real people <-> game-engine people.

A cycleGAN checkpoint holds both generators (A->B as the file's model, B->A under "networks"); a pix2pix
checkpoint trained on A|B pairs holds A->B only. Any image size works: it is resized to the training size, run, and
resized back.
"""
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn as nn

from models.checkpoint import WEIGHTS_DIR, CheckpointError, build_model, load_checkpoint
from models.gan.imaging import to_image, to_tensor

DEFAULT_TRANSLATOR_WEIGHTS = WEIGHTS_DIR / "person_translator.pt"
DIRECTIONS = ("a2b", "b2a")
PathLike = Union[str, Path]


def generator_from_record(record: dict, source: PathLike) -> nn.Module:
    """A generator stored as {"arch", "config", "state_dict"} inside a checkpoint's "networks" (eval mode)."""
    try:
        model = build_model(record["arch"], record["config"])
        model.load_state_dict(record["state_dict"], strict=True)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"the B->A generator stored in {source} cannot be rebuilt ({exc}); re-export the "
                              f"checkpoint with python -m training.gan.export") from exc
    return model.eval()


def resolve_translator_weights(path: Optional[PathLike]) -> Path:
    """None or 'default' -> the shipped person_translator.pt."""
    if path is not None and str(path) != "default":
        return Path(path)
    if not DEFAULT_TRANSLATOR_WEIGHTS.is_file():
        raise CheckpointError(f"default translator weights missing: {DEFAULT_TRANSLATOR_WEIGHTS}. Reproduce them with "
                              f"the commands in README.md (Translation between person domains), or pass a checkpoint")
    return DEFAULT_TRANSLATOR_WEIGHTS


class DomainTranslator:
    """The generators of a cycleGAN (a2b, b2a) or pix2pix (a2b) checkpoint, exported or straight from training."""

    def __init__(self, path: Optional[PathLike] = None, device: str = "auto"):
        from models.segmenter import pick_device
        path = resolve_translator_weights(path)
        self.device = pick_device(device)
        model, payload = load_checkpoint(path)
        config = model.config
        if not hasattr(config, "out_channels") or config.in_channels != 3 or config.out_channels != 3:
            raise CheckpointError(f"{path} holds a {model.ARCH} model, not an image-to-image generator from RGB to "
                                  f"RGB; pass a checkpoint of `python -m training --model cyclegan` (or pix2pix on "
                                  f"A|B images)")
        if payload.get("layout") not in (None, "unpaired", "ab", "paired"):
            raise CheckpointError(f"{path} was trained on {payload['layout']} data, not on two person domains; use "
                                  f"python -m tools.extract for the extractors")
        self.kind = payload.get("model_option") or "pix2pix"
        self.generators: Dict[str, nn.Module] = {"a2b": model}
        record = payload.get("networks", {}).get("generator_b_to_a")
        if record is not None:
            self.generators["b2a"] = generator_from_record(record, path)
        elif self.kind == "cyclegan":
            raise CheckpointError(f"{path} is a cycleGAN checkpoint without its B->A generator; re-export it with "
                                  f"python -m training.gan.export")
        self.generators = {key: net.to(self.device).eval() for key, net in self.generators.items()}
        self.size_hw: Tuple[int, int] = tuple(payload.get("size") or (256, 256))
        self.path = Path(path)

    @property
    def directions(self) -> Tuple[str, ...]:
        return tuple(self.generators)

    def check_direction(self, direction: str) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction {direction!r}: expected one of {', '.join(DIRECTIONS)}")
        if direction not in self.generators:
            raise CheckpointError(f"{self.path} ({self.kind}) translates only {', '.join(self.directions)}, not "
                                  f"{direction}; pass a cycleGAN checkpoint for both directions")

    @torch.inference_mode()
    def translate(self, image_bgr: np.ndarray, direction: str = "a2b") -> np.ndarray:
        """A BGR uint8 image of any size -> its translation, BGR uint8, the same size."""
        self.check_direction(direction)
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            raise ValueError(f"translate() needs an HxWx3 BGR image, got shape {image_bgr.shape}")
        height, width = self.size_hw
        shrinking = image_bgr.shape[0] > height or image_bgr.shape[1] > width
        resized = cv2.resize(image_bgr, (width, height), interpolation=cv2.INTER_AREA if shrinking else
                             cv2.INTER_LINEAR)
        output = to_image(self.generators[direction](to_tensor(resized)[None].to(self.device))[0])
        if output.shape[:2] != image_bgr.shape[:2]:
            output = cv2.resize(output, (image_bgr.shape[1], image_bgr.shape[0]), interpolation=cv2.INTER_LINEAR)
        return output
