"""What the app tells the user in words: short-lived messages ("Saved set1/0.png") and standing notices that stay
until their owner clears them ("recording to out.mkv"). Thread-safe: notices may come from any thread."""
import threading
from typing import Callable, Dict, List, Optional, Tuple

MESSAGE_SECONDS = 3.0


class Notices:
    def __init__(self, clock: Callable[[], float], log: Callable[[str], None] = lambda text: None,
                 message_seconds: float = MESSAGE_SECONDS):
        self.clock = clock
        self.log = log
        self.message_seconds = message_seconds
        self._lock = threading.Lock()
        self._message: Optional[Tuple[str, float]] = None  # (text, shown until)
        self._standing: Dict[str, Tuple[str, bool]] = {}  # key -> (text, on screen too)

    def show(self, text: str) -> None:
        """A message on screen for a few seconds (and in the log)."""
        with self._lock:
            self._message = (text, self.clock() + self.message_seconds)
        self.log(text)

    def message(self) -> Optional[str]:
        """The message showing now, if any."""
        with self._lock:
            if self._message is not None and self.clock() < self._message[1]:
                return self._message[0]
        return None

    def set(self, key: str, text: Optional[str], on_screen: bool = False) -> None:
        """Sets or (with None) clears the standing notice under key. Every notice shows in the status bar;
        on_screen ones also show over the video, for what the user must act on."""
        with self._lock:
            previous = self._standing.get(key)
            if text is None:
                self._standing.pop(key, None)
            else:
                self._standing[key] = (text, on_screen)
        if text is not None and (previous is None or previous[0] != text):
            self.log(text)

    def standing(self, on_screen_only: bool = False) -> List[str]:
        """Standing notices in the order they were first set."""
        with self._lock:
            return [text for text, on_screen in self._standing.values() if on_screen or not on_screen_only]
