"""Segmentation in the live app: the current plate, shared by the UI thread (Bkg sets it) and the segmentation
worker (which may find it unusable), and the step that worker runs on each newest frame."""
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np

from app.views import View
from fileio.capture_sets import read_image

# The views scale the mask to the frame. Above this long side, the guided filter's full-size passes would cost
# more than the network itself, for edges no sharper on screen.
MASK_LONG_SIDE = 960


@dataclass
class SegmentationResult:
    mask: Optional[np.ndarray]
    mode: str  # "plate" | "single" | "" (nothing run)
    latency_ms: float
    note: str = ""  # why nothing ran


class PlateHolder:
    """The plate frames are compared with, and why there is none when one was expected. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._plate: Optional[np.ndarray] = None
        self._note = ""

    def set(self, plate: np.ndarray) -> None:
        with self._lock:
            self._plate, self._note = plate, ""

    def load(self, path: Path) -> None:
        """Takes the plate from a file (the current set's bkg.png after a restart)."""
        try:
            self.set(read_image(path))
        except ValueError:
            with self._lock:
                self._plate, self._note = None, f"cannot read plate {path}; press Bkg for a new one"

    def reject(self, plate: np.ndarray, note: str) -> None:
        """Drops plate as unusable, unless a newer plate replaced it meanwhile."""
        with self._lock:
            if self._plate is plate:
                self._plate, self._note = None, note

    def current(self) -> Optional[np.ndarray]:
        with self._lock:
            return self._plate

    @property
    def note(self) -> str:
        with self._lock:
            return self._note


# listener(frame_bgr, plate_bgr or None, result): told of each frame the model ran on, on the worker's thread.
Listener = Callable[[np.ndarray, Optional[np.ndarray], SegmentationResult], None]


class SegmentationStep:
    """Runs on the segmentation worker: frame -> SegmentationResult. The engine picks the model: the plate model
    when given a plate it has a model for, else the single-frame model."""

    def __init__(self, segmenter, plates: PlateHolder, current_view: Callable[[], View]):
        self.segmenter = segmenter
        self.plates = plates
        self.current_view = current_view
        self.listeners: List[Listener] = []

    def __call__(self, frame: np.ndarray) -> SegmentationResult:
        if self.current_view() is View.RAW:
            return SegmentationResult(None, "", 0.0)  # nothing to show it on: save the CPU
        plate = self.plates.current()
        if plate is None and not self.segmenter.has_single_model:
            return SegmentationResult(None, "", 0.0, "the plate model waits for a plate: press Bkg")
        try:
            mask = self.segmenter.segment(frame, plate, mask_long_side=MASK_LONG_SIDE)
        except ValueError as exc:
            if plate is None:
                raise
            # E.g. the camera now delivers another resolution: fall back to no plate until Bkg makes a new one.
            self.plates.reject(plate, f"{exc}; press Bkg for a new plate")
            return SegmentationResult(None, "", 0.0, "the plate does not fit the camera: press Bkg")
        result = SegmentationResult(mask, self.segmenter.last_model, float(self.segmenter.last_latency_ms))
        for listener in list(self.listeners):
            listener(frame, plate, result)
        return result
