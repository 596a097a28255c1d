"""Validation of image-to-image models: figures on held-out examples and a picture grid a person can check."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from fileio.atomic_files import write_png
from metrics import image_metrics
from metrics.mask_metrics import iou
from models.gan.extractors import generated_picture
from models.gan.imaging import picture_grid, to_image
from training.gan.data import PairedExample, prepare_pair, prepare_single

GRID_ROWS = 6


def shown_input(source: torch.Tensor) -> np.ndarray:
    """The input as a picture: RGB, with a mask channel (if any) shown by dimming what lies outside it."""
    picture = to_image(source).astype(np.float32)
    if source.shape[0] == 4:
        inside = (source[3].cpu().numpy() > 0)[:, :, None]
        picture = np.where(inside, picture, picture * 0.35 + 255 * 0.1)
    return picture.astype(np.uint8)


def pair_figures(output: np.ndarray, target: np.ndarray, target_mask: Optional[np.ndarray]) -> Dict[str, float]:
    """Figures of one output against its target (BGR uint8): whole-image L1; with a true silhouette also the
    silhouette IoU (pixels away from white), and L1 and SSIM inside the silhouette's bounding box."""
    figures = {"l1": image_metrics.l1(output, target)}
    if target_mask is not None:
        figures["iou"] = iou(image_metrics.silhouette(output), target_mask)
        box = image_metrics.bounding_box(target_mask)
        figures["box_l1"] = image_metrics.l1(output, target, box=box)
        figures["box_ssim"] = image_metrics.ssim(output, target, box=box)
    return figures


def mean_figures(rows: Sequence[Dict[str, float]]) -> Dict[str, float]:
    keys = rows[0].keys() if rows else []
    return {key: float(np.mean([row[key] for row in rows])) for key in keys}


def write_grid(path, rows: List[Sequence[np.ndarray]], labels: Sequence[str]) -> None:
    """One row per example: its pictures side by side, with column labels on top (atomic PNG)."""
    if not rows:
        return
    write_png(path, picture_grid(rows, labels))


@torch.no_grad()
def validate_paired(generator: torch.nn.Module, examples: Sequence[PairedExample], size_hw: Tuple[int, int],
                    device: torch.device, fit: str = "stretch", grid_rows: int = GRID_ROWS):
    """(mean figures with a val_ prefix, grid rows input | output | target)."""
    was_training = generator.training
    generator.eval()
    rows, grid = [], []
    for example in examples:
        source, target, target_mask = prepare_pair(example, size_hw, fit=fit)
        output_image, target_image = generated_picture(generator, source.to(device)), to_image(target)
        rows.append(pair_figures(output_image, target_image, target_mask))
        if len(grid) < grid_rows:
            grid.append((shown_input(source), output_image, target_image))
    generator.train(was_training)
    return {f"val_{key}": value for key, value in mean_figures(rows).items()}, grid


@torch.no_grad()
def validate_cycle(forward: torch.nn.Module, backward: torch.nn.Module, paths, size_hw: Tuple[int, int],
                   device: torch.device, grid_rows: int = GRID_ROWS):
    """Cycle L1 (in [0, 1] units) of path -> forward -> backward, and grid rows input | translated | cycled."""
    states = forward.training, backward.training
    forward.eval()
    backward.eval()
    errors, grid = [], []
    for path in paths:
        source = prepare_single(path, size_hw)[None].to(device)
        translated = forward(source)
        cycled = backward(translated)
        errors.append(float((cycled - source).abs().mean()) / 2.0)
        if len(grid) < grid_rows:
            grid.append((to_image(source[0]), to_image(translated[0]), to_image(cycled[0])))
    forward.train(states[0])
    backward.train(states[1])
    return (float(np.mean(errors)) if errors else None), grid
