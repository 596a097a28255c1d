"""Atomic writes (temp file in the same folder, then os.replace) and quarantine of unreadable annotation files."""
import os
from pathlib import Path

import numpy as np

from fileio.atomic_files import write_png


def write_mask_atomic(path: Path, mask: np.ndarray) -> None:
    """8-bit single-channel PNG, 0/255."""
    mask = np.where(np.asarray(mask) > 127, 255, 0).astype(np.uint8)
    write_png(path, mask)


def quarantine(path: Path) -> Path:
    """Renames a bad file to NAME.bad (NAME.bad.1, ... if taken) so it is kept, never overwritten. Returns the new path."""
    path = Path(path)
    target = path.with_name(path.name + ".bad")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bad.{counter}")
        counter += 1
    os.replace(path, target)
    return target
