"""Where Bkg and Sav put their files: ROOT/set{n}/bkg.png and ROOT/set{n}/{N}.png.

Numbers always come from what is on disk, so numbering resumes after a restart. Files are written to a temp file
in the same folder and then linked into place, which is atomic and fails rather than overwrite a capture. A new set
is assembled in a hidden folder and renamed into place with its plate inside, so no crash or failed write ever
leaves an empty setN/ that a restart would take as the current set.
"""
import os
import secrets
import shutil
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np

from fileio.atomic_files import atomic_write_bytes, fsync_folder
from fileio.capture_sets import FRAME_PATTERN, MASK_PATTERN, frame_index, set_number

PLATE_NAME = "bkg.png"
STAGING_PREFIX = ".staging-set"  # hidden, and never matches the setN pattern


class StorageError(RuntimeError):
    """A capture could not be written; the message names the path and the cause."""


def write_png_exclusive(path: Path, image: np.ndarray) -> None:
    """Writes image to path atomically; raises FileExistsError if path exists (never overwrites)."""
    path = Path(path)
    try:
        ok, encoded = cv2.imencode(".png", image)
    except cv2.error:
        ok = False
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

    def _set_numbers(self) -> List[int]:
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

    def frame_indices(self, number: int) -> List[int]:
        """Indices taken in set{number}: N.png and N_mask.png both claim N, so a new frame never pairs up with
        an old annotation."""
        path = self.set_path(number)
        if not path.is_dir():
            return []
        taken = set()
        for entry in path.iterdir():
            match = FRAME_PATTERN.match(entry.name) or MASK_PATTERN.match(entry.name)
            if match:
                taken.add(int(match.group(1)))
        return sorted(taken)

    def frame_count(self) -> int:
        """Saved frames (N.png) in the current set."""
        path = self.current_set_path
        if path is None or not path.is_dir():
            return 0
        return sum(1 for entry in path.iterdir() if frame_index(entry) is not None)

    def create_set(self, plate_bgr: np.ndarray) -> Path:
        """Makes the next set{n} folder holding the plate as bkg.png, and makes it current.

        The folder appears under its real name only once bkg.png is safely inside; on any failure nothing is left.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create capture folder {self.root}: {exc.strerror}") from exc
        staging = self.root / f"{STAGING_PREFIX}.{secrets.token_hex(4)}"
        try:
            try:
                staging.mkdir()
            except OSError as exc:
                raise StorageError(f"cannot create a folder in {self.root}: {exc.strerror}") from exc
            try:
                write_png_exclusive(staging / PLATE_NAME, plate_bgr)
            except OSError as exc:
                raise StorageError(f"cannot save the background plate in {self.root}: {exc.strerror or exc}") from exc
            number = self._publish(staging)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        self.current_set = number
        self.saved_this_run += 1
        return self.set_path(number) / PLATE_NAME

    def _publish(self, staging: Path) -> int:
        """Renames the staged folder to the next free set{n}; returns n."""
        number = self.next_set_number()
        while True:
            target = self.set_path(number)
            # Checked first because a rename may replace an empty folder (it never merges into a full one).
            if not target.exists():
                try:
                    os.rename(staging, target)
                except OSError as exc:
                    if not target.exists():
                        raise StorageError(f"cannot create {target}: {exc.strerror or exc}") from exc
                else:
                    fsync_folder(self.root)
                    return number
            number = max(number + 1, self.next_set_number())  # taken meanwhile, or a file of that name

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
