"""Draws the buttons, countdown, message and palm markers onto the displayed frame (cv2 only, no Qt)."""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from app.buttons import ButtonLayout

BUTTON_FILL_BGR = (40, 40, 40)
BUTTON_EDGE_BGR = (235, 235, 235)
COUNTDOWN_FILL_BGR = (0, 140, 255)
DWELL_FILL_BGR = (80, 200, 255)
TEXT_BGR = (255, 255, 255)
PALM_BGR = (0, 0, 255)
MESSAGE_BG_BGR = (0, 0, 160)
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass
class OverlayState:
    countdown_progress: Dict[str, float] = field(default_factory=dict)  # button -> 0..1, while counting down
    countdown_seconds: Optional[Tuple[str, float]] = None  # (button label, seconds left) shown big in the middle
    dwell_progress: Dict[str, float] = field(default_factory=dict)  # button -> 0..1, palm hovering
    palms: List[Tuple[float, float]] = field(default_factory=list)  # display coordinates
    message: Optional[str] = None
    waiting_text: Optional[str] = None  # e.g. "Sav waits for Bkg"
    notices: List[str] = field(default_factory=list)  # standing notices the user must act on


def _blend_rect(image, x0, y0, x1, y1, colour, opacity):
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(image.shape[1], x1), min(image.shape[0], y1)
    if x1 <= x0 or y1 <= y0:
        return
    roi = image[y0:y1, x0:x1]
    roi[:] = (roi.astype(np.float32) * (1 - opacity) + np.array(colour, np.float32) * opacity).astype(np.uint8)


def _centred_text(image, text, cx, cy, scale, thickness, colour=TEXT_BGR):
    (tw, th), _ = cv2.getTextSize(text, FONT, scale, thickness)
    origin = (int(cx - tw / 2), int(cy + th / 2))
    cv2.putText(image, text, origin, FONT, scale, (0, 0, 0), thickness + max(2, thickness), cv2.LINE_AA)
    cv2.putText(image, text, origin, FONT, scale, colour, thickness, cv2.LINE_AA)


def draw_overlay(display_bgr: np.ndarray, layout: ButtonLayout, state: OverlayState) -> np.ndarray:
    """Returns a copy of display_bgr with the overlay drawn on it."""
    out = display_bgr.copy()
    short_side = min(out.shape[:2])
    for button in layout.buttons:
        x, y, w, h = button.rect
        x0, y0, x1, y1 = int(x), int(y), int(x + w), int(y + h)
        _blend_rect(out, x0, y0, x1, y1, BUTTON_FILL_BGR, 0.55)
        # Countdown fills from the bottom; palm dwell fills from the left, so both can show at once.
        countdown = state.countdown_progress.get(button.name)
        if countdown is not None:
            top = int(y1 - (y1 - y0) * countdown)
            _blend_rect(out, x0, top, x1, y1, COUNTDOWN_FILL_BGR, 0.7)
        dwell = state.dwell_progress.get(button.name, 0.0)
        if dwell > 0:
            _blend_rect(out, x0, y0, int(x0 + (x1 - x0) * min(1.0, dwell)), y0 + max(4, (y1 - y0) // 8),
                        DWELL_FILL_BGR, 0.9)
        edge = COUNTDOWN_FILL_BGR if countdown is not None else BUTTON_EDGE_BGR
        cv2.rectangle(out, (x0, y0), (x1, y1), edge, max(1, short_side // 160), cv2.LINE_AA)
        _centred_text(out, button.label, (x0 + x1) / 2, (y0 + y1) / 2, short_side / 500, max(1, short_side // 240))

    if state.countdown_seconds is not None:
        label, seconds = state.countdown_seconds
        cx, cy = out.shape[1] * 0.42, out.shape[0] / 2
        _centred_text(out, str(math.ceil(seconds)) if seconds > 0 else "0", cx, cy,
                      short_side / 80, max(2, short_side // 50), COUNTDOWN_FILL_BGR)
        _centred_text(out, label, cx, cy + short_side * 0.2, short_side / 320, max(1, short_side // 200))

    banner_lines = [t for t in (state.waiting_text, state.message, *state.notices) if t]
    line_height = int(short_side * 0.075)
    for i, text in enumerate(banner_lines):
        y1 = out.shape[0] - i * line_height
        _blend_rect(out, 0, y1 - line_height, out.shape[1], y1, MESSAGE_BG_BGR, 0.7)
        _fit_text(out, text, out.shape[1] / 2, y1 - line_height / 2, short_side)

    radius = max(4, int(short_side * 0.03))
    for px, py in state.palms:
        cv2.circle(out, (int(round(px)), int(round(py))), radius, PALM_BGR, max(2, radius // 3), cv2.LINE_AA)
    return out


def _fit_text(image, text, cx, cy, short_side):
    """Centred text shrunk until it fits the frame width."""
    scale = short_side / 600
    thickness = max(1, short_side // 300)
    while scale > 0.2 and cv2.getTextSize(text, FONT, scale, thickness)[0][0] > image.shape[1] * 0.96:
        scale *= 0.9
    _centred_text(image, text, cx, cy, scale, thickness)
