"""Edge-aware upsampling of a low-resolution mask, guided by the full-resolution frame (fast guided filter).

`guided_upsample` is the inference path (OpenCV, in place). `guided_upsample_tensor` computes the same filter in
PyTorch, differentiably, so that training can score the mask the app will actually show.
"""
from typing import Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from models.preprocess import model_input_size, resize_by_halving


def local_linear_fit(guide_low, mask, box, eps: float):
    """The guided filter's per-pixel fit mask ~ slope * guide + offset over box windows, with both coefficients
    averaged over the windows that cover each pixel. Plain arithmetic, so numpy arrays (the engine, box from
    OpenCV) and tensors (training, box from PyTorch) share it."""
    mean_guide = box(guide_low)
    mean_mask = box(mask)
    covariance = box(guide_low * mask) - mean_guide * mean_mask
    variance = box(guide_low * guide_low) - mean_guide * mean_guide
    slope = covariance / (variance + eps)
    offset = mean_mask - slope * mean_guide
    return box(slope), box(offset)


def guided_upsample(low_res_mask: np.ndarray, guide_gray: np.ndarray, radius: int = 1, eps: float = 1e-3) -> np.ndarray:
    """Upsamples low_res_mask (float32 in [0,1]) to guide_gray's size so its edges follow the image's edges.

    radius counts mask pixels, each of which spans several frame pixels; a wider window blurs the silhouette
    (3x3 scored higher than 5x5 for every shipped model, at output stride 2 and 4).

    guide_gray is a uint8 gray frame (0..255) or a float one in [0, 1]. The linear coefficients are fitted at
    the mask's resolution, then upsampled and applied at full resolution, which costs a few multiply-adds per
    output pixel.
    """
    full_h, full_w = guide_gray.shape[:2]
    low_h, low_w = low_res_mask.shape[:2]
    guide_scale = 1.0 / 255.0 if guide_gray.dtype == np.uint8 else 1.0
    guide_low = resize_by_halving(guide_gray, low_w, low_h).astype(np.float32) * guide_scale
    mask = low_res_mask.astype(np.float32)

    window = (2 * radius + 1, 2 * radius + 1)

    def box(values):
        return cv2.boxFilter(values, -1, window, borderType=cv2.BORDER_REFLECT)

    slope, offset = local_linear_fit(guide_low, mask, box, eps)
    # Fold the guide's scale into the slope, so the full-size frame is never copied to float. The full-size work
    # runs in OpenCV, in place in the upsampled slope: fresh full-size temporaries cost more than the arithmetic.
    offset = cv2.resize(offset, (full_w, full_h), interpolation=cv2.INTER_LINEAR)
    mask_full = cv2.resize(slope * guide_scale, (full_w, full_h), interpolation=cv2.INTER_LINEAR)
    cv2.multiply(guide_gray, mask_full, dst=mask_full, dtype=cv2.CV_32F)
    cv2.add(mask_full, offset, dst=mask_full)
    cv2.threshold(mask_full, 1.0, 1.0, cv2.THRESH_TRUNC, dst=mask_full)
    cv2.threshold(mask_full, 0.0, 0.0, cv2.THRESH_TOZERO, dst=mask_full)
    return mask_full


def guided_upsample_tensor(low_res_mask: torch.Tensor, guide_gray: torch.Tensor, radius: int = 1,
                           eps: float = 1e-3, clamp: bool = True) -> torch.Tensor:
    """guided_upsample on tensors, with gradients: low_res_mask N x 1 x h x w in [0, 1], guide_gray N x 1 x H x W in
    [0, 1]; returns N x 1 x H x W, clamped to [0, 1] unless clamp is False. The guide is brought down the way
    resize_by_halving does (exact 2x means, then bilinear), and the box windows replicate the border, which equals
    OpenCV's reflected border at radius 1."""
    low_h, low_w = low_res_mask.shape[-2:]
    guide_low = guide_gray
    while guide_low.shape[-2] >= 2 * low_h and guide_low.shape[-1] >= 2 * low_w:
        guide_low = F.avg_pool2d(guide_low, 2)
    if guide_low.shape[-2:] != (low_h, low_w):
        guide_low = F.interpolate(guide_low, size=(low_h, low_w), mode="bilinear", align_corners=False)
    window = 2 * radius + 1

    def box(values):
        return F.avg_pool2d(F.pad(values, (radius,) * 4, mode="replicate"), window, stride=1)

    slope, offset = local_linear_fit(guide_low, low_res_mask, box, eps)
    full_size = guide_gray.shape[-2:]
    slope = F.interpolate(slope, size=full_size, mode="bilinear", align_corners=False)
    offset = F.interpolate(offset, size=full_size, mode="bilinear", align_corners=False)
    mask = slope * guide_gray + offset
    return mask.clamp(0.0, 1.0) if clamp else mask


def mask_at_frame_size(probability: np.ndarray, config, frame_bgr: np.ndarray,
                       long_side_cap: Optional[int] = None) -> np.ndarray:
    """The full-size mask from a network's probability for the padded input (config: the network's): crop away
    the padding at the probability's scale, then upsample along the frame's own edges. With long_side_cap, a
    larger frame gets its mask at that long side instead (same aspect), which spares the full-size passes of
    the guided filter where a viewer scales the mask up anyway."""
    return upsample_to_frame(without_padding(probability, config, frame_bgr.shape), frame_bgr, long_side_cap)


def without_padding(probability: np.ndarray, config, frame_shape) -> np.ndarray:
    """The network's probability with the input's padding cropped away: the frame's aspect, at the network's scale."""
    height, width = frame_shape[:2]
    resized_h, resized_w, padded_h, padded_w = model_input_size(
        height, width, config.input_long_side, config.size_multiple)
    keep_h = max(1, round(probability.shape[0] * resized_h / padded_h))
    keep_w = max(1, round(probability.shape[1] * resized_w / padded_w))
    return np.ascontiguousarray(probability[:keep_h, :keep_w])


def upsample_to_frame(probability: np.ndarray, frame_bgr: np.ndarray,
                      long_side_cap: Optional[int] = None) -> np.ndarray:
    """An unpadded low-resolution probability (without_padding) brought to the frame's size along its edges, or
    to long_side_cap (see mask_at_frame_size)."""
    height, width = frame_bgr.shape[:2]
    guide = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
    if long_side_cap and max(height, width) > long_side_cap:
        scale = long_side_cap / max(height, width)
        guide = cv2.resize(guide, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    return guided_upsample(probability, guide)
