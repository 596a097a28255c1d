"""The view the user sees, without buttons or palm markers: the newest frame and mask composed in the current view,
mirrored when asked. It is composed once per (frame, mask, view), whoever asks first.

Sinks (a recorder, a virtual camera, a plate check) get every new view, or every new raw frame, at the source's
rate on the compositor's own thread, so a slow sink never stalls the window.
"""
import threading
from typing import Callable, List, Optional, Tuple

import numpy as np

from app.views import View, compose, fit_to_frame
from app.workers import LatestSlot

Sink = Callable[[np.ndarray, float], None]  # sink(image_bgr, timestamp_s)


def read_only(image: np.ndarray) -> np.ndarray:
    """A C-contiguous view of image that cannot be written through (sinks share one array)."""
    view = np.ascontiguousarray(image).view()
    view.flags.writeable = False
    return view


class ViewCompositor:
    """frames: the capture's LatestSlot. latest_mask() -> (mask seq, mask or None). current_view() -> View.
    report(text) hears about a sink that raised (it is dropped)."""

    def __init__(self, frames: LatestSlot, latest_mask: Callable[[], Tuple[int, Optional[np.ndarray]]],
                 current_view: Callable[[], View], mirror: bool = False, replacement: Optional[np.ndarray] = None,
                 report: Callable[[str], None] = lambda text: None):
        self.frames = frames
        self.latest_mask = latest_mask
        self.current_view = current_view
        self.mirror = mirror
        self.replacement = replacement
        self.report = report
        self._lock = threading.Lock()
        self._key = None
        self._composed: Optional[np.ndarray] = None
        self._replacement_fitted: Optional[np.ndarray] = None
        self._sinks: List[Tuple[Sink, bool]] = []
        self._sinks_lock = threading.Lock()
        self._stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="view-sinks", daemon=True)

    # --- composing -------------------------------------------------------------------------------------------
    def view_of(self, frame_seq: int, frame: np.ndarray) -> np.ndarray:
        """frame (number frame_seq) as the user sees it, without the overlay. Do not write into the result."""
        mask_seq, mask = self.latest_mask()
        view = self.current_view()
        key = (frame_seq, mask_seq, view)
        with self._lock:
            if key != self._key:
                display = compose(view, frame, None if view is View.RAW else mask, self._replacement_for(frame, view))
                self._composed = display[:, ::-1] if self.mirror else display
                self._key = key
            return self._composed

    def _replacement_for(self, frame: np.ndarray, view: View) -> Optional[np.ndarray]:
        if self.replacement is None or view is not View.REPLACE:
            return None
        height, width = frame.shape[:2]
        if self._replacement_fitted is None or self._replacement_fitted.shape[:2] != (height, width):
            self._replacement_fitted = fit_to_frame(self.replacement, width, height)
        return self._replacement_fitted

    # --- sinks -----------------------------------------------------------------------------------------------
    def add_sink(self, sink: Sink, raw: bool = False) -> None:
        """sink(image_bgr, timestamp_s) gets every new view (raw=True: every new raw camera frame, unmirrored).
        The image is read-only and shared; timestamp_s is when the frame was captured (time.monotonic())."""
        with self._sinks_lock:
            self._sinks.append((sink, raw))

    def remove_sink(self, sink: Sink) -> None:
        with self._sinks_lock:
            self._sinks = [(s, raw) for s, raw in self._sinks if s is not sink]

    def start(self) -> None:
        if not self.thread.is_alive():
            self.thread.start()

    def request_stop(self) -> None:
        self._stop_event.set()

    def _run(self) -> None:
        seen = 0
        while not self._stop_event.is_set():
            item = self.frames.wait_newer_stamped(seen, timeout=0.1)
            if item is None:
                continue
            seen, frame, captured_at = item
            with self._sinks_lock:
                sinks = list(self._sinks)
            if sinks:
                self._deliver(sinks, seen, frame, captured_at)

    def _deliver(self, sinks, frame_seq: int, frame: np.ndarray, timestamp: float) -> None:
        shown = raw_frame = None
        for sink, raw in sinks:
            if self._stop_event.is_set():
                return
            if raw:
                raw_frame = read_only(frame) if raw_frame is None else raw_frame
                image = raw_frame
            else:
                shown = read_only(self.view_of(frame_seq, frame)) if shown is None else shown
                image = shown
            try:
                sink(image, timestamp)
            except Exception as exc:  # one broken sink must not stop the others or the app
                self.remove_sink(sink)
                self.report(f"{getattr(sink, '__name__', type(sink).__name__)} stopped: {type(exc).__name__}: {exc}")
