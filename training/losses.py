"""The training loss: per-pixel binary cross-entropy plus a soft Dice term per image; and, when a trained
teacher network is at hand, a distillation term that pulls the student's probabilities towards the teacher's.

With hard_weight > 0 the cross-entropy weighs each pixel the model currently gets wrong (thresholded at 0.5)
1 + hard_weight times, so rare hard pixels (a cast shadow, a hand at the silhouette edge) are not drowned out by
the many easy ones.

guided_mask_loss scores what the engine shows instead: the low-resolution probabilities after the guided filter
(models.guided_filter), which training otherwise never sees.
"""
import torch
import torch.nn.functional as F

from models.guided_filter import guided_upsample_tensor
from models.preprocess import PIXEL_MEAN, PIXEL_STD

# ITU-R 601 luma, as OpenCV's BGR2GRAY, for the guide of the filter; the network's input is RGB.
RGB_TO_GRAY = (0.299, 0.587, 0.114)


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - Dice per image, averaged. On an empty target it still pushes every probability to zero."""
    return dice_loss_of_probability(torch.sigmoid(logits.float()), target, smooth)


def dice_loss_of_probability(probability: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    dims = tuple(range(1, probability.ndim))
    overlap = (probability * target).sum(dims)
    total = probability.sum(dims) + target.sum(dims)
    return (1.0 - (2.0 * overlap + smooth) / (total + smooth)).mean()


def hard_pixel_weights(logits: torch.Tensor, target: torch.Tensor, hard_weight: float) -> torch.Tensor:
    """1 on pixels the model gets right, 1 + hard_weight on those it gets wrong; no gradient flows through."""
    with torch.no_grad():
        wrong = ((logits > 0) != (target > 0.5)).float()
    return 1.0 + hard_weight * wrong


def hard_weighted_mean(per_pixel: torch.Tensor, logits: torch.Tensor, target: torch.Tensor,
                       hard_weight: float) -> torch.Tensor:
    """The mean of a per-pixel loss, with the pixels that logits (> 0: person) get wrong weighed 1 + hard_weight
    times; the plain mean when hard_weight is 0."""
    if hard_weight <= 0:
        return per_pixel.mean()
    weights = hard_pixel_weights(logits, target, hard_weight)
    return (per_pixel * weights).sum() / weights.sum()


def bce_dice_loss(logits: torch.Tensor, target: torch.Tensor, hard_weight: float = 0.0) -> torch.Tensor:
    logits = logits.float()
    per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return hard_weighted_mean(per_pixel, logits, target, hard_weight) + soft_dice_loss(logits, target)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the student against the teacher's probabilities: soft targets carry what the teacher
    knows about uncertain pixels (hair, motion blur, the silhouette edge) that a 0/1 label does not."""
    soft_target = torch.sigmoid(teacher_logits.float())
    return F.binary_cross_entropy_with_logits(student_logits.float(), soft_target)


def guide_from_input(image: torch.Tensor) -> torch.Tensor:
    """The gray guide in [0, 1] (N x 1 x H x W) of a normalised network input, RGB or gray."""
    pixels = image.float() * PIXEL_STD + PIXEL_MEAN
    if pixels.shape[1] == 1:
        return pixels.clamp(0.0, 1.0)
    weights = pixels.new_tensor(RGB_TO_GRAY).view(1, 3, 1, 1)
    return (pixels * weights).sum(1, keepdim=True).clamp(0.0, 1.0)


def guided_mask_loss(low_res_logits: torch.Tensor, image: torch.Tensor, target: torch.Tensor,
                     hard_weight: float = 0.0) -> torch.Tensor:
    """The loss of the mask as the engine shows it: the low-resolution probabilities upsampled to the input along
    its edges by the guided filter. Mean absolute error (its gradient stays bounded, and it counts wrong pixels
    as IoU does) plus soft Dice. The clamp to [0, 1] passes gradients straight through, so a missed pixel whose
    filtered value fell below 0 is still pushed up."""
    raw = guided_upsample_tensor(torch.sigmoid(low_res_logits.float()), guide_from_input(image), clamp=False)
    mask = raw + (raw.clamp(0.0, 1.0) - raw).detach()
    error = (mask - target).abs()
    return hard_weighted_mean(error, mask - 0.5, target, hard_weight) + dice_loss_of_probability(mask, target)
