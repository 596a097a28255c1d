"""Button presses from any input (mouse, keyboard, palm, script) -> countdowns -> capture actions that are due.

Pure logic on an injected time: the session asks what is due and performs it on the newest frame.
"""
from typing import Callable, List, Tuple

from app.buttons import BUTTON_LABELS
from app.countdown import CountdownScheduler
from app.overlay import OverlayState

NO_SET_MESSAGE = "Bkg comes first: no set yet, press Bkg first to capture the background plate"


class PressController:
    """has_set() says whether a capture set exists (Sav needs one); notify(text) shows a message."""

    def __init__(self, bkg_seconds: float, sav_seconds: float, has_set: Callable[[], bool],
                 notify: Callable[[str], None]):
        self.scheduler = CountdownScheduler({"bkg": bkg_seconds, "sav": sav_seconds})
        self.has_set = has_set
        self.notify = notify
        self.quit_requested = False
        self._scripted: List[Tuple[float, str]] = []
        self._due: List[str] = []

    def schedule(self, name: str, at_seconds: float) -> None:
        """Presses name at_seconds after the start (scripted runs)."""
        self._scripted.append((at_seconds, name))
        self._scripted.sort()

    def press(self, name: str, now: float) -> str:
        """Returns what happened: "quit", "refused", "started" or "cancelled"."""
        if name == "ext":
            self.quit_requested = True
            return "quit"
        if name == "sav" and not self.scheduler.is_active("sav") and not self._bkg_coming() and not self.has_set():
            self.notify(NO_SET_MESSAGE)
            return "refused"
        outcome = self.scheduler.press(name, now)
        if outcome == "cancelled":
            self.notify(f"{BUTTON_LABELS[name]} cancelled")
        return outcome

    def _bkg_coming(self) -> bool:
        return self.scheduler.is_active("bkg") or "bkg" in self._due

    def advance(self, now: float, elapsed: float) -> None:
        """Fires scripted presses whose time (seconds since start) has come, and collects finished countdowns."""
        while self._scripted and self._scripted[0][0] <= elapsed:
            self.press(self._scripted.pop(0)[1], now)
        self._due.extend(self.scheduler.due(now))

    def take_due(self) -> List[str]:
        """Actions to perform now, in order ("bkg" before "sav"); each is handed out once."""
        due, self._due = self._due, []
        return due

    @property
    def busy(self) -> bool:
        """A countdown runs, or an action waits to be performed."""
        return bool(self._due) or any(self.scheduler.is_active(name) for name in ("bkg", "sav"))

    def describe(self, state: OverlayState, now: float) -> None:
        """Fills the countdown parts of the overlay."""
        for name in ("bkg", "sav"):
            progress = self.scheduler.progress(name, now)
            if progress is not None:
                state.countdown_progress[name] = progress
        counting = [(self.scheduler.remaining(name, now), name) for name in ("bkg", "sav")
                    if self.scheduler.is_active(name) and not self.scheduler.is_waiting(name, now)]
        if counting:
            seconds, name = min(counting)
            state.countdown_seconds = (BUTTON_LABELS[name], seconds)
        state.waiting_text = "Sav waits for Bkg to finish" if self.scheduler.is_waiting("sav", now) else None
