"""Performs the due Bkg and Sav actions on a raw camera frame: writes it through CaptureStorage, hands a new plate
on, and says what happened."""
from pathlib import Path
from typing import Callable, List

import numpy as np

from app.capture_storage import CaptureStorage, StorageError


class CaptureActions:
    """on_plate(plate) receives each plate Bkg saved; notify(text) shows a message."""

    def __init__(self, storage: CaptureStorage, on_plate: Callable[[np.ndarray], None],
                 notify: Callable[[str], None]):
        self.storage = storage
        self.on_plate = on_plate
        self.notify = notify
        self.saved_paths: List[Path] = []

    def perform(self, name: str, frame: np.ndarray) -> None:
        raw = frame.copy()  # kept as the plate: a private copy, apart from the frame the other threads share
        try:
            if name == "bkg":
                path = self.storage.create_set(raw)
                self.on_plate(raw)
                self.notify(f"Saved background plate {path}")
            elif name == "sav":
                path = self.storage.save_frame(raw)
                self.notify(f"Saved {path}")
            else:
                raise ValueError(f"no capture action {name!r}; expected bkg or sav")
        except StorageError as exc:
            self.notify(str(exc))
            return
        self.saved_paths.append(path)
