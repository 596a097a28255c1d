"""On-screen button layout in displayed-frame pixel coordinates, and hit-testing."""
from dataclasses import dataclass
from typing import List, Optional, Tuple

# The one list of buttons. Top-to-bottom along the right edge, so a raised hand reaches them and they hide
# little of the centre.
BUTTON_SPECS = (("ext", "Ext"), ("bkg", "Bkg"), ("sav", "Sav"))
BUTTON_NAMES = tuple(name for name, _ in BUTTON_SPECS)
BUTTON_LABELS = dict(BUTTON_SPECS)
# Keyboard shortcuts as Qt key-sequence names (QKeySequence("Esc")), each pressing the button it names.
BUTTON_KEYS = (("B", "bkg"), ("S", "sav"), ("Q", "ext"), ("Esc", "ext"))

# Sizes as fractions of the frame's shorter side, so the layout scales with the frame.
SIDE_FRACTION = 0.16
MARGIN_FRACTION = 0.03
GAP_FRACTION = 0.03


@dataclass(frozen=True)
class Button:
    name: str  # "ext" | "bkg" | "sav"
    label: str  # "Ext" | "Bkg" | "Sav"
    rect: Tuple[float, float, float, float]  # (x, y, w, h)

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        left, top, width, height = self.rect
        return (left - margin <= x <= left + width + margin
                and top - margin <= y <= top + height + margin)

    @property
    def centre(self) -> Tuple[float, float]:
        left, top, width, height = self.rect
        return left + width / 2.0, top + height / 2.0


class ButtonLayout:
    def __init__(self, buttons: List[Button], width: int, height: int):
        self.buttons = list(buttons)
        self.width = width
        self.height = height

    @classmethod
    def for_frame(cls, width: int, height: int) -> "ButtonLayout":
        if width <= 0 or height <= 0:
            raise ValueError(f"frame size must be positive, got {width}x{height}")
        short_side = min(width, height)
        side = SIDE_FRACTION * short_side
        margin = MARGIN_FRACTION * short_side
        gap = GAP_FRACTION * short_side
        left = width - margin - side
        buttons = [
            Button(name, label, (float(left), float(margin + i * (side + gap)), float(side), float(side)))
            for i, (name, label) in enumerate(BUTTON_SPECS)
        ]
        return cls(buttons, width, height)

    def hit_test(self, x: float, y: float, margin: float = 0.0) -> Optional[str]:
        """Name of the button under (x, y), or None. With margin > 0 each rect grows by margin on every side;
        where grown rects overlap, the button whose centre is nearest wins."""
        hits = [b for b in self.buttons if b.contains(x, y, margin)]
        if not hits:
            return None
        return min(hits, key=lambda b: (b.centre[0] - x) ** 2 + (b.centre[1] - y) ** 2).name

    def button(self, name: str) -> Button:
        for candidate in self.buttons:
            if candidate.name == name:
                return candidate
        raise KeyError(f"no button named {name!r}; buttons are {', '.join(BUTTON_NAMES)}")
