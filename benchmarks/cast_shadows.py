"""Held-out frames with the person's own shadow on the wall behind them: does a model call a shadow a person?

A lamp beside the camera throws the person's silhouette onto the wall behind them, shifted sideways, a little
larger and soft-edged. `shadowed_frame` darkens a real frame there, outside the person, by `darkness`; the truth
mask is unchanged, because a shadow is background. Every pixel of the shadow a model marks is a false positive and
lowers that frame's IoU.

This geometry is deliberately independent of the trainer's shadows (training/augment.py), so the benchmark never
scores a model on the exact shadows it was trained on. Seeded: the same frame and seed give the same shadow.
"""
from typing import Tuple

import cv2
import numpy as np

DARKNESS_LEVELS: Tuple[float, ...] = (0.3, 0.5)  # share of the light the shadow takes away
SHIFT_RANGE = (0.25, 0.6)  # sideways offset, in person widths
GROWTH_RANGE = (1.0, 1.2)  # a wall further away than the person throws a larger shadow
SOFTNESS_RANGE = (0.004, 0.012)  # blur sigma, as a share of the frame width (a lamp, not the sun)


def wall_shadow(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shadow coverage in 0..1: the silhouette scaled about its bottom centre, shifted sideways, blurred."""
    height, width = truth.shape
    ys, xs = np.nonzero(truth)
    if len(xs) == 0:
        return np.zeros(truth.shape, np.float32)
    person_w = max(int(xs.max() - xs.min()), 8)
    growth = rng.uniform(*GROWTH_RANGE)
    shift = rng.uniform(*SHIFT_RANGE) * person_w * rng.choice((-1.0, 1.0))
    anchor_x, anchor_y = (xs.min() + xs.max()) / 2.0, float(ys.max())
    matrix = np.array([[growth, 0.0, anchor_x * (1 - growth) + shift],
                       [0.0, growth, anchor_y * (1 - growth) - rng.uniform(0.0, 0.05) * height]])
    cast = cv2.warpAffine(truth.astype(np.float32), matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
    return cv2.GaussianBlur(cast, (0, 0), rng.uniform(*SOFTNESS_RANGE) * width)


def visible_shadow(truth: np.ndarray, seed: int) -> np.ndarray:
    """The coverage shadowed_frame darkens with this seed: the wall shadow where the person does not hide it."""
    truth = np.asarray(truth, bool)
    coverage = wall_shadow(truth, np.random.default_rng(seed))
    coverage[truth] = 0.0  # the person stands in front of their shadow
    return coverage


def shadowed_frame(frame_bgr: np.ndarray, truth: np.ndarray, darkness: float, seed: int) -> np.ndarray:
    """The frame with the person's wall shadow darkening it by `darkness` (0..1) outside the person (uint8 BGR)."""
    if not 0.0 < darkness < 1.0:
        raise ValueError(f"darkness must be in (0, 1), got {darkness}")
    coverage = visible_shadow(truth, seed)
    factor = 1.0 - darkness * coverage
    return np.clip(frame_bgr.astype(np.float32) * factor[:, :, None] + 0.5, 0, 255).astype(np.uint8)
