"""The training loss: per-pixel binary cross-entropy plus a soft Dice term per image; and, when a trained
teacher network is at hand, a distillation term that pulls the student's probabilities towards the teacher's.

With hard_weight > 0 the cross-entropy weighs each pixel the model currently gets wrong (thresholded at 0.5)
1 + hard_weight times, so rare hard pixels (a cast shadow, a hand at the silhouette edge) are not drowned out by
the many easy ones.
"""
import torch
import torch.nn.functional as F


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - Dice per image, averaged. On an empty target it still pushes every probability to zero."""
    probability = torch.sigmoid(logits.float())
    dims = tuple(range(1, probability.ndim))
    overlap = (probability * target).sum(dims)
    total = probability.sum(dims) + target.sum(dims)
    return (1.0 - (2.0 * overlap + smooth) / (total + smooth)).mean()


def hard_pixel_weights(logits: torch.Tensor, target: torch.Tensor, hard_weight: float) -> torch.Tensor:
    """1 on pixels the model gets right, 1 + hard_weight on those it gets wrong; no gradient flows through."""
    with torch.no_grad():
        wrong = ((logits > 0) != (target > 0.5)).float()
    return 1.0 + hard_weight * wrong


def bce_dice_loss(logits: torch.Tensor, target: torch.Tensor, hard_weight: float = 0.0) -> torch.Tensor:
    logits = logits.float()
    if hard_weight <= 0:
        return F.binary_cross_entropy_with_logits(logits, target) + soft_dice_loss(logits, target)
    weights = hard_pixel_weights(logits, target, hard_weight)
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (per_pixel * weights).sum() / weights.sum() + soft_dice_loss(logits, target)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the student against the teacher's probabilities: soft targets carry what the teacher
    knows about uncertain pixels (hair, motion blur, the silhouette edge) that a 0/1 label does not."""
    soft_target = torch.sigmoid(teacher_logits.float())
    return F.binary_cross_entropy_with_logits(student_logits.float(), soft_target)
