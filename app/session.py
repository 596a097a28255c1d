"""The live loop without any GUI: wires the pieces together and turns each UI tick into a frame to show.

The pieces, each readable and testable alone:
- presses and countdowns: app.presses.PressController
- writing Bkg/Sav captures: app.capture_actions.CaptureActions (through app.capture_storage)
- segmentation: app.segmentation (the shared plate, the worker's step), on a ModelWorker thread
- the view the user sees, and the sinks that receive it: app.compositor.ViewCompositor
- palm presses: app.palm_pressing.PalmPressing, on a ModelWorker thread running the palm tracker
- words: app.notices (messages, standing notices) and app.status (the status bar)
The Qt window and the headless runner both call step() on a timer; all timing comes from an injectable clock.
"""
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import numpy as np

from app.buttons import ButtonLayout
from app.capture_actions import CaptureActions
from app.capture_storage import CaptureStorage
from app.compositor import Sink, ViewCompositor
from app.notices import Notices
from app.overlay import OverlayState, draw_overlay
from app.presses import PressController
from app.segmentation import Listener, PlateHolder, SegmentationResult, SegmentationStep
from app.status import SEPARATOR, capture_part, palm_parts, segmentation_part, startup_note, storage_part
from app.views import View
from app.workers import PALM_RATE_HZ, CaptureThread, ModelWorker

SHUTDOWN_TIMEOUT_S = 2.0  # close() waits at most this long for all threads together


@dataclass
class SessionOptions:
    bkg_seconds: float = 5.0
    sav_seconds: float = 2.0
    mirror: bool = False
    view: View = View.TINT
    replacement: Optional[np.ndarray] = None  # BGR image for the replace view


class LiveSession:
    def __init__(self, capture: CaptureThread, storage: CaptureStorage, options: SessionOptions,
                 segmenter=None, segmentation_note: str = "",
                 palm_tracker=None, palm_note: str = "", make_dwell: Optional[Callable] = None,
                 clock: Callable[[], float] = time.monotonic, log: Callable[[str], None] = lambda text: None):
        self.capture = capture
        self.storage = storage
        self.options = options
        self.view = options.view
        self.clock = clock
        self.log = log
        self.started_at = clock()
        self._layout: Optional[ButtonLayout] = None
        self._closed = False

        self.notices = Notices(clock, log)
        self.presses = PressController(options.bkg_seconds, options.sav_seconds,
                                       has_set=lambda: storage.current_set is not None, notify=self.show_message)
        self.plates = PlateHolder()
        self.captures = CaptureActions(storage, on_plate=self.plates.set, notify=self.show_message)

        self.segmenter = segmenter
        self.segmentation_note = segmentation_note
        self.segmentation_worker: Optional[ModelWorker] = None
        self._segmentation_step: Optional[SegmentationStep] = None
        if segmenter is not None:
            self._segmentation_step = SegmentationStep(segmenter, self.plates, current_view=lambda: self.view)
            self.segmentation_worker = ModelWorker("segmentation", capture.frames, self._segmentation_step)
            if storage.current_plate_path is not None:
                self.plates.load(storage.current_plate_path)

        self.compositor = ViewCompositor(capture.frames, self._latest_mask, current_view=lambda: self.view,
                                         mirror=options.mirror, replacement=options.replacement,
                                         report=self.show_message)

        self.palm_tracker = palm_tracker
        self.palm_note = palm_note
        self.palm_worker: Optional[ModelWorker] = None
        self.palms = None
        if palm_tracker is not None:
            from app.palm_pressing import PalmPressing  # without a tracker nothing palm-related is imported
            self.palm_worker = ModelWorker("palms", capture.frames, palm_tracker.update, max_rate_hz=PALM_RATE_HZ)
            # The presser hit-tests against whatever layout the current frame size gives.
            dwell = make_dwell(self._hit_test) if make_dwell is not None else None
            self.palms = PalmPressing(self.palm_worker.results, dwell, options.mirror)

    # --- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.started_at = self.clock()
        if not self.capture.is_alive():
            self.capture.start()
        for worker in self._workers():
            worker.start()
        self.compositor.start()

    def _workers(self):
        return [w for w in (self.segmentation_worker, self.palm_worker) if w is not None]

    def close(self, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> None:
        """Stops every thread and releases the camera within about timeout_s; safe to call twice.

        All threads are told to stop at once and share one deadline, so they wind down together. Only then is
        the palm tracker closed: a worker still inside it would crash or hang on a closed model. A thread that
        misses the deadline is left to finish on its own (they are daemons), and closes the tracker after it.
        """
        if self._closed:
            return
        self._closed = True
        self.capture.stop(timeout=0)  # timeout 0: signal now, wait below with the others
        self.compositor.request_stop()
        for worker in self._workers():
            worker.stop(timeout=0)
        deadline = time.monotonic() + timeout_s
        threads = [self.capture, self.compositor.thread, *self._workers()]
        for thread in threads:
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
        busy = [thread.name for thread in threads if thread.is_alive()]
        if busy:
            self.log(f"closing: {', '.join(busy)} still busy after {timeout_s:g} s; it ends on its own")
        self._close_palm_tracker()

    def _close_palm_tracker(self) -> None:
        tracker, self.palm_tracker = self.palm_tracker, None
        if tracker is None:
            return
        worker = self.palm_worker
        if worker is None or not worker.is_alive():
            tracker.close()
            return

        def close_when_done():
            worker.join()
            tracker.close()

        threading.Thread(target=close_when_done, name="palm-tracker-close", daemon=True).start()

    @property
    def finished(self) -> bool:
        """The source ran out (--once) and every pending action is done."""
        return self.capture.finished and not self.presses.busy

    # --- presses ---------------------------------------------------------------------------------------------
    def schedule_press(self, name: str, at_seconds: float) -> None:
        """Presses name at_seconds after start() (for scripted runs)."""
        self.presses.schedule(name, at_seconds)

    def press(self, name: str) -> str:
        """A press from mouse, keyboard, palm or script. Returns what happened, for logs and tests."""
        return self.presses.press(name, self.clock())

    @property
    def quit_requested(self) -> bool:
        return self.presses.quit_requested

    @property
    def scheduler(self):
        """The countdowns (read-only use: is_active, is_waiting, remaining)."""
        return self.presses.scheduler

    def set_plate(self, plate: np.ndarray) -> None:
        """Uses plate from now on, as Bkg would (without saving it)."""
        self.plates.set(plate)

    def set_view(self, view: View) -> None:
        if view is View.REPLACE and self.options.replacement is None:
            self.show_message("Replace view needs an image: start with --replace IMG")
            return
        self.view = view

    # --- words -----------------------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """A message on screen for a few seconds."""
        self.notices.show(text)

    def set_notice(self, key: str, text: Optional[str], on_screen: bool = False) -> None:
        """Sets (or with None clears) a standing notice; it shows in the status bar until cleared, and over the
        video too when on_screen. Safe from any thread."""
        self.notices.set(key, text, on_screen)

    @property
    def message(self) -> Optional[str]:
        """The on-screen message showing now, if any."""
        if self.capture.lost:
            return "camera lost, retrying"
        return self.notices.message()

    def status_text(self) -> str:
        worker = self.segmentation_worker
        parts = [capture_part(self.capture.lost, self.capture.meter.rate()),
                 segmentation_part(self.segmenter is not None, self.segmentation_note,
                                   worker.error if worker else None, self.view, self.latest_segmentation())]
        if self.plates.note:
            parts.append(self.plates.note)
        parts += [storage_part(self.storage), f"saved this run: {len(self.captures.saved_paths)}",
                  f"view: {self.view.title}"]
        parts += palm_parts(getattr(self.palm_tracker, "name", None), self.palm_note,
                            self.palm_worker.error if self.palm_worker else None)
        parts += self.notices.standing()
        return SEPARATOR.join(parts)

    def startup_note(self) -> str:
        """One line for the status bar at start: which set Sav adds to."""
        return startup_note(self.storage)

    # --- views and sinks -------------------------------------------------------------------------------------
    def add_view_sink(self, sink: Sink) -> None:
        """sink(view_bgr, timestamp_s) receives every composited view the user sees (mirrored if the display
        is), without buttons or palm markers, at the source's rate, on a thread of its own (never the UI's).
        The image is read-only; timestamp_s is when the frame was captured (time.monotonic())."""
        self.compositor.add_sink(sink)

    def add_raw_sink(self, sink: Sink) -> None:
        """Like add_view_sink, with the raw camera frames (never mirrored)."""
        self.compositor.add_sink(sink, raw=True)

    def remove_sink(self, sink: Sink) -> None:
        self.compositor.remove_sink(sink)

    def add_segmentation_listener(self, listener: Listener) -> None:
        """listener(frame_bgr, plate_bgr or None, result) runs on the segmentation worker after each frame the
        model ran on (result.mode says which model; "plate" means plate_bgr was used). Keep it quick: it delays
        the next mask. Without an engine it is never called."""
        if self._segmentation_step is not None:
            self._segmentation_step.listeners.append(listener)

    def latest_segmentation(self) -> Optional[SegmentationResult]:
        if self.segmentation_worker is None:
            return None
        _, item = self.segmentation_worker.results.get()
        return None if item is None else item[1]

    def _latest_mask(self) -> Tuple[int, Optional[np.ndarray]]:
        if self.segmentation_worker is None:
            return 0, None
        seq, item = self.segmentation_worker.results.get()
        return seq, None if item is None else item[1].mask

    # --- the loop --------------------------------------------------------------------------------------------
    def step(self) -> Optional[np.ndarray]:
        """One UI tick: handles presses and due countdowns, returns the frame to show (None before the first)."""
        now = self.clock()
        self.presses.advance(now, now - self.started_at)
        frame_seq, frame = self.capture.frames.get()
        if frame is None:
            return None
        for name in self.presses.take_due():
            self.captures.perform(name, frame)
        display = self.compositor.view_of(frame_seq, frame)
        height, width = display.shape[:2]
        if self._layout is None or (self._layout.width, self._layout.height) != (width, height):
            self._layout = ButtonLayout.for_frame(width, height)
        if self.palms is not None:
            for name in self.palms.update(now, width):
                self.log(f"palm pressed {name}")
                self.press(name)
        return draw_overlay(display, self._layout, self._overlay_state(now))

    @property
    def layout(self) -> Optional[ButtonLayout]:
        return self._layout

    def _hit_test(self, x: float, y: float, margin: float = 0.0) -> Optional[str]:
        return None if self._layout is None else self._layout.hit_test(x, y, margin)

    def _overlay_state(self, now: float) -> OverlayState:
        state = OverlayState(message=self.message, notices=self.notices.standing(on_screen_only=True))
        self.presses.describe(state, now)
        if self.palms is not None:
            state.palms = list(self.palms.points)
            state.dwell_progress = self.palms.progress()
        return state
