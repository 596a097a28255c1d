"""Background threads: capture (newest frame only, reconnects a lost camera) and model workers (newest frame only)."""
import collections
import threading
import time
from typing import Any, Callable, Optional, Tuple

RECONNECT_DELAY_S = 1.0
LOST_AFTER_FAILED_READS = 5


class LatestSlot:
    """Holds only the newest value; readers ask for anything newer than what they have seen."""

    def __init__(self):
        self._cond = threading.Condition()
        self._seq = 0
        self._value = None

    def put(self, value: Any) -> int:
        with self._cond:
            self._seq += 1
            self._value = value
            self._cond.notify_all()
            return self._seq

    def get(self) -> Tuple[int, Any]:
        with self._cond:
            return self._seq, self._value

    def wait_newer(self, seen_seq: int, timeout: float) -> Optional[Tuple[int, Any]]:
        with self._cond:
            if self._seq <= seen_seq:
                self._cond.wait(timeout)
            if self._seq <= seen_seq:
                return None
            return self._seq, self._value


class RateMeter:
    """Events per second over a sliding window."""

    def __init__(self, window_s: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.window_s = window_s
        self._clock = clock
        self._times = collections.deque()
        self._lock = threading.Lock()

    def tick(self) -> None:
        with self._lock:
            now = self._clock()
            self._times.append(now)
            while self._times and self._times[0] < now - self.window_s:
                self._times.popleft()

    def rate(self) -> float:
        with self._lock:
            now = self._clock()
            while self._times and self._times[0] < now - self.window_s:
                self._times.popleft()
            if len(self._times) < 2:
                return 0.0
            span = max(self._times[-1] - self._times[0], 1e-6)
            return (len(self._times) - 1) / span


class CaptureThread(threading.Thread):
    """Reads frames as fast as the source gives them (or at pace_fps) and keeps only the newest.

    A live source that stops delivering is marked lost, released and reopened with reopen() until it works again.
    A finite source that ends sets finished.
    """

    def __init__(self, reader, reopen: Optional[Callable[[], Any]] = None, pace_fps: Optional[float] = None):
        super().__init__(name="capture", daemon=True)
        self.reader = reader
        self.reopen = reopen
        self.pace_fps = pace_fps if pace_fps and pace_fps > 0 else None
        self.frames = LatestSlot()
        self.meter = RateMeter()
        self.lost = False
        self.finished = False
        self.reconnects = 0
        self.reconnect_delay_s = RECONNECT_DELAY_S
        self._stop_event = threading.Event()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        try:
            self._loop()
        finally:
            if self.reader is not None:
                self.reader.release()

    def _loop(self) -> None:
        failed_reads = 0
        next_due = time.monotonic()
        while not self._stop_event.is_set():
            frame = self.reader.read() if self.reader is not None else None
            if frame is not None:
                failed_reads = 0
                self.lost = False
                self.frames.put(frame)
                self.meter.tick()
                if self.pace_fps:
                    next_due = max(next_due + 1.0 / self.pace_fps, time.monotonic() - 1.0)
                    self._stop_event.wait(max(0.0, next_due - time.monotonic()))
                continue
            if self.reader is not None and not self.reader.is_live:
                self.finished = True
                return
            failed_reads += 1
            if failed_reads < LOST_AFTER_FAILED_READS and self.reader is not None:
                continue
            self.lost = True
            self._reconnect()

    def _reconnect(self) -> None:
        if self.reader is not None:
            self.reader.release()
            self.reader = None
        if self._stop_event.wait(self.reconnect_delay_s) or self.reopen is None:
            return
        try:
            self.reader = self.reopen()
            self.reconnects += 1
        except Exception:  # camera still gone; keep retrying
            self.reader = None


class ModelWorker(threading.Thread):
    """Runs fn on the newest item of a LatestSlot, skipping whatever arrived while it was busy.

    Results go to self.results as (input_seq, result). If fn raises, the worker stops and error says why.
    """

    def __init__(self, name: str, source: LatestSlot, fn: Callable[[Any], Any]):
        super().__init__(name=name, daemon=True)
        self.source = source
        self.fn = fn
        self.results = LatestSlot()
        self.meter = RateMeter()
        self.error: Optional[str] = None
        self._stop_event = threading.Event()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        seen = 0
        while not self._stop_event.is_set():
            item = self.source.wait_newer(seen, timeout=0.1)
            if item is None:
                continue
            seen, value = item
            try:
                result = self.fn(value)
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                return
            self.results.put((seen, result))
            self.meter.tick()
