"""The status bar's words: each part says one thing (camera, model, set, palms); the session joins them."""
from typing import List, Optional

from app.capture_storage import CaptureStorage
from app.segmentation import SegmentationResult
from app.views import View

SEPARATOR = " | "


def capture_part(lost: bool, fps: float) -> str:
    return "camera lost, retrying" if lost else f"capture {fps:.1f} fps"


def segmentation_part(engine_on: bool, off_reason: str, worker_error: Optional[str], view: View,
                      result: Optional[SegmentationResult]) -> str:
    if not engine_on:
        return f"segmentation off: {off_reason}"
    if worker_error:
        return f"segmentation stopped: {worker_error}"
    if view is View.RAW:
        return "segmentation idle (raw view)"
    if result is not None and result.mode:
        return f"model {result.latency_ms:.0f} ms ({result.mode})"
    if result is not None and result.note:
        return result.note
    return "model starting"


def storage_part(storage: CaptureStorage) -> str:
    if storage.current_set is None:
        return "no set yet (press Bkg)"
    return f"set{storage.current_set}: {storage.frame_count()} frames"


def palm_parts(tracker_name: Optional[str], palm_note: str, worker_error: Optional[str]) -> List[str]:
    """Which palm tracker runs and why (its note names it), or why none does."""
    if tracker_name is None and not palm_note:
        return []
    parts = [palm_note or f"palms: {tracker_name}"]
    if worker_error:
        parts.append(f"palm tracking stopped: {worker_error}")
    return parts


def startup_note(storage: CaptureStorage) -> str:
    """One line for the start: which set Sav adds to."""
    if storage.current_set is None:
        return f"captures go to {storage.root}; no set yet, press Bkg to start set1"
    return (f"current set: set{storage.current_set} (newest in {storage.root}; Sav adds to it, "
            f"Bkg starts set{storage.next_set_number()})")
