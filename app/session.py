"""The live loop without any GUI: presses, countdowns, storage, segmentation and palm results -> a frame to show.

The Qt window and the headless runner both call step() on a timer; all timing comes from an injectable clock.
"""
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import cv2
import numpy as np

from app.buttons import ButtonLayout
from app.capture_storage import CaptureStorage, StorageError
from app.countdown import CountdownScheduler
from app.overlay import OverlayState, draw_overlay
from app.views import View, compose, fit_to_frame
from app.workers import CaptureThread, ModelWorker

MESSAGE_SECONDS = 3.0
STALE_PALMS_S = 1.0  # palm points older than this no longer press anything
BUTTON_LABELS = {"ext": "Ext", "bkg": "Bkg", "sav": "Sav"}


@dataclass
class SessionOptions:
    bkg_seconds: float = 5.0
    sav_seconds: float = 2.0
    mirror: bool = False
    view: View = View.TINT
    replacement: Optional[np.ndarray] = None  # BGR image for the replace view


@dataclass
class SegmentationResult:
    mask: Optional[np.ndarray]
    mode: str  # "plate" | "single" | "" (nothing run)
    latency_ms: float
    note: str = ""  # why nothing ran


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
        self.scheduler = CountdownScheduler({"bkg": options.bkg_seconds, "sav": options.sav_seconds})
        self.quit_requested = False
        self.started_at = clock()
        self._scripted: List[Tuple[float, str]] = []
        self._pending_actions: List[str] = []
        self._message: Optional[Tuple[str, float]] = None
        self._layout: Optional[ButtonLayout] = None
        self._replacement_fitted: Optional[np.ndarray] = None
        self.last_raw_frame: Optional[np.ndarray] = None
        self.last_display: Optional[np.ndarray] = None
        self._composed: Optional[np.ndarray] = None
        self._composed_key = None
        self.saved_paths: List[str] = []

        self.segmenter = segmenter
        self.segmentation_note = segmentation_note
        self._plate: Optional[np.ndarray] = None
        self._plate_note = ""
        self.segmentation_worker: Optional[ModelWorker] = None
        if segmenter is not None:
            self.segmentation_worker = ModelWorker("segmentation", capture.frames, self._segment)
            self._load_current_plate()

        self.palm_tracker = palm_tracker
        self.palm_note = palm_note
        # The presser hit-tests against whatever layout the current frame size gives.
        self.dwell = make_dwell(self._hit_test) if make_dwell is not None else None
        self.palm_worker: Optional[ModelWorker] = None
        self._palms_display: List[Tuple[float, float]] = []
        self._palm_seen_seq = 0
        self._palm_seen_at = 0.0
        if palm_tracker is not None:
            self.palm_worker = ModelWorker("palms", capture.frames, palm_tracker.update)

    # --- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.started_at = self.clock()
        if not self.capture.is_alive():
            self.capture.start()
        for worker in (self.segmentation_worker, self.palm_worker):
            if worker is not None:
                worker.start()

    def close(self) -> None:
        """Stops every thread and releases the camera; safe to call twice."""
        for worker in (self.segmentation_worker, self.palm_worker):
            if worker is not None:
                worker.stop()
        self.capture.stop()
        if self.palm_tracker is not None:
            self.palm_tracker.close()
            self.palm_tracker = None

    @property
    def finished(self) -> bool:
        """The source ran out (--once) and every pending action is done."""
        return self.capture.finished and not self._pending_actions and not self._any_countdown()

    # --- presses ---------------------------------------------------------------------------------------------
    def schedule_press(self, name: str, at_seconds: float) -> None:
        """Presses name at_seconds after start() (for scripted runs)."""
        self._scripted.append((at_seconds, name))
        self._scripted.sort()

    def press(self, name: str) -> str:
        """A press from mouse, keyboard, palm or script. Returns what happened, for logs and tests."""
        now = self.clock()
        if name == "ext":
            self.quit_requested = True
            return "quit"
        if name == "sav" and not self.scheduler.is_active("sav") and self.storage.current_set is None \
                and not self.scheduler.is_active("bkg") and "bkg" not in self._pending_actions:
            self.show_message("No set yet: press Bkg first to capture the background plate")
            return "refused"
        outcome = self.scheduler.press(name, now)
        if outcome == "cancelled":
            self.show_message(f"{BUTTON_LABELS[name]} cancelled")
        return outcome

    def show_message(self, text: str) -> None:
        self._message = (text, self.clock() + MESSAGE_SECONDS)
        self.log(text)

    @property
    def message(self) -> Optional[str]:
        """The on-screen message showing now, if any."""
        if self.capture.lost:
            return "camera lost, retrying"
        if self._message is not None and self.clock() < self._message[1]:
            return self._message[0]
        return None

    def set_view(self, view: View) -> None:
        if view is View.REPLACE and self.options.replacement is None:
            self.show_message("Replace view needs an image: start with --replace IMG")
            return
        self.view = view

    # --- the loop --------------------------------------------------------------------------------------------
    def step(self) -> Optional[np.ndarray]:
        """One UI tick: handles presses and due countdowns, returns the frame to show (None before the first)."""
        now = self.clock()
        while self._scripted and self._scripted[0][0] <= now - self.started_at:
            self.press(self._scripted.pop(0)[1])
        self._pending_actions.extend(self.scheduler.due(now))

        frame_seq, frame = self.capture.frames.get()
        if frame is None:
            return None
        self.last_raw_frame = frame
        while self._pending_actions:
            self._perform(self._pending_actions.pop(0), frame)

        # The UI ticks faster than most cameras: composite a frame/mask pair only once.
        mask_seq = self.segmentation_worker.results.get()[0] if self.segmentation_worker is not None else 0
        key = (frame_seq, mask_seq, self.view, id(frame))
        if key != self._composed_key:
            display = compose(self.view, frame, self._current_mask(frame), self._replacement_for(frame))
            if self.options.mirror:
                display = display[:, ::-1]
            self._composed, self._composed_key = display, key
        display = self._composed
        height, width = display.shape[:2]
        if self._layout is None or (self._layout.width, self._layout.height) != (width, height):
            self._layout = ButtonLayout.for_frame(width, height)
        self._update_palms(now, width)
        self.last_display = draw_overlay(display, self._layout, self._overlay_state(now))
        return self.last_display

    def _hit_test(self, x: float, y: float, margin: float = 0.0) -> Optional[str]:
        return None if self._layout is None else self._layout.hit_test(x, y, margin)

    @property
    def layout(self) -> Optional[ButtonLayout]:
        return self._layout

    def _perform(self, name: str, frame: np.ndarray) -> None:
        raw = frame.copy()
        try:
            if name == "bkg":
                path = self.storage.create_set(raw)
                self._set_plate(raw)
                self.show_message(f"Saved background plate {path}")
            elif name == "sav":
                path = self.storage.save_frame(raw)
                self.show_message(f"Saved {path}")
            else:
                return
        except StorageError as exc:
            self.show_message(str(exc))
            return
        self.saved_paths.append(str(path))

    # --- segmentation ----------------------------------------------------------------------------------------
    def _load_current_plate(self) -> None:
        plate_path = self.storage.current_plate_path
        if plate_path is None:
            return
        plate = cv2.imread(str(plate_path), cv2.IMREAD_COLOR)
        if plate is None:
            self._plate_note = f"cannot read plate {plate_path}; press Bkg for a new one"
            return
        self._set_plate(plate)

    def _set_plate(self, plate: np.ndarray) -> None:
        self._plate = plate
        self._plate_note = ""

    def _segment(self, frame: np.ndarray) -> SegmentationResult:
        """Runs on the segmentation worker thread."""
        if self.view is View.RAW:
            return SegmentationResult(None, "", 0.0)  # nothing to show it on: save the CPU
        seg = self.segmenter
        plate = self._plate
        if plate is not None and plate.shape != frame.shape:
            self._plate_note = (f"plate is {plate.shape[1]}x{plate.shape[0]} but the camera gives "
                                f"{frame.shape[1]}x{frame.shape[0]}; press Bkg for a new plate")
            plate = None
        if plate is not None and seg.has_plate_model:
            mask = seg.segment(frame, plate_bgr=plate)
            mode = "plate"
        elif seg.has_single_model:
            mask = seg.segment(frame)
            mode = "single"
        else:
            return SegmentationResult(None, "", 0.0, "the plate model waits for a plate: press Bkg")
        return SegmentationResult(mask, mode, float(seg.last_latency_ms))

    def _latest_segmentation(self) -> Optional[SegmentationResult]:
        if self.segmentation_worker is None:
            return None
        _, item = self.segmentation_worker.results.get()
        return None if item is None else item[1]

    def _current_mask(self, frame: np.ndarray) -> Optional[np.ndarray]:
        if self.view is View.RAW:
            return None
        result = self._latest_segmentation()
        return None if result is None else result.mask

    def _replacement_for(self, frame: np.ndarray) -> Optional[np.ndarray]:
        if self.options.replacement is None or self.view is not View.REPLACE:
            return None
        height, width = frame.shape[:2]
        if self._replacement_fitted is None or self._replacement_fitted.shape[:2] != (height, width):
            self._replacement_fitted = fit_to_frame(self.options.replacement, width, height)
        return self._replacement_fitted

    # --- palms -----------------------------------------------------------------------------------------------
    def _update_palms(self, now: float, width: int) -> None:
        if self.palm_worker is None:
            return
        seq, item = self.palm_worker.results.get()
        if seq != self._palm_seen_seq:
            self._palm_seen_seq, self._palm_seen_at = seq, now
        points = []
        # Points press only while fresh: a stalled tracker must not keep a stale palm on a button.
        if item is not None and now - self._palm_seen_at <= STALE_PALMS_S:
            points = [((width - 1 - p.x) if self.options.mirror else p.x, p.y) for p in item[1]]
        self._palms_display = points
        if self.dwell is not None:
            for name in self.dwell.update(points, now):
                self.log(f"palm pressed {name}")
                self.press(name)

    # --- overlay and status ----------------------------------------------------------------------------------
    def _any_countdown(self) -> bool:
        return self.scheduler.is_active("bkg") or self.scheduler.is_active("sav")

    def _overlay_state(self, now: float) -> OverlayState:
        state = OverlayState(palms=list(self._palms_display))
        for name in ("bkg", "sav"):
            progress = self.scheduler.progress(name, now)
            if progress is not None:
                state.countdown_progress[name] = progress
        counting = [(self.scheduler.remaining(n, now), n) for n in ("bkg", "sav")
                    if self.scheduler.is_active(n) and not self.scheduler.is_waiting(n, now)]
        if counting:
            seconds, name = min(counting)
            state.countdown_seconds = (BUTTON_LABELS[name], seconds)
        if self.scheduler.is_waiting("sav", now):
            state.waiting_text = "Sav waits for Bkg to finish"
        if self.dwell is not None:
            state.dwell_progress = dict(self.dwell.progress())
        state.message = self.message
        return state

    def status_text(self) -> str:
        parts = ["camera lost, retrying" if self.capture.lost else f"capture {self.capture.meter.rate():.1f} fps"]
        result = self._latest_segmentation()
        if self.segmenter is None:
            parts.append(f"segmentation off: {self.segmentation_note}")
        elif self.segmentation_worker.error:
            parts.append(f"segmentation stopped: {self.segmentation_worker.error}")
        elif self.view is View.RAW:
            parts.append("segmentation idle (raw view)")
        elif result is not None and result.mode:
            parts.append(f"model {result.latency_ms:.0f} ms ({result.mode})")
        elif result is not None and result.note:
            parts.append(result.note)
        else:
            parts.append("model starting")
        if self._plate_note:
            parts.append(self._plate_note)
        if self.storage.current_set is None:
            parts.append("no set yet (press Bkg)")
        else:
            parts.append(f"set{self.storage.current_set}: {self.storage.frame_count()} frames")
        parts.append(f"saved this run: {len(self.saved_paths)}")
        parts.append(f"view: {self.view.title}")
        if self.palm_tracker is not None or self.palm_note:
            # The tracker's own reason names it ("palms: PoseNet (file)"); fall back to its name.
            parts.append(self.palm_note or f"palms: {getattr(self.palm_tracker, 'name', 'on')}")
            if self.palm_worker is not None and self.palm_worker.error:
                parts.append(f"palm tracking stopped: {self.palm_worker.error}")
        return " | ".join(parts)

    def startup_note(self) -> str:
        """One line for the status bar at start: which set Sav adds to."""
        if self.storage.current_set is None:
            return f"captures go to {self.storage.root}; no set yet, press Bkg to start set1"
        return (f"current set: set{self.storage.current_set} (newest in {self.storage.root}; Sav adds to it, "
                f"Bkg starts set{self.storage.next_set_number()})")
