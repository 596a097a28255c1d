"""Edge-aware upsampling of a low-resolution mask, guided by the full-resolution frame (fast guided filter)."""
import cv2
import numpy as np


def guided_upsample(low_res_mask: np.ndarray, guide_gray: np.ndarray, radius: int = 2, eps: float = 1e-3) -> np.ndarray:
    """Upsamples low_res_mask (float32 in [0,1]) to guide_gray's size so its edges follow the image's edges.

    The linear coefficients are fitted at the mask's resolution, then upsampled and applied at full
    resolution, which costs a few multiply-adds per output pixel.
    """
    full_h, full_w = guide_gray.shape[:2]
    low_h, low_w = low_res_mask.shape[:2]
    guide = guide_gray.astype(np.float32) * (1.0 / 255.0)
    guide_low = cv2.resize(guide, (low_w, low_h), interpolation=cv2.INTER_AREA)
    mask = low_res_mask.astype(np.float32)

    window = (2 * radius + 1, 2 * radius + 1)

    def box(values):
        return cv2.boxFilter(values, -1, window, borderType=cv2.BORDER_REFLECT)

    mean_guide = box(guide_low)
    mean_mask = box(mask)
    covariance = box(guide_low * mask) - mean_guide * mean_mask
    variance = box(guide_low * guide_low) - mean_guide * mean_guide
    slope = covariance / (variance + eps)
    offset = mean_mask - slope * mean_guide
    slope = cv2.resize(box(slope), (full_w, full_h), interpolation=cv2.INTER_LINEAR)
    offset = cv2.resize(box(offset), (full_w, full_h), interpolation=cv2.INTER_LINEAR)
    return np.clip(slope * guide + offset, 0.0, 1.0)
