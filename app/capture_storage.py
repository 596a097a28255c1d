"""Where Bkg and Sav put their files: ROOT/set{n}/bkg.png and ROOT/set{n}/{N}.png.

Numbers always come from what is on disk, so numbering resumes after a restart. Files are written to a temp file
in the same folder and then linked into place, which is atomic and fails rather than overwrite a capture.
"""
import re
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from fileio.atomic_files import atomic_write_bytes
from fileio.capture_sets import set_number

PLATE_NAME = "bkg.png"
# N.png and N_mask.png both claim index N: a new frame must never pair up with an old annotation.
_INDEX_PATTERN = re.compile(r"^(\d+)(?:_mask)?\.png$")


class StorageError(RuntimeError):
    """A capture could not be written; the message names the path and the cause."""


def write_png_exclusive(path: Path, image: np.ndarray) -> None:
    """Writes image to path atomically; raises FileExistsError if path exists (never overwrites)."""
    path = Path(path)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise StorageError(f"could not encode {path.name} as PNG (image shape {image.shape})")
    atomic_write_bytes(path, encoded.tobytes(), overwrite=False)


class CaptureStorage:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.saved_this_run = 0
        existing = self._set_numbers()
        # On startup the newest set is current, so Sav keeps adding to it after a restart.
        self.current_set: Optional[int] = max(existing) if existing else None

    def _set_numbers(self):
        if not self.root.is_dir():
            return []
        return [n for n in (set_number(p) for p in self.root.iterdir() if p.is_dir()) if n is not None]

    def next_set_number(self) -> int:
        existing = self._set_numbers()
        return max(existing) + 1 if existing else 1

    def set_path(self, number: int) -> Path:
        return self.root / f"set{number}"

    @property
    def current_set_path(self) -> Optional[Path]:
        return None if self.current_set is None else self.set_path(self.current_set)

    @property
    def current_plate_path(self) -> Optional[Path]:
        """bkg.png of the current set, when it exists."""
        path = self.current_set_path
        if path is None or not (path / PLATE_NAME).is_file():
            return None
        return path / PLATE_NAME

    def frame_indices(self, number: int):
        path = self.set_path(number)
        if not path.is_dir():
            return []
        matches = (_INDEX_PATTERN.match(p.name) for p in path.iterdir())
        return sorted({int(m.group(1)) for m in matches if m})

    def frame_count(self) -> int:
        """Saved frames (N.png) in the current set."""
        path = self.current_set_path
        if path is None or not path.is_dir():
            return 0
        return sum(1 for p in path.iterdir() if re.match(r"^\d+\.png$", p.name))

    def create_set(self, plate_bgr: np.ndarray) -> Path:
        """Makes the next set{n} folder, writes the plate into it as bkg.png, and makes it current."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create capture folder {self.root}: {exc.strerror}") from exc
        while True:
            number = self.next_set_number()
            try:
                self.set_path(number).mkdir()
                break
            except FileExistsError:
                continue  # another process took that number between the scan and mkdir
            except OSError as exc:
                raise StorageError(f"cannot create {self.set_path(number)}: {exc.strerror}") from exc
        plate_path = self.set_path(number) / PLATE_NAME
        self._write(plate_path, plate_bgr)
        self.current_set = number
        return plate_path

    def save_frame(self, frame_bgr: np.ndarray) -> Path:
        """Writes frame as the next free N.png of the current set."""
        if self.current_set is None:
            raise StorageError("no capture set yet: press Bkg first to capture a background plate")
        set_dir = self.set_path(self.current_set)
        if not set_dir.is_dir():
            raise StorageError(f"the current set folder {set_dir} is gone: press Bkg to start a new set")
        while True:
            indices = self.frame_indices(self.current_set)
            path = set_dir / f"{indices[-1] + 1 if indices else 0}.png"
            try:
                self._write(path, frame_bgr)
                return path
            except FileExistsError:
                continue  # written by someone else meanwhile; take the next number

    def _write(self, path: Path, image: np.ndarray) -> None:
        try:
            write_png_exclusive(path, image)
        except FileExistsError:
            raise
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc
        self.saved_this_run += 1
