"""Writing files so that a reader or a crash never sees half of one: temp file in the same folder, fsync, rename."""
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

import cv2
import numpy as np

PathLike = Union[str, Path]


def _create_temp_beside(path: Path) -> str:
    # os.open with mode 0o666 lets the process umask decide the permissions, as a plain open() would,
    # without reading the umask (reading it means setting it, which races with other threads).
    for _ in range(100):
        temp_name = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temp_name
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {path}")


def _fsync_file(name: str) -> None:
    handle = os.open(name, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def fsync_folder(folder: Path) -> None:
    """Puts folder's entries (a rename, a new file) on disk: a rename is durable only then. Best effort: not
    every platform lets a folder be synced."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


@contextmanager
def atomic_path(path: PathLike, overwrite: bool = True) -> Iterator[str]:
    """Yields a temp file name beside path; when the block succeeds, the file is flushed to disk and becomes
    path in one step.

    With overwrite=False an existing path is never replaced: FileExistsError is raised instead (a hard link
    is atomic and refuses an existing target).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp_name = _create_temp_beside(path)
    try:
        yield temp_name
        _fsync_file(temp_name)
        if overwrite:
            os.replace(temp_name, path)
        else:
            try:
                os.link(temp_name, path)
            except FileExistsError:
                raise
            except OSError:  # filesystems without hard links: check, then rename
                if path.exists():
                    raise FileExistsError(path)
                os.replace(temp_name, path)
        fsync_folder(path.parent)
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def atomic_write_bytes(path: PathLike, data: bytes, overwrite: bool = True) -> None:
    """Writes data to path atomically and durably."""
    with atomic_path(path, overwrite) as temp_name:
        with open(temp_name, "wb") as stream:
            stream.write(data)


def write_png(path: PathLike, image: np.ndarray, overwrite: bool = True) -> None:
    """Encodes image as PNG and writes it atomically and durably; OSError when it cannot be encoded or written
    (FileExistsError when path exists and overwrite is False)."""
    try:
        ok, encoded = cv2.imencode(".png", image)
    except cv2.error:
        ok = False
    if not ok:
        raise OSError(f"cannot encode {path} as PNG (image shape {getattr(image, 'shape', None)})")
    atomic_write_bytes(path, encoded.tobytes(), overwrite=overwrite)
