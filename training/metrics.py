"""Mask quality figures: IoU on frames with a person, false-positive rate on frames without one."""
import numpy as np


def iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two boolean masks; 1.0 when both are empty."""
    predicted, truth = predicted.astype(bool), truth.astype(bool)
    union = np.logical_or(predicted, truth).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(predicted, truth).sum() / union)


def false_positive_rate(predicted: np.ndarray) -> float:
    """Share of pixels called person on a frame where nobody is there."""
    return float(predicted.astype(bool).mean())
