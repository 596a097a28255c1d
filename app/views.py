"""Segmentation views: how a person mask is shown over the frame. Pure numpy/cv2."""
import functools
from enum import Enum
from typing import Optional

import cv2
import numpy as np

TINT_BGR = (60, 200, 60)
TINT_STRENGTH = 0.45
FLAT_BGR = (80, 180, 0)  # chroma-green behind a cut-out


class View(Enum):
    TINT = ("tint", "Tint", "1", "mask tint over the frame")
    CUTOUT = ("cutout", "Cut-out", "2", "person on a flat colour")
    BLUR = ("blur", "Blur", "3", "background blurred")
    REPLACE = ("replace", "Replace", "4", "background replaced by the --replace image")
    RAW = ("raw", "Raw", "5", "the camera frame, no segmentation")

    def __init__(self, key, title, shortcut, description):
        self.key = key
        self.title = title
        self.shortcut = shortcut
        self.description = description

    @classmethod
    def from_key(cls, key: str) -> "View":
        for view in cls:
            if view.key == key:
                return view
        raise ValueError(f"unknown view {key!r}; choose one of {', '.join(v.key for v in cls)}")


def fit_to_frame(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scales and centre-crops image to exactly width x height, keeping its aspect ratio (no bars)."""
    src_h, src_w = image.shape[:2]
    scale = max(width / src_w, height / src_h)
    new_w, new_h = max(width, round(src_w * scale)), max(height, round(src_h * scale))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    left, top = (new_w - width) // 2, (new_h - height) // 2
    return resized[top:top + height, left:left + width]


@functools.lru_cache(maxsize=4)
def _flat(shape: tuple, colour: tuple) -> np.ndarray:
    """A solid image, made once per size rather than filled again for every frame. Read-only."""
    flat = np.empty(shape, np.uint8)
    flat[:] = colour
    flat.flags.writeable = False
    return flat


def _alpha(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    mask = mask.astype(np.float32, copy=False)
    if mask.shape[:2] == (height, width):
        return np.clip(mask, 0.0, 1.0)
    # A resized mask is our own buffer: clamp it in place rather than allocate another full-size array.
    alpha = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    cv2.threshold(alpha, 1.0, 1.0, cv2.THRESH_TRUNC, dst=alpha)
    cv2.threshold(alpha, 0.0, 0.0, cv2.THRESH_TOZERO, dst=alpha)
    return alpha


def _blend(person: np.ndarray, background: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    # One C++ pass, without the float temporaries of the same formula in numpy.
    return cv2.blendLinear(person, background, alpha, 1.0 - alpha)


def blur_kernel(width: int, height: int) -> int:
    """Odd Gaussian kernel size that blurs about the same at any resolution."""
    size = max(3, int(min(width, height) * 0.08))
    return size | 1


def blur_background(frame: np.ndarray) -> np.ndarray:
    """A strong blur, computed at quarter size: 16 times fewer pixels, and a kernel a quarter as wide."""
    height, width = frame.shape[:2]
    factor = 4 if min(width, height) >= 120 else 1
    small = cv2.resize(frame, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
    k = max(3, blur_kernel(width, height) // factor) | 1
    return cv2.resize(cv2.GaussianBlur(small, (k, k), 0), (width, height), interpolation=cv2.INTER_LINEAR)


def compose(view: View, frame: np.ndarray, mask: Optional[np.ndarray],
            replacement: Optional[np.ndarray] = None) -> np.ndarray:
    """The frame as shown in view. mask is float HxW in [0,1] (1 = person), any size; with no mask, or the
    replace view without a replacement image, the raw frame comes back."""
    if view is View.RAW or mask is None:
        return frame
    height, width = frame.shape[:2]
    alpha = _alpha(mask, height, width)
    if view is View.TINT:
        tinted = cv2.addWeighted(frame, 1 - TINT_STRENGTH, _flat(frame.shape, TINT_BGR), TINT_STRENGTH, 0)
        return _blend(tinted, frame, alpha)
    if view is View.CUTOUT:
        return _blend(frame, _flat(frame.shape, FLAT_BGR), alpha)
    if view is View.BLUR:
        return _blend(frame, blur_background(frame), alpha)
    if view is View.REPLACE:
        if replacement is None:
            return frame
        if replacement.shape[:2] != (height, width):
            replacement = fit_to_frame(replacement, width, height)
        return _blend(frame, replacement, alpha)
    raise ValueError(f"unhandled view {view}")
