"""Atomic writes (temp file in the same folder, then os.replace) and quarantine of unreadable annotation files."""
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise


def write_mask_atomic(path: Path, mask: np.ndarray) -> None:
    """8-bit single-channel PNG, 0/255."""
    mask = np.where(np.asarray(mask) > 127, 255, 0).astype(np.uint8)
    ok, encoded = cv2.imencode(".png", mask)
    if not ok:
        raise OSError(f"could not encode mask for {path}")
    write_bytes_atomic(path, encoded.tobytes())


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
