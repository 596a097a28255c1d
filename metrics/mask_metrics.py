"""Mask quality figures shared by the trainer, the benchmarks and the annotation round trip."""
import numpy as np


def as_person_mask(mask: np.ndarray) -> np.ndarray:
    """Boolean person mask from a bool array or an 8-bit 0/255 one (> 127 is person)."""
    mask = np.asarray(mask)
    return mask if mask.dtype == bool else mask > 127


def iou(predicted: np.ndarray, truth: np.ndarray, when_both_empty: float = 1.0) -> float:
    """Intersection over union; when_both_empty is returned where neither mask has a person pixel."""
    predicted, truth = as_person_mask(predicted), as_person_mask(truth)
    if predicted.shape != truth.shape:
        raise ValueError(f"mask shapes differ: predicted {predicted.shape}, truth {truth.shape}")
    union = np.count_nonzero(predicted | truth)
    if union == 0:
        return when_both_empty
    return np.count_nonzero(predicted & truth) / union


def false_positive_rate(predicted: np.ndarray) -> float:
    """Share of pixels called person on a frame where nobody is there."""
    return float(np.count_nonzero(as_person_mask(predicted))) / predicted.size
