"""Argument types for argparse (type=...) that reject a bad value with a message naming it and saying what fits."""
import os
from pathlib import Path
from typing import NamedTuple, Tuple

from commandline.usage import UsageError

MIN_SIDE = 32  # pixels: smaller frames leave the networks' deepest level without a single cell


class FrameSize(NamedTuple):
    """A frame size written WIDTHxHEIGHT on the command line. OpenCV takes (width, height); numpy shapes and
    torch tensors are (height, width): ask for the order by name."""
    width: int
    height: int

    @property
    def height_width(self) -> Tuple[int, int]:
        return self.height, self.width

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


def parse_size(text: str, minimum: int = MIN_SIDE) -> FrameSize:
    """'640x480' -> FrameSize(width=640, height=480); each side at least `minimum` pixels."""
    try:
        width, height = (int(part) for part in str(text).lower().split("x"))
    except ValueError:
        raise UsageError(f"size {text!r}: give WIDTHxHEIGHT, e.g. 640x480") from None
    if width < minimum or height < minimum:
        raise UsageError(f"size {text!r}: both sides must be at least {minimum} pixels, e.g. 640x480")
    return FrameSize(width, height)


def size_at_least(minimum: int):
    """An argparse type like parse_size, for networks that take smaller sides."""
    def parse(text: str) -> FrameSize:
        return parse_size(text, minimum)
    parse.__name__ = "size"
    return parse


def _number(text: str, kind, what: str):
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise UsageError(f"{text!r} is not {what}") from None


def positive_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 1:
        raise UsageError(f"{text!r}: give a whole number of 1 or more")
    return value


def non_negative_int(text: str) -> int:
    value = _number(text, int, "a whole number")
    if value < 0:
        raise UsageError(f"{text!r}: give a whole number of 0 or more")
    return value


def positive_float(text: str) -> float:
    value = _number(text, float, "a number")
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{text!r}: give a number above 0")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text, float, "a number")
    if not value >= 0 or value == float("inf"):
        raise UsageError(f"{text!r}: give a number of 0 or more")
    return value


def share(text: str) -> float:
    """A fraction in [0, 1): e.g. the share of photos held out."""
    value = _number(text, float, "a number")
    if not 0.0 <= value < 1.0:
        raise UsageError(f"{text!r}: give a share from 0 up to (not including) 1, e.g. 0.1")
    return value


def positive_int_list(text: str) -> Tuple[int, ...]:
    """'8,16,32' -> (8, 16, 32)."""
    try:
        values = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        raise UsageError(f"{text!r}: give whole numbers separated by commas, e.g. 8,16,32,64") from None
    if min(values) < 1:
        raise UsageError(f"{text!r}: every number must be 1 or more")
    return values


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise UsageError(f"{text!r} {what}; give the path of a file")
    return path


def writable_folder(path, flag: str) -> Path:
    """Checks that path is a folder this process can list and write into, or one it can create; returns it.

    A bad one raises UsageError naming the flag, the path and the fix, before any work starts."""
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == path else f"cannot be created: {existing} is a file"
        raise UsageError(f"{flag} {path} {where}; pass a folder")
    if existing == path:
        try:
            os.listdir(path)
        except OSError as exc:
            raise UsageError(f"{flag} {path}: cannot read the folder ({exc.strerror}); fix its permissions or "
                             f"pass another folder") from None
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "write into" if existing == path else f"create it inside {existing}"
        raise UsageError(f"{flag} {path}: permission denied to {what}; fix the permissions or pass a folder you "
                         f"can write to")
    return path
