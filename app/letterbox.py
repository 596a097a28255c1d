"""Fitting the frame into the window at its native aspect ratio, and mapping clicks back to frame pixels."""
from typing import Optional, Tuple


def fit_rect(frame_w: int, frame_h: int, area_w: int, area_h: int) -> Tuple[float, float, float, float]:
    """(x, y, w, h) of the largest frame_w:frame_h rectangle centred in the area."""
    scale = min(area_w / frame_w, area_h / frame_h)
    width, height = frame_w * scale, frame_h * scale
    return (area_w - width) / 2.0, (area_h - height) / 2.0, width, height


def widget_to_frame(px: float, py: float, rect: Tuple[float, float, float, float],
                    frame_w: int, frame_h: int) -> Optional[Tuple[float, float]]:
    """Frame pixel coordinates of a widget point, or None when it falls on the bars around the frame."""
    x, y, width, height = rect
    if width <= 0 or height <= 0 or not (x <= px < x + width and y <= py < y + height):
        return None
    return (px - x) * frame_w / width, (py - y) * frame_h / height
