"""Losses of the image-to-image trainer: the adversarial loss (vanilla or least squares) and the history pool."""
from typing import List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ADVERSARIAL_KINDS = ("vanilla", "lsgan")


class AdversarialLoss(nn.Module):
    """vanilla: cross-entropy on logits (pix2pix); lsgan: squared distance to 1 or 0 (cycleGAN)."""

    def __init__(self, kind: str = "vanilla"):
        super().__init__()
        if kind not in ADVERSARIAL_KINDS:
            raise ValueError(f"unknown adversarial loss {kind!r}; choose one of {', '.join(ADVERSARIAL_KINDS)}")
        self.kind = kind

    def forward(self, logits: torch.Tensor, real: bool) -> torch.Tensor:
        target = torch.full_like(logits, 1.0 if real else 0.0)
        if self.kind == "lsgan":
            return F.mse_loss(logits, target)
        return F.binary_cross_entropy_with_logits(logits, target)


class HistoryPool:
    """Up to `capacity` earlier generator outputs. The discriminator sees, for each new image, with probability
    one half an older image (which the new one replaces in the pool), else the new one; this damps oscillation.

    Choices come from a generator that the caller seeds per step, so a resumed run makes the same ones.
    """

    def __init__(self, capacity: int = 50):
        self.capacity = capacity
        self.images: List[torch.Tensor] = []

    def query(self, batch: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        if self.capacity <= 0:
            return batch
        shown = []
        for image in batch.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.capacity:
                self.images.append(image.cpu().clone())
                shown.append(image)
            elif rng.random() < 0.5:
                slot = int(rng.integers(self.capacity))
                shown.append(self.images[slot].to(batch.device))
                self.images[slot] = image.cpu().clone()
            else:
                shown.append(image)
        return torch.cat(shown, 0)

    def state(self) -> torch.Tensor:
        return torch.cat(self.images, 0) if self.images else torch.zeros(0)

    def load_state(self, stacked: torch.Tensor) -> None:
        self.images = [image.unsqueeze(0).clone() for image in stacked] if stacked.numel() else []
