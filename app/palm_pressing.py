"""Pressing buttons with palms: the palm worker's newest points -> display coordinates -> dwell presses."""
from typing import Dict, List, Tuple

from app.workers import LatestSlot

STALE_PALMS_S = 1.0  # palm points older than this no longer press anything


class PalmPressing:
    """results: the palm worker's LatestSlot of (frame seq, [PalmPoint in raw frame pixels]).
    dwell: a DwellPresser (or anything with update(points, now) -> names and progress()).
    mirror: the display is flipped, so points are flipped into display coordinates too."""

    def __init__(self, results: LatestSlot, dwell, mirror: bool, stale_s: float = STALE_PALMS_S):
        self.results = results
        self.dwell = dwell
        self.mirror = mirror
        self.stale_s = stale_s
        self.points: List[Tuple[float, float]] = []  # in display coordinates, as of the last update
        self._seen_seq = 0
        self._seen_at = 0.0

    def update(self, now: float, display_width: int) -> List[str]:
        """Names of the buttons pressed now."""
        seq, item = self.results.get()
        if seq != self._seen_seq:
            self._seen_seq, self._seen_at = seq, now
        points = []
        # Points press only while fresh: a stalled tracker must not keep a stale palm on a button.
        if item is not None and now - self._seen_at <= self.stale_s:
            points = [((display_width - 1 - p.x) if self.mirror else p.x, p.y) for p in item[1]]
        self.points = points
        return self.dwell.update(points, now) if self.dwell is not None else []

    def progress(self) -> Dict[str, float]:
        """Button -> dwell progress 0..1, for the fill on the buttons."""
        return dict(self.dwell.progress()) if self.dwell is not None else {}
