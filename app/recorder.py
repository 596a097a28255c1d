"""Recording the live view to a video file that stays playable if the app is killed. No Qt.

Recordings are Motion-JPEG in AVI, written by OpenCV's own AVI writer: every frame goes to the file as a complete
chunk as soon as it is encoded, so a crash or SIGKILL loses at most the frames still queued, and players (FFmpeg,
OpenCV, VLC, mpv) read a file without its closing index. It needs nothing beyond OpenCV.

Frames reach the recorder at uneven times (camera jitter, a UI timer, mask updates between camera frames);
FrameResampler turns them into a constant-rate sequence, so a recording plays back at the speed it was seen.
"""
import collections
import os
import threading
import time
from pathlib import Path
from typing import Callable, List, Optional, Tuple, Union

import cv2
import numpy as np

RECORDING_SUFFIX = ".avi"
DEFAULT_NAME = "recording.avi"
FSYNC_EVERY_S = 2.0  # bounds what a power cut can take, not only a crash
MAX_QUEUED_BYTES = 128 * 2**20  # frames waiting for a slow disk; beyond this, the last queued frame is repeated
MAX_GAP_S = 10.0  # a longer pause (a stalled source, a suspended laptop) is not filled with a frozen frame


class RecordingError(Exception):
    """The recording cannot be made; str() is one line for the user."""


def recording_path(text: Union[str, Path]) -> Path:
    """The path for --record: an .avi file (the suffix is added when missing), or DEFAULT_NAME in an existing
    folder. Raises RecordingError."""
    path = Path(text).expanduser()
    if path.is_dir() or str(text).endswith(("/", os.sep)):
        return path / DEFAULT_NAME
    if path.suffix == "":
        path = path.with_suffix(RECORDING_SUFFIX)
    if path.suffix.lower() != RECORDING_SUFFIX:
        raise RecordingError(f"--record {text}: recordings are Motion-JPEG AVI files (they stay playable after a "
                             f"crash); name it {path.with_suffix(RECORDING_SUFFIX).name}")
    return path


def numbered_siblings(path: Path):
    """path, then path's name with -1, -2, ... before the suffix: clip.avi, clip-1.avi, clip-2.avi, ..."""
    yield path
    number = 1
    while True:
        yield path.with_name(f"{path.stem}-{number}{path.suffix}")
        number += 1


def claim_free_path(path: Union[str, Path]) -> Path:
    """Creates and returns the first of numbered_siblings(path) that does not exist yet. Creating the file
    exclusively claims the name, so two recorders never pick the same one and nothing is ever overwritten."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordingError(f"cannot create the folder {path.parent} for the recording: {exc.strerror}") from exc
    for candidate in numbered_siblings(path):
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:
            raise RecordingError(f"cannot create the recording {candidate}: {exc.strerror}") from exc
    raise AssertionError("unreachable")


class FrameResampler:
    """Turns frames with timestamps into a constant-rate sequence: output frame k is the newest frame pushed
    before start + (k + 0.5) / fps, where start is the first frame's time. Sampling half an interval after each
    expected arrival tolerates arrival jitter of up to half a frame interval without repeats or drops."""

    def __init__(self, fps: float):
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = float(fps)
        self._start: Optional[float] = None
        self._emitted = 0  # output frames handed out so far
        self._latest: Optional[np.ndarray] = None
        self._latest_emitted = False

    def push(self, frame: np.ndarray, timestamp_s: float) -> List[Tuple[np.ndarray, int]]:
        """Takes a frame seen at timestamp_s; returns (frame, repeats) pairs that are now due, oldest first."""
        if self._start is None:
            self._start, self._latest, self._latest_emitted = timestamp_s, frame, False
            return []
        due = int(np.floor((timestamp_s - self._start) * self.fps - 0.5)) + 1
        out = []
        repeats = due - self._emitted
        if repeats > 0:
            max_repeats = int(MAX_GAP_S * self.fps)
            if repeats > max_repeats:  # skip the rest of a long pause instead of filling it
                self._start += (repeats - max_repeats) / self.fps
                repeats = max_repeats
            out.append((self._latest, repeats))
            self._emitted += repeats
            self._latest_emitted = True
        self._latest, self._latest_emitted = frame, False
        return out

    def finish(self) -> List[Tuple[np.ndarray, int]]:
        """The newest frame once more when it has not been handed out yet (the end of the recording)."""
        if self._latest is None or self._latest_emitted:
            return []
        self._latest_emitted = True
        self._emitted += 1
        return [(self._latest, 1)]


def open_avi_writer(path: Path, fps: float, width: int, height: int):
    """OpenCV's own Motion-JPEG AVI writer (not FFmpeg's, which buffers several frames before writing them)."""
    writer = cv2.VideoWriter(str(path), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*"MJPG"), float(fps),
                             (int(width), int(height)))
    if not writer.isOpened():
        raise RecordingError(f"cannot write the recording {path} (OpenCV's Motion-JPEG writer refused it)")
    return writer


class VideoRecorder:
    """Records frames to an AVI at a constant rate; encoding and disk writes run on a background thread.

    add(frame_bgr, timestamp_s) is the view-sink callback: it never blocks on the disk. The first frame fixes the
    size; frames of another size are scaled to it. close() writes what is queued and finalises the file.
    """

    def __init__(self, path: Union[str, Path], fps: float,
                 open_writer: Callable[[Path, float, int, int], object] = open_avi_writer,
                 max_queued_bytes: int = MAX_QUEUED_BYTES):
        self.fps = float(fps)
        self.max_queued_bytes = max_queued_bytes
        self.path = claim_free_path(path)
        self._open_writer = open_writer
        self._resampler = FrameResampler(self.fps)
        self._queue: collections.deque = collections.deque()
        self._queued_bytes = 0
        self._cond = threading.Condition()
        self._resample_lock = threading.Lock()
        self._closing = False
        self.size: Optional[Tuple[int, int]] = None
        self.frames_written = 0
        self.frames_repeated_for_slow_disk = 0
        self.error: Optional[str] = None
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    @property
    def seconds_recorded(self) -> float:
        return self.frames_written / self.fps

    def add(self, frame_bgr: np.ndarray, timestamp_s: float) -> None:
        # The caller may reuse its buffer; keep our own copy (one memcpy, far cheaper than the JPEG encode).
        frame = np.array(frame_bgr, dtype=np.uint8, copy=True)
        with self._resample_lock:  # add() and close() may come from different threads
            if self._closing or self.error is not None:
                return
            if self.size is None:
                self.size = (frame.shape[1], frame.shape[0])
            self._enqueue(self._resampler.push(frame, timestamp_s))

    def _enqueue(self, items) -> None:
        if not items:
            return
        with self._cond:
            for frame, repeats in items:
                if self._queue and self._queued_bytes + frame.nbytes > self.max_queued_bytes:
                    # The disk falls behind: the newest frame takes the last queued one's place and slots, so
                    # memory stays bounded and the recording keeps its length and ends on the newest view.
                    last_frame, last_repeats = self._queue[-1]
                    self._queue[-1] = (frame, last_repeats + repeats)
                    self._queued_bytes += frame.nbytes - last_frame.nbytes
                    self.frames_repeated_for_slow_disk += last_repeats
                else:
                    self._queue.append((frame, repeats))
                    self._queued_bytes += frame.nbytes
            self._cond.notify()

    def close(self, timeout: float = 30.0) -> Optional[Path]:
        """Writes the queued frames, closes the file and returns its path (None when no frame ever came: the
        empty file that claimed the name is removed). Safe to call twice."""
        with self._resample_lock:
            if not self._closing:
                self._enqueue(self._resampler.finish())
                with self._cond:
                    self._closing = True
                    self._cond.notify()
        self._thread.join(timeout)
        if self.frames_written == 0 and not self._thread.is_alive():
            try:
                if self.path.stat().st_size == 0:
                    self.path.unlink()
            except OSError:
                pass
            return None
        return self.path

    def _next_item(self):
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue:
                return None
            frame, repeats = self._queue.popleft()
            self._queued_bytes -= frame.nbytes
            return frame, repeats

    def _run(self) -> None:
        writer = None
        sync_handle = None
        last_sync = time.monotonic()
        try:
            while True:
                item = self._next_item()
                if item is None:
                    break
                frame, repeats = item
                if writer is None:
                    writer = self._open_writer(self.path, self.fps, *self.size)
                    sync_handle = _open_for_sync(self.path)
                if (frame.shape[1], frame.shape[0]) != self.size:
                    frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
                for _ in range(repeats):
                    writer.write(frame)
                    self.frames_written += 1
                if sync_handle is not None and time.monotonic() - last_sync >= FSYNC_EVERY_S:
                    _sync(sync_handle)
                    last_sync = time.monotonic()
        except RecordingError as exc:
            self.error = str(exc)
        except Exception as exc:  # a full disk or a codec failure must not take the app down
            self.error = f"recording stopped: {type(exc).__name__}: {exc}"
        finally:
            if writer is not None:
                writer.release()
            if sync_handle is not None:
                _sync(sync_handle)
                os.close(sync_handle)
            with self._cond:
                self._closing = True
                self._queue.clear()


def _open_for_sync(path: Path) -> Optional[int]:
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:
        return None


def _sync(handle: int) -> None:
    try:
        os.fsync(handle)
    except OSError:  # not every platform syncs a read-only handle; a crash still keeps what was written
        pass


class RecordingControl:
    """Starts and stops recordings of a live session (--record, the R key, the toolbar button). Each start claims
    a new file beside base_path (clip.avi, clip-1.avi, ...). raw: record the camera frames instead of the view.

    session needs add_view_sink/add_raw_sink/remove_sink, set_notice and show_message (app.session.LiveSession).
    fps: the recording's rate; None takes the source's pace, else the measured capture rate, else 30."""

    NOTICE_KEY = "recording"

    def __init__(self, session, base_path: Union[str, Path], raw: bool = False, fps: Optional[float] = None):
        self.session = session
        self.base_path = Path(base_path)
        self.raw = raw
        self.fps = fps
        self.recorder: Optional[VideoRecorder] = None
        self.saved: List[Path] = []
        self._lock = threading.RLock()
        self._sink = self._deliver  # one bound method: remove_sink finds a sink by identity

    @property
    def active(self) -> bool:
        return self.recorder is not None

    def _rate(self) -> float:
        if self.fps:
            return float(self.fps)
        capture = getattr(self.session, "capture", None)
        pace = getattr(capture, "pace_fps", None)
        if pace:
            return float(pace)
        measured = capture.meter.rate() if capture is not None else 0.0
        return round(measured) if measured >= 1 else 30.0

    def start(self) -> Optional[Path]:
        """Starts a recording (if none runs); returns its path, or None when it cannot start (said on screen)."""
        with self._lock:
            if self.recorder is not None:
                return self.recorder.path
            try:
                self.recorder = VideoRecorder(self.base_path, self._rate())
            except RecordingError as exc:
                self.session.show_message(str(exc))
                return None
            (self.session.add_raw_sink if self.raw else self.session.add_view_sink)(self._sink)
            what = "camera frames" if self.raw else "the view"
            self.session.set_notice(self.NOTICE_KEY, f"recording {what} to {self.recorder.path}")
            return self.recorder.path

    def stop(self) -> Optional[Path]:
        """Stops and finalises the recording; returns its path (None when nothing was recording or recorded)."""
        with self._lock:
            recorder, self.recorder = self.recorder, None
            if recorder is None:
                return None
            self.session.remove_sink(self._sink)
            path = recorder.close()
            self.session.set_notice(self.NOTICE_KEY, None)
            if recorder.error:
                self.session.show_message(f"{recorder.error} ({recorder.path})")
            if path is None:
                self.session.show_message("Recording stopped before any frame came; nothing saved")
                return None
            self.saved.append(path)
            self.session.show_message(f"Saved recording {path} ({recorder.seconds_recorded:.1f} s)")
            return path

    def toggle(self) -> Optional[Path]:
        return self.stop() if self.active else self.start()

    def close(self) -> None:
        self.stop()

    def _deliver(self, image: np.ndarray, timestamp_s: float) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        recorder.add(image, timestamp_s)
        if recorder.error:  # the disk is full or the writer failed: stop now and say why
            self.stop()
