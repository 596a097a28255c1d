"""Turns camera images into network input, identically for training and inference."""
from typing import Tuple

import cv2
import numpy as np

PIXEL_MEAN = 0.5
PIXEL_STD = 0.25
# normalised = uint8 value * PIXEL_SCALE - PIXEL_OFFSET: (value / 255 - mean) / std as one multiply and one subtract
PIXEL_SCALE = 1.0 / (255.0 * PIXEL_STD)
PIXEL_OFFSET = PIXEL_MEAN / PIXEL_STD


def normalise_image(image_bgr: np.ndarray, in_channels: int = 3) -> np.ndarray:
    """uint8 BGR HxWx3 -> float32 CxHxW (RGB, or gray when in_channels == 1), roughly zero-mean unit-range."""
    if in_channels == 1:
        pixels = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)[None]
    else:
        pixels = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)
    return pixels.astype(np.float32) * np.float32(PIXEL_SCALE) - np.float32(PIXEL_OFFSET)


def model_input_size(height: int, width: int, long_side: int, multiple: int) -> Tuple[int, int, int, int]:
    """(resized_h, resized_w, padded_h, padded_w): aspect kept, long side scaled to long_side, padded up to multiple."""
    scale = long_side / max(height, width)
    resized_h = max(1, round(height * scale))
    resized_w = max(1, round(width * scale))
    padded_h = -(-resized_h // multiple) * multiple
    padded_w = -(-resized_w // multiple) * multiple
    return resized_h, resized_w, padded_h, padded_w


def resize_by_halving(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resizes to width x height. Halves in exact 2x area steps while the image is at least twice the target, then
    finishes the last (< 2x) step bilinearly: OpenCV's area resize at an arbitrary factor costs several times as
    much."""
    while image.shape[1] >= 2 * width and image.shape[0] >= 2 * height:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if image.shape[:2] != (height, width):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    return image


def resize_and_pad(image: np.ndarray, resized_hw: Tuple[int, int], padded_hw: Tuple[int, int]) -> np.ndarray:
    """Resize (resize_by_halving), then replicate the bottom/right border up to the padded size."""
    resized_h, resized_w = resized_hw
    padded_h, padded_w = padded_hw
    image = resize_by_halving(image, resized_w, resized_h)
    if (padded_h, padded_w) != (resized_h, resized_w):
        image = cv2.copyMakeBorder(image, 0, padded_h - resized_h, 0, padded_w - resized_w, cv2.BORDER_REPLICATE)
    return image


def prepare_pixels(image_bgr: np.ndarray, config) -> np.ndarray:
    """The engine's network input for one image: resized and padded as prepare_input does, but left as uint8
    HxWxC (BGR, or gray when config.in_channels == 1); the engine's graphs normalise it themselves
    (models.engine_graphs), which costs less than a float image made here."""
    height, width = image_bgr.shape[:2]
    resized_h, resized_w, padded_h, padded_w = model_input_size(
        height, width, config.input_long_side, config.size_multiple)
    prepared = resize_and_pad(image_bgr, (resized_h, resized_w), (padded_h, padded_w))
    if config.in_channels == 1:
        return cv2.cvtColor(prepared, cv2.COLOR_BGR2GRAY)[:, :, None]
    return prepared


def prepare_input(image_bgr: np.ndarray, config) -> np.ndarray:
    """The network's input for one image: long side scaled to config.input_long_side, padded to
    config.size_multiple, normalised to CxHxW float32. Used by the engine, validation and export alike."""
    height, width = image_bgr.shape[:2]
    resized_h, resized_w, padded_h, padded_w = model_input_size(
        height, width, config.input_long_side, config.size_multiple)
    prepared = resize_and_pad(image_bgr, (resized_h, resized_w), (padded_h, padded_w))
    return normalise_image(prepared, config.in_channels)
