"""Assist: the segmentation engine's prediction for a frame, turned into a few editable polygons."""
from pathlib import Path
from typing import List, Optional, Union

import numpy as np

from annotation.contours import polygons_from_mask
from annotation.geometry import Polygon

THRESHOLD = 0.5
EPSILON = 2.0  # px; coarser than the converters: a person for editing, not a pixel-exact copy
MAX_VERTICES = 80  # per outline
MIN_AREA_FRACTION = 0.001  # islands/holes smaller than 0.1 % of the frame are prediction noise


class AssistError(ValueError):
    """Assist can't run on this frame; str() says why."""


class Assist:
    def __init__(self, segmenter=None, unavailable_reason: str = ""):
        self.segmenter = segmenter
        self.unavailable_reason = unavailable_reason

    @classmethod
    def load(cls, weights: Union[str, Path] = "default", device: str = "auto") -> "Assist":
        """Never raises: without a usable engine, the Assist is unavailable and says why."""
        try:
            from models.checkpoint import CheckpointError
            from models.segmenter import Segmenter
        except ImportError as exc:  # e.g. torch missing in a minimal install
            return cls(None, f"assist needs the segmentation engine, which failed to import: {exc}")
        try:
            return cls(Segmenter.load(str(weights), device=device, person_gate=True))
        except (CheckpointError, ValueError) as exc:
            return cls(None, f"assist is off: {exc}")

    @property
    def available(self) -> bool:
        return self.segmenter is not None

    def predict(self, image_bgr: np.ndarray, plate_bgr: Optional[np.ndarray] = None) -> np.ndarray:
        """Person probability HxW; uses the plate model when a plate is given and loaded."""
        if not self.available:
            raise AssistError(self.unavailable_reason)
        seg = self.segmenter
        if plate_bgr is not None and seg.has_plate_model:
            if plate_bgr.shape != image_bgr.shape:
                raise AssistError(f"bkg.png is {plate_bgr.shape[1]}x{plate_bgr.shape[0]} but the frame is "
                                  f"{image_bgr.shape[1]}x{image_bgr.shape[0]}; recapture the plate")
            return seg.segment(image_bgr, plate_bgr)
        if seg.has_single_model:
            return seg.segment(image_bgr)
        raise AssistError("the loaded checkpoint is a plate model and this set has no bkg.png; "
                          "capture a plate or load a single-frame checkpoint")

    def polygons(self, image_bgr: np.ndarray, plate_bgr: Optional[np.ndarray] = None) -> List[Polygon]:
        return polygons_from_probability(self.predict(image_bgr, plate_bgr))


def polygons_from_probability(probability: np.ndarray) -> List[Polygon]:
    mask = np.asarray(probability) >= THRESHOLD
    return polygons_from_mask(mask, epsilon=EPSILON, min_area=MIN_AREA_FRACTION * mask.size,
                              max_vertices=MAX_VERTICES)
