"""Hard empty frames: the plate as a webcam would deliver it a moment later, with nobody in view.

In the shared capture sets the last frame of each set is a byte copy of the plate, so an empty-scene test on it
proves nothing. A real webcam never gives the same bytes twice: auto-exposure and auto white balance drift (the
shared sets show frame/plate brightness ratios from 0.96 to 1.5 and channel gains differing by up to 0.14), the
sensor adds fresh noise, and a tap on the desk moves the camera by a pixel or two. `webcam_negative` applies all of
that to a plate, deterministically from a seed, at a strength in (0, 1].

This generator is deliberately independent of the trainer's augmentation (training/augment.py), so the benchmark
never scores a model on the exact distribution it was trained on.
"""
from typing import List, Sequence, Tuple

import cv2
import numpy as np

# Strengths of the negatives made for each set; 1.0 is about the largest drift seen in the shared sets.
DEFAULT_STRENGTHS: Tuple[float, ...] = (0.4, 0.6, 0.8, 1.0)
MAX_EXPOSURE_GAIN = 0.5      # brightness factor 1 + 0.5 * strength (or its inverse when the camera darkens)
MAX_WHITE_BALANCE_SHIFT = 0.08  # per-channel gain offset, relative to green
MAX_GAMMA_SHIFT = 0.12       # tone-curve change, as auto-exposure is not purely linear
MAX_NUDGE_PX = 2.0           # camera translation in pixels
MAX_ROTATION_DEG = 0.15      # small roll that comes with a nudge
NOISE_FLOOR = 1.5            # read noise, in 8-bit levels, at strength 0
NOISE_SHOT = 0.04            # shot-noise variance per level of signal, at strength 1
NOISE_BLUR_SIGMA = 0.6       # demosaicing correlates neighbouring pixels' noise
_BLUR_KERNEL = cv2.getGaussianKernel(3, NOISE_BLUR_SIGMA)
_NOISE_BLUR_GAIN = float(1.0 / np.sqrt(((_BLUR_KERNEL @ _BLUR_KERNEL.T) ** 2).sum()))  # keeps unit variance


def webcam_negative(plate_bgr: np.ndarray, strength: float, seed: int) -> np.ndarray:
    """The plate under an exposure/white-balance change, a camera nudge and new sensor noise (uint8 BGR)."""
    if plate_bgr is None or plate_bgr.ndim != 3 or plate_bgr.shape[2] != 3 or plate_bgr.dtype != np.uint8:
        raise ValueError(f"webcam_negative needs an HxWx3 uint8 BGR plate, got "
                         f"{getattr(plate_bgr, 'shape', None)} {getattr(plate_bgr, 'dtype', None)}")
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"strength must be in (0, 1], got {strength}")
    rng = np.random.default_rng(seed)
    height, width = plate_bgr.shape[:2]

    # Camera nudge first: the optics move, then the sensor sees the moved image.
    angle = np.deg2rad(MAX_ROTATION_DEG * strength * rng.uniform(-1, 1))
    nudge = MAX_NUDGE_PX * strength * rng.uniform(0.5, 1.0)
    direction = rng.uniform(0, 2 * np.pi)
    cos, sin = np.cos(angle), np.sin(angle)
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    warp = np.array([
        [cos, -sin, centre_x - cos * centre_x + sin * centre_y + nudge * np.cos(direction)],
        [sin, cos, centre_y - sin * centre_x - cos * centre_y + nudge * np.sin(direction)],
    ], dtype=np.float64)
    moved = cv2.warpAffine(plate_bgr.astype(np.float32), warp, (width, height),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)

    # Exposure and white balance: webcams mostly brighten when the scene changes, sometimes darken.
    exposure = 1.0 + MAX_EXPOSURE_GAIN * strength * rng.uniform(0.7, 1.0)
    if rng.uniform() < 0.25:
        exposure = 1.0 / exposure
    channel_gain = 1.0 + MAX_WHITE_BALANCE_SHIFT * strength * rng.uniform(-1, 1, size=3)
    channel_gain[1] = 1.0
    gamma = 1.0 + MAX_GAMMA_SHIFT * strength * rng.uniform(-1, 1)
    linear = np.clip(moved / 255.0, 0.0, 1.0) ** gamma
    exposed = linear * exposure * channel_gain[None, None, :] * 255.0

    # Sensor noise: read noise plus signal-dependent shot noise, slightly blurred as demosaicing does.
    sigma = np.sqrt(NOISE_FLOOR ** 2 + NOISE_SHOT * strength * np.clip(exposed, 0, 255))
    noise = rng.standard_normal(exposed.shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (3, 3), NOISE_BLUR_SIGMA) * _NOISE_BLUR_GAIN
    noisy = exposed + noise * sigma
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def webcam_negatives(plate_bgr: np.ndarray, seed: int,
                     strengths: Sequence[float] = DEFAULT_STRENGTHS) -> List[np.ndarray]:
    """One negative per strength; the same plate and seed always give the same frames."""
    return [webcam_negative(plate_bgr, strength, seed * 1000 + index) for index, strength in enumerate(strengths)]
