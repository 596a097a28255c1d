"""Background threads: capture (newest frame only, reconnects a lost camera) and model workers (newest frame only).

Model workers take turns (MODEL_TURNS): on a machine with few cores, two multi-threaded models running at once
oversubscribe the cores, and each then takes far more than twice as long. One after the other, each gets all cores.
A secondary model (the palm tracker) also runs at a capped rate (PALM_RATE_HZ), so the segmentation model gets most
turns.
"""
import collections
import os
import sys
import threading
import time
from typing import Any, Callable, Optional, Tuple

RECONNECT_DELAY_S = 1.0
LOST_AFTER_FAILED_READS = 5
PALM_RATE_HZ = 10.0  # a palm presses by dwelling 0.6 s: 10 looks a second are plenty
UNPACED_READER_NICENESS = 10  # an unpaced file source reads with what the models leave over (niceness added)
MODEL_TURNS = threading.Lock()


class LatestSlot:
    """Holds only the newest value; readers ask for anything newer than what they have seen.

    Each value carries a time stamp (time.monotonic()): when it was put, or the stamp of the input it came from."""

    def __init__(self):
        self._cond = threading.Condition()
        self._seq = 0
        self._value = None
        self._stamp = 0.0

    def put(self, value: Any, stamp: Optional[float] = None) -> int:
        with self._cond:
            self._seq += 1
            self._value = value
            self._stamp = time.monotonic() if stamp is None else stamp
            self._cond.notify_all()
            return self._seq

    def get(self) -> Tuple[int, Any]:
        with self._cond:
            return self._seq, self._value

    def get_stamped(self) -> Tuple[int, Any, float]:
        with self._cond:
            return self._seq, self._value, self._stamp

    def wait_newer(self, seen_seq: int, timeout: float) -> Optional[Tuple[int, Any]]:
        item = self.wait_newer_stamped(seen_seq, timeout)
        return None if item is None else item[:2]

    def wait_newer_stamped(self, seen_seq: int, timeout: float) -> Optional[Tuple[int, Any, float]]:
        with self._cond:
            if self._seq <= seen_seq:
                self._cond.wait(timeout)
            if self._seq <= seen_seq:
                return None
            return self._seq, self._value, self._stamp


def lower_this_thread_priority(by: int) -> bool:
    """Raises the calling thread's niceness by `by` (Linux: per thread), so it yields the CPU to the others."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + by))
        return True
    except (OSError, AttributeError):
        return False


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
    A finite source that ends sets finished. A file source read unpaced runs at a lower priority: it would
    otherwise decode frames nobody will see with the CPU that the models need.
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
        if not self.pace_fps and self.reader is not None and not self.reader.is_live:
            lower_this_thread_priority(UNPACED_READER_NICENESS)
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

    Results go to self.results as (input_seq, result), stamped with the input's stamp (so a reader can tell how
    old the frame behind a result is). max_rate_hz caps how often fn starts; turns (a lock shared by the workers
    that should not run at once; MODEL_TURNS by default, None to run freely) is held while fn runs. If fn raises,
    the worker stops and error says why.
    """

    def __init__(self, name: str, source: LatestSlot, fn: Callable[[Any], Any], max_rate_hz: Optional[float] = None,
                 turns: Optional[threading.Lock] = MODEL_TURNS):
        super().__init__(name=name, daemon=True)
        self.source = source
        self.fn = fn
        self.min_interval_s = 1.0 / max_rate_hz if max_rate_hz else 0.0
        self.turns = turns
        self.results = LatestSlot()
        self.error: Optional[str] = None
        self._last_start = -float("inf")  # when fn last started
        self._stop_event = threading.Event()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        seen = 0
        while not self._stop_event.is_set():
            wait = self._last_start + self.min_interval_s - time.monotonic()
            if wait > 0 and self._stop_event.wait(wait):
                return
            item = self.source.wait_newer_stamped(seen, timeout=0.1)
            if item is None:
                continue
            try:
                if self.turns is None:
                    seen, result, stamp = self._run_once(item)
                else:
                    with self.turns:  # once our turn comes, take the newest frame, not the one that woke us
                        seen, result, stamp = self._run_once(self.source.get_stamped())
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                return
            self.results.put((seen, result), stamp=stamp)

    def _run_once(self, item: Tuple[int, Any, float]) -> Tuple[int, Any, float]:
        seen, value, stamp = item
        self._last_start = time.monotonic()
        return seen, self.fn(value), stamp
