"""Polygons -> 8-bit mask. Shapes are painted in order: add shapes set 255, subtract shapes (holes) set 0."""
from typing import Sequence, Tuple

import cv2
import numpy as np

from annotation.geometry import Polygon

SUBPIXEL_BITS = 3  # cv2.fillPoly fixed-point precision: 1/8 pixel


def rasterise(polygons: Sequence[Polygon], size: Tuple[int, int]) -> np.ndarray:
    """size = (height, width). Returns uint8 HxW with 0 = background, 255 = person."""
    height, width = size
    mask = np.zeros((height, width), np.uint8)
    scale = 1 << SUBPIXEL_BITS
    for polygon in polygons:
        if len(polygon.points) < 3:
            continue
        fixed = np.round(np.asarray(polygon.points, np.float64) * scale).astype(np.int32)
        cv2.fillPoly(mask, [fixed], 0 if polygon.subtract else 255, lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
    return mask


def mask_area_percent(mask: np.ndarray) -> float:
    return 100.0 * float(np.count_nonzero(mask)) / mask.size if mask.size else 0.0
