"""Writing files so that a reader or a crash never sees half of one: temp file in the same folder, then rename."""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, Path]


def _shareable(temp_name: str) -> None:
    # mkstemp creates owner-only files; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp_name, 0o666 & ~umask)


@contextmanager
def atomic_path(path: PathLike, overwrite: bool = True) -> Iterator[str]:
    """Yields a temp file name beside path; when the block succeeds, the file becomes path in one step.

    With overwrite=False an existing path is never replaced: FileExistsError is raised instead (a hard link
    is atomic and refuses an existing target).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        yield temp_name
        _shareable(temp_name)
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
    finally:
        if os.path.exists(temp_name):
            os.unlink(temp_name)


def atomic_write_bytes(path: PathLike, data: bytes, overwrite: bool = True) -> None:
    """Writes data to path atomically, flushed to disk before the rename."""
    with atomic_path(path, overwrite) as temp_name:
        with open(temp_name, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
