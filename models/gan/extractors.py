"""Inference engines of the image-to-image extractors (no Qt, CPU or CUDA):

- GarmentExtractor: a person photo and the mask of the garment they wear -> a frontal product photo of it.
- GarmentSegmenter: a person photo -> the worn garment's mask (the single-frame U-Net trained on parse maps), so
  the garment extractor also works from a photo alone.
- PersonExtractor: a photo -> the same photo with only the person kept, on white. A generator trained with
  `--mask-hint` also takes the single-frame mask network's person mask as a 4th channel (MaskNet).
"""
from pathlib import Path
from typing import Optional, Tuple, Union

import cv2
import numpy as np
import torch

from models.checkpoint import WEIGHTS_DIR, CheckpointError, load_checkpoint
from models.gan.imaging import (garment_input, garment_on_white, letterbox, mask_channel, to_image, to_tensor,
                                white_cutout)

DEFAULT_EXTRACTOR_WEIGHTS = {
    "garment": WEIGHTS_DIR / "garment_extractor.pt",
    "garment_segmenter": WEIGHTS_DIR / "garment_segmenter.pt",
    "person": WEIGHTS_DIR / "person_extractor.pt",
    "person_mask_net": WEIGHTS_DIR / "single.pt",
}
PRODUCT_SIZE_HW = (256, 192)  # the try-on product photo's size (height, width)
PathLike = Union[str, Path]


def resolve_weights(path: Optional[PathLike], kind: str) -> Path:
    if path is not None and str(path) != "default":
        return Path(path)
    default = DEFAULT_EXTRACTOR_WEIGHTS[kind]
    if not default.is_file():
        raise CheckpointError(f"default {kind.replace('_', ' ')} weights missing: {default}. Reproduce them with "
                              f"the training command in README.md, or pass a checkpoint path.")
    return default


class ImageTranslator:
    """A generator checkpoint (from `python -m training --model pix2pix|cyclegan`) with its training size."""

    def __init__(self, path: PathLike, device: str = "auto", expected_layout: Optional[str] = None):
        from models.segmenter import pick_device
        self.device = pick_device(device)
        model, payload = load_checkpoint(path)
        if not hasattr(model.config, "out_channels"):
            raise CheckpointError(f"{path} holds a {model.ARCH} model, not an image-to-image generator; pass a "
                                  f"checkpoint written by `python -m training --model pix2pix`")
        self.layout = payload.get("layout")
        if expected_layout is not None and self.layout != expected_layout:
            raise CheckpointError(f"{path} was trained on {self.layout or 'unknown'} data, not {expected_layout} "
                                  f"data; pass the matching checkpoint")
        self.model = model.to(self.device).eval()
        self.size_hw: Tuple[int, int] = tuple(payload.get("size") or (256, 256))
        self.in_channels = model.config.in_channels
        self.mask_hint: Optional[str] = payload.get("mask_hint")  # weights file of the hint's mask net, if any

    def run(self, source: torch.Tensor) -> np.ndarray:
        """CxHxW tensor in [-1, 1] at the training size -> BGR uint8 output."""
        return generated_picture(self.model, source.to(self.device))


@torch.inference_mode()
def generated_picture(generator: torch.nn.Module, source: torch.Tensor) -> np.ndarray:
    """A generator's output for one CxHxW input, as BGR uint8. Under a white-gated generator's gate the garment is
    kept off pure white (garment_on_white), so the picture's silhouette is the gate's."""
    if getattr(generator.config, "white_gate", False):
        drawn, gate_logits = generator.drawn_and_gate_logits(source[None])
        return garment_on_white(to_image(drawn[0]), gate_logits[0, 0].float().cpu().numpy() > 0)
    return to_image(generator(source[None])[0])


class GarmentExtractor:
    def __init__(self, path: Optional[PathLike] = None, device: str = "auto"):
        self.translator = ImageTranslator(resolve_weights(path, "garment"), device, expected_layout="tryon")

    def extract(self, person_bgr: np.ndarray, garment_mask: np.ndarray) -> np.ndarray:
        """The product photo (BGR, 192x256) of the garment under the mask."""
        product = self.translator.run(self.generator_input(person_bgr, garment_mask))
        if product.shape[:2] != PRODUCT_SIZE_HW:
            product = cv2.resize(product, PRODUCT_SIZE_HW[::-1], interpolation=cv2.INTER_LINEAR)
        return product

    def generator_input(self, person_bgr: np.ndarray, garment_mask: np.ndarray) -> torch.Tensor:
        """The photo and its garment mask resized to the training size, as the generator's 4-channel input."""
        if person_bgr.ndim != 3 or person_bgr.shape[2] != 3:
            raise ValueError(f"extract() needs an HxWx3 BGR photo, got shape {person_bgr.shape}")
        garment_mask = np.asarray(garment_mask, bool)
        if garment_mask.shape != person_bgr.shape[:2]:
            raise ValueError(f"garment mask {garment_mask.shape[::-1]} and photo {person_bgr.shape[1::-1]} differ in "
                             f"size; pass the mask made for this photo")
        height, width = self.translator.size_hw
        person = cv2.resize(person_bgr, (width, height), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(garment_mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
        return garment_input(person, mask)


class MaskNet:
    """A single-frame mask network as a boolean mask maker: the person mask net (the default weights of `kind`
    "person_mask_net") or the garment segmenter."""

    def __init__(self, path: Optional[PathLike] = None, device: str = "auto", kind: str = "person_mask_net"):
        from models.segmenter import Segmenter
        # PyTorch fp32, like the extractor it feeds: no per-machine runtime measurement before the first photo.
        self.segmenter = Segmenter.load(resolve_weights(path, kind), device=device, precision="fp32",
                                        runtime="torch")

    def mask(self, image_bgr: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        return self.segmenter.segment(image_bgr) > threshold

    def cutout(self, image_bgr: np.ndarray) -> np.ndarray:
        """The mask net's own extraction: the photo's pixels under its mask, on white."""
        return white_cutout(image_bgr, self.mask(image_bgr))


class GarmentSegmenter(MaskNet):
    """The worn garment's mask from a photo alone (labels 5, 6, 7 of the parse maps it was trained on)."""

    def __init__(self, path: Optional[PathLike] = None, device: str = "auto"):
        super().__init__(path, device, kind="garment_segmenter")


class PersonExtractor:
    """Only the person on white, at the photo's own size.

    The generator runs on the photo letterboxed to its training size. By default its output decides only where the
    person is (pixels away from white), and those pixels come from the photo itself at full resolution; with
    keep_pixels=False the generator's own (upscaled) output is returned.
    """

    def __init__(self, path: Optional[PathLike] = None, device: str = "auto"):
        self.translator = ImageTranslator(resolve_weights(path, "person"), device, expected_layout="cutout")
        self.hint: Optional[MaskNet] = None
        if self.translator.in_channels == 4:
            if not self.translator.mask_hint:
                raise CheckpointError(f"{path or 'the default person extractor'} takes 4 input channels but names "
                                      f"no mask net for its hint; retrain it with --mask-hint")
            hint_weights = WEIGHTS_DIR / self.translator.mask_hint
            if not hint_weights.is_file():
                raise CheckpointError(f"the person extractor's hint needs {hint_weights}, which is missing; "
                                      f"restore it from the repository")
            self.hint = MaskNet(hint_weights, device)

    def generator_input(self, image_bgr: np.ndarray) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """The photo letterboxed to the training size (with the hint mask as a 4th channel where the generator
        takes one), and the size the photo fills inside the box."""
        boxed, filled_hw = letterbox(image_bgr, self.translator.size_hw)
        if self.hint is None:
            return to_tensor(boxed), filled_hw
        boxed_mask, _ = letterbox(self.hint.mask(image_bgr), self.translator.size_hw, fill=0)
        return torch.cat([to_tensor(boxed), mask_channel(boxed_mask)], 0), filled_hw

    def generate(self, image_bgr: np.ndarray) -> np.ndarray:
        """The generator's output at the photo's size."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            raise ValueError(f"extract() needs an HxWx3 BGR photo, got shape {image_bgr.shape}")
        source, (resized_h, resized_w) = self.generator_input(image_bgr)
        output = self.translator.run(source)[:resized_h, :resized_w]
        return cv2.resize(output, (image_bgr.shape[1], image_bgr.shape[0]), interpolation=cv2.INTER_LINEAR)

    def extract(self, image_bgr: np.ndarray, keep_pixels: bool = True) -> np.ndarray:
        output = self.generate(image_bgr)
        if not keep_pixels:
            return output
        from metrics.image_metrics import silhouette
        return white_cutout(image_bgr, silhouette(output))
