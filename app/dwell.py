"""Pressing on-screen buttons by holding a palm on them (dwell), with hysteresis. Pure: no Qt, no clock."""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

Point = Tuple[float, float]
HitTest = Callable[..., Optional[str]]  # hit_test(x, y, margin=0.0) -> button name or None


def match_nearest(previous: Sequence[Point], current: Sequence[Point],
                  max_distance: float) -> List[Tuple[int, int]]:
    """Greedy nearest-neighbour pairs (i_previous, j_current), closest pairs first, each index used
    once, none farther apart than max_distance."""
    pairs = []
    for i, (px, py) in enumerate(previous):
        for j, (cx, cy) in enumerate(current):
            d2 = (px - cx) ** 2 + (py - cy) ** 2
            if d2 <= max_distance ** 2:
                pairs.append((d2, i, j))
    pairs.sort()
    used_i, used_j, matches = set(), set(), []
    for _, i, j in pairs:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            matches.append((i, j))
    return matches


@dataclass
class _Palm:
    point: Point
    seen_at: float
    button: Optional[str] = None   # button it is dwelling on (or resting on after a press)
    entered_at: float = 0.0
    pressed: bool = False          # pressed `button` already; must leave it before pressing again


class DwellPresser:
    """Feeds on palm points each frame; a palm held inside a button for dwell_s presses it once.

    hit_test(x, y, margin) is ButtonLayout.hit_test. A palm enters a button at margin 0 and stays
    on it while inside the rect grown by hysteresis_px, so jitter at the edge neither restarts nor
    repeats a press. Palms are followed between updates by nearest neighbour (up to max_jump_px);
    one missing for up to lost_grace_s keeps its state, so a tracker's dropped frame cannot re-press."""

    def __init__(self, hit_test: HitTest, dwell_s: float = 0.6, hysteresis_px: float = 12.0,
                 max_jump_px: float = 150.0, lost_grace_s: float = 0.3):
        if dwell_s < 0:
            raise ValueError(f"dwell_s must be >= 0 seconds, got {dwell_s}")
        self.hit_test = hit_test
        self.dwell_s = dwell_s
        self.hysteresis_px = hysteresis_px
        self.max_jump_px = max_jump_px
        self.lost_grace_s = lost_grace_s
        self._palms: List[_Palm] = []
        self._now = 0.0

    def update(self, points: Sequence[Point], now: float) -> List[str]:
        """Names of the buttons pressed by this update (in display coordinates, already mirrored)."""
        self._now = now
        points = [(float(x), float(y)) for x, y in points]
        matches = match_nearest([p.point for p in self._palms], points, self.max_jump_px)
        matched_palms = {i for i, _ in matches}
        matched_points = {j for _, j in matches}
        pressed: List[str] = []
        for i, j in matches:
            palm = self._palms[i]
            palm.point, palm.seen_at = points[j], now
            self._step(palm, now, pressed)
        survivors = [p for i, p in enumerate(self._palms)
                     if i in matched_palms or now - p.seen_at <= self.lost_grace_s]
        for j, point in enumerate(points):
            if j not in matched_points:
                palm = _Palm(point, now)
                self._step(palm, now, pressed)
                survivors.append(palm)
        self._palms = survivors
        # Every palm resting on a button when it fires counts as having pressed it: a second (or duplicated)
        # palm point on the same button must not fire it again a moment later.
        for palm in self._palms:
            if palm.button in pressed:
                palm.pressed = True
        return pressed

    def _step(self, palm: _Palm, now: float, pressed: List[str]) -> None:
        x, y = palm.point
        if palm.button is not None and self.hit_test(x, y, margin=self.hysteresis_px) == palm.button:
            pass  # still on it (inside the grown rect)
        else:
            palm.button = self.hit_test(x, y, margin=0.0)
            palm.entered_at, palm.pressed = now, False
        if palm.button is not None and not palm.pressed and now - palm.entered_at >= self.dwell_s:
            palm.pressed = True
            if palm.button not in pressed:
                pressed.append(palm.button)

    def progress(self) -> Dict[str, float]:
        """Button name -> dwell progress 0..1 of the palm furthest along on it (for the fill animation)."""
        result: Dict[str, float] = {}
        for palm in self._palms:
            if palm.button is None or palm.pressed or self._now - palm.seen_at > 0:
                continue  # pressed already, or not seen in the latest update
            fraction = 1.0 if self.dwell_s == 0 else min(1.0, (self._now - palm.entered_at) / self.dwell_s)
            result[palm.button] = max(result.get(palm.button, 0.0), fraction)
        return result
