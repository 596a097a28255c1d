"""Frame sources for --source: a webcam index, a video file or a folder of images, behind one read() call."""
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np

from fileio.capture_sets import IMAGE_SUFFIXES

FOLDER_FPS = 10.0  # image folders have no rate of their own
FALLBACK_VIDEO_FPS = 25.0
FIRST_FRAME_TRIES = 20  # some webcams deliver a few empty reads right after opening


class SourceError(RuntimeError):
    """The source cannot be used; str() is a one-line message for the user."""


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # "camera" | "video" | "folder"
    camera_index: Optional[int] = None
    path: Optional[Path] = None

    def describe(self) -> str:
        return f"camera {self.camera_index}" if self.kind == "camera" else f"{self.kind} {self.path}"


def parse_source(text: str) -> SourceSpec:
    text = str(text).strip()
    if re.fullmatch(r"\d+", text):
        return SourceSpec("camera", camera_index=int(text))
    path = Path(text).expanduser()
    if path.is_dir():
        return SourceSpec("folder", path=path)
    if path.is_file():
        return SourceSpec("video", path=path)
    raise SourceError(f"--source {text!r} is neither a camera index (0, 1, ...) nor an existing video file or "
                      f"image folder")


def _natural_key(path: Path):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


class CameraReader:
    is_live = True
    native_fps = None

    def __init__(self, index: int, open_capture=cv2.VideoCapture):
        self.index = index
        self._capture = open_capture(index)
        if not self._capture.isOpened():
            self._capture.release()
            raise SourceError(f"cannot open camera {index}: no camera at that index, or it is in use. "
                              f"Try another index (--source 1) or a video file (--source FILE)")

    def read(self) -> Optional[np.ndarray]:
        ok, frame = self._capture.read()
        return frame if ok and frame is not None and frame.size else None

    def release(self) -> None:
        self._capture.release()


class VideoReader:
    is_live = False

    def __init__(self, path: Path, loop: bool):
        self.path = Path(path)
        self.loop = loop
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise SourceError(f"cannot open video {self.path}: not a video OpenCV can decode")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.native_fps = fps if fps and 0 < fps < 1000 else FALLBACK_VIDEO_FPS
        self._frames_read = 0

    def read(self) -> Optional[np.ndarray]:
        ok, frame = self._capture.read()
        if ok:
            self._frames_read += 1
            return frame
        if not self.loop or self._frames_read == 0:
            return None
        # Reopen instead of seeking: seeking to 0 is unreliable for some codecs.
        self._capture.release()
        self._capture = cv2.VideoCapture(str(self.path))
        self._frames_read = 0
        ok, frame = self._capture.read()
        if ok:
            self._frames_read = 1
        return frame if ok else None

    def release(self) -> None:
        self._capture.release()


class FolderReader:
    is_live = False

    def __init__(self, path: Path, loop: bool):
        self.path = Path(path)
        self.loop = loop
        self.native_fps = FOLDER_FPS
        self.files: List[Path] = sorted(
            (p for p in self.path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
        if not self.files:
            raise SourceError(f"image folder {self.path} has no images ({', '.join(IMAGE_SUFFIXES)})")
        self._next = 0

    def read(self) -> Optional[np.ndarray]:
        for _ in range(len(self.files)):  # skip unreadable files, but give up after one full pass
            if self._next >= len(self.files):
                if not self.loop:
                    return None
                self._next = 0
            image = cv2.imread(str(self.files[self._next]), cv2.IMREAD_COLOR)
            self._next += 1
            if image is not None:
                return image
        return None

    def release(self) -> None:
        pass


def open_reader(spec: SourceSpec, loop: bool = True):
    """Opens the source; raises SourceError with a one-line message when it cannot deliver a frame."""
    if spec.kind == "camera":
        return CameraReader(spec.camera_index)
    if spec.kind == "video":
        return VideoReader(spec.path, loop)
    return FolderReader(spec.path, loop)


def read_first_frame(reader) -> np.ndarray:
    """The first frame, to size the window; raises SourceError if the source gives none."""
    for _ in range(FIRST_FRAME_TRIES if reader.is_live else 1):
        frame = reader.read()
        if frame is not None:
            return frame
    name = getattr(reader, "path", None) or f"camera {getattr(reader, 'index', '?')}"
    hint = " Try another index or --source FILE" if reader.is_live else ""
    raise SourceError(f"{name} opened but delivered no frame.{hint}")
