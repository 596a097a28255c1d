"""Conversions between OpenCV images and image-to-image network tensors, and the garment/person cut-out helpers
the extractors, the trainer and the benchmarks share."""
from pathlib import Path

import numpy as np
import torch

GARMENT_LABELS = (5, 6, 7)  # LIP human parsing: upper-clothes, dress, coat


def to_tensor(image_bgr: np.ndarray) -> torch.Tensor:
    """BGR uint8 HxWx3 -> RGB float 3xHxW in [-1, 1]."""
    rgb = image_bgr[:, :, ::-1].astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))


def mask_channel(mask: np.ndarray) -> torch.Tensor:
    """Boolean HxW -> 1xHxW in {-1, 1}, on the same scale as the image channels."""
    return torch.from_numpy(np.asarray(mask, bool).astype(np.float32) * 2.0 - 1.0)[None]


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """RGB [-1, 1] 3xHxW (or its first 3 channels) -> BGR uint8 HxWx3."""
    array = tensor[:3].detach().float().cpu().clamp(-1, 1).numpy().transpose(1, 2, 0)
    return np.ascontiguousarray(((array + 1.0) * 127.5 + 0.5).astype(np.uint8)[:, :, ::-1])


def garment_input(person_bgr: np.ndarray, garment_mask: np.ndarray) -> torch.Tensor:
    """The garment extractor's 4-channel input: the person photo and the worn-garment mask."""
    return torch.cat([to_tensor(person_bgr), mask_channel(garment_mask)], dim=0)


def white_cutout(image_bgr: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The image with only the masked pixels kept, white elsewhere."""
    out = np.full_like(image_bgr, 255)
    mask = np.asarray(mask, bool)
    out[mask] = image_bgr[mask]
    return out


def read_labels(path) -> np.ndarray:
    """Per-pixel class indices of a palette or grayscale label PNG (a palette's colours are only a legend).
    Raises ValueError naming the file."""
    from PIL import Image
    try:
        with Image.open(Path(path)) as picture:
            if picture.mode not in ("P", "L"):
                raise ValueError(f"{path}: expected a palette or grayscale label PNG, found mode {picture.mode}")
            return np.array(picture)
    except OSError as exc:
        raise ValueError(f"cannot read label map {path}: {exc}") from exc


def garment_mask_from_labels(labels: np.ndarray) -> np.ndarray:
    return np.isin(labels, GARMENT_LABELS)


# The brightest a drawn garment pixel's darkest channel may be: only the background is pure white, so a white
# garment's edge stays visible (and a white-keyed silhouette whole), as under a shop's lighting.
GARMENT_BRIGHTEST = 240


def garment_on_white(drawn_bgr: np.ndarray, garment: np.ndarray, brightest: int = GARMENT_BRIGHTEST) -> np.ndarray:
    """The drawn pixels under the garment mask on a pure white canvas. Pixels whose darkest channel is brighter
    than `brightest` are darkened by the excess, all channels alike, so their tint is kept."""
    out = np.full_like(drawn_bgr, 255)
    garment = np.asarray(garment, bool)
    pixels = drawn_bgr[garment].astype(np.int16)
    excess = np.maximum(pixels.min(axis=1, keepdims=True) - brightest, 0)
    out[garment] = (pixels - excess).astype(np.uint8)
    return out


def centred_cutout(image_bgr: np.ndarray, mask: np.ndarray, canvas_hw=None, fill: float = 0.0) -> np.ndarray:
    """The masked pixels cut out and centred on a white canvas (default: the image's size). fill=0 keeps their
    size (shrinking only what does not fit); fill=0.9 scales the cut-out, aspect kept, until it spans 90 % of the
    canvas's height or width. The simplest garment extractors, the baselines ours must beat."""
    import cv2
    height, width = canvas_hw or image_bgr.shape[:2]
    canvas = np.full((height, width, 3), 255, np.uint8)
    mask = np.asarray(mask, bool)
    rows, columns = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return canvas
    top, bottom, left, right = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    piece = white_cutout(image_bgr, mask)[top:bottom, left:right]
    fit = min(height / piece.shape[0], width / piece.shape[1])
    scale = fill * fit if fill > 0 else min(1.0, fit)
    if scale != 1.0:
        size = (max(1, min(width, round(piece.shape[1] * scale))), max(1, min(height, round(piece.shape[0] * scale))))
        piece = cv2.resize(piece, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    y, x = (height - piece.shape[0]) // 2, (width - piece.shape[1]) // 2
    canvas[y:y + piece.shape[0], x:x + piece.shape[1]] = piece
    return canvas


def letterbox(image: np.ndarray, size_hw, fill=None):
    """Scales the image to fit inside size_hw with its aspect kept and pads the bottom and right: with fill=None
    by repeating the border, else with that value. Returns (padded image, (resized height, resized width))."""
    import cv2
    height, width = size_hw
    scale = min(height / image.shape[0], width / image.shape[1])
    resized_h = max(1, min(height, round(image.shape[0] * scale)))
    resized_w = max(1, min(width, round(image.shape[1] * scale)))
    nearest = image.dtype == bool
    source = image.astype(np.uint8) if nearest else image
    interpolation = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    resized = cv2.resize(source, (resized_w, resized_h), interpolation=interpolation)
    if fill is None:
        padded = cv2.copyMakeBorder(resized, 0, height - resized_h, 0, width - resized_w, cv2.BORDER_REPLICATE)
    else:
        padded = cv2.copyMakeBorder(resized, 0, height - resized_h, 0, width - resized_w, cv2.BORDER_CONSTANT,
                                    value=fill)
    if padded.ndim < image.ndim:
        padded = padded[:, :, None]
    return (padded.astype(bool) if nearest else padded), (resized_h, resized_w)


def picture_grid(rows, labels, cell_height: int = 0) -> np.ndarray:
    """One row per example, its pictures side by side at the first picture's size (or scaled to cell_height),
    column labels on a white band."""
    import cv2
    height, width = rows[0][0].shape[:2]
    if cell_height:
        height, width = cell_height, max(1, round(width * cell_height / height))
    band = np.full((22, width * len(labels), 3), 255, np.uint8)
    for column, label in enumerate(labels):
        cv2.putText(band, label, (column * width + 4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1,
                    cv2.LINE_AA)
    lines = [band] + [np.concatenate([cv2.resize(p, (width, height)) for p in row], axis=1) for row in rows]
    return np.concatenate(lines, axis=0)
