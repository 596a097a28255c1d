"""Countdown state machine for the Bkg/Sav buttons; time comes in as arguments, so tests drive it with a fake clock.

Rules:
- A press starts that button's countdown; pressing it again while it runs (or waits) cancels it.
- When a countdown reaches zero its action is due once.
- A Sav that finishes while a Bkg countdown is still running waits for that Bkg, because the user asked for the
  frame to go into the set Bkg is about to create. It fires in the same due() call as the Bkg, after it.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional

ACTION_ORDER = ("bkg", "sav")  # when both are due together, the set must exist before the frame is saved
WAITS_FOR = {"sav": "bkg"}


@dataclass
class _Running:
    started_at: float
    duration: float


class CountdownScheduler:
    def __init__(self, durations: Dict[str, float]):
        for name, seconds in durations.items():
            if seconds < 0:
                raise ValueError(f"countdown for {name!r} must be >= 0 seconds, got {seconds}")
        self.durations = dict(durations)
        self._running: Dict[str, _Running] = {}

    def press(self, name: str, now: float) -> str:
        """Starts or cancels the countdown for name; returns "started" or "cancelled"."""
        if name not in self.durations:
            raise KeyError(f"no countdown for {name!r}; known: {', '.join(self.durations)}")
        if name in self._running:
            del self._running[name]
            return "cancelled"
        self._running[name] = _Running(now, float(self.durations[name]))
        return "started"

    def is_active(self, name: str) -> bool:
        """Counting down, or finished and waiting for another action."""
        return name in self._running

    def remaining(self, name: str, now: float) -> Optional[float]:
        running = self._running.get(name)
        if running is None:
            return None
        return max(0.0, running.started_at + running.duration - now)

    def progress(self, name: str, now: float) -> Optional[float]:
        """0 at the press, 1 when the countdown is over; None when not active."""
        running = self._running.get(name)
        if running is None:
            return None
        if running.duration == 0:
            return 1.0
        return min(1.0, max(0.0, (now - running.started_at) / running.duration))

    def is_waiting(self, name: str, now: float) -> bool:
        """Finished, but held back because the action it waits for is still counting down."""
        blocker = WAITS_FOR.get(name)
        return (self.remaining(name, now) == 0.0 and blocker is not None
                and self.is_active(blocker) and self.remaining(blocker, now) > 0.0)

    def due(self, now: float) -> List[str]:
        """Actions to perform now, in order; each is returned once and then leaves the scheduler."""
        fired: List[str] = []
        for name in ACTION_ORDER:
            if name not in self._running or self.remaining(name, now) > 0.0:
                continue
            if self.is_waiting(name, now):
                continue
            del self._running[name]
            fired.append(name)
        return fired
