"""The training loss: per-pixel binary cross-entropy plus a soft Dice term per image."""
import torch
import torch.nn.functional as F


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - Dice per image, averaged. On an empty target it still pushes every probability to zero."""
    probability = torch.sigmoid(logits.float())
    dims = tuple(range(1, probability.ndim))
    overlap = (probability * target).sum(dims)
    total = probability.sum(dims) + target.sum(dims)
    return (1.0 - (2.0 * overlap + smooth) / (total + smooth)).mean()


def bce_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float(), target) + soft_dice_loss(logits, target)
