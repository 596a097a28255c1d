"""Keeps only the parts of a single-frame person mask that PoseNet sees a body part in.

The single-frame model alone paints blobs on empty floors and bare walls: it has seen too few people-free scenes
to learn "nobody here" in general. PoseNet was trained on other data for another task, so its mistakes are not the
segmenter's: a person, even cut by the frame's edge, upside down or seen from behind, lights up at least one of its
keypoint heatmaps, where a patch of floor does not. Each connected component of the mask is kept when PoseNet's
strongest heatmap score under it reaches MIN_COMPONENT_EVIDENCE, the same test the person-patch detector uses
(models.person_boxes); the rest is cleared, with the soft fringe around it. The Segmenter runs it on the
network's own low-resolution output, before the mask is brought to the frame's size.
"""
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np

from models.person_boxes import MIN_COMPONENT_EVIDENCE, POSE_LONG_SIDE, component_evidence, mask_components
from models.posenet import PoseNet, require_weights

MASK_THRESHOLD = 0.5  # where the components are cut, as the mask is read everywhere else
FRINGE_PIXELS = 1  # how far round a cleared component its soft edge (below the threshold) is cleared too


class PersonGate:
    """apply(frame, probability) -> probability with the unsupported components cleared."""

    def __init__(self, posenet: PoseNet, min_evidence: float = MIN_COMPONENT_EVIDENCE):
        if not 0.0 <= min_evidence < 1.0:
            raise ValueError(f"person gate min_evidence {min_evidence}: give a value in [0, 1)")
        self.posenet = posenet
        self.min_evidence = min_evidence
        self.last_dropped = 0  # components cleared in the last apply()

    @classmethod
    def load(cls, weights: Optional[Union[str, Path]] = None, long_side: int = POSE_LONG_SIDE,
             device: str = "cpu", **options) -> "PersonGate":
        """PoseNet from `weights`, else from the usual lookup (the shipped file first). long_side is the person
        detector's: at the palm tracker's 257, noise on a picture of a dog lit up a keypoint heatmap (0.36) that
        stays dark at 513 (0.04)."""
        path = require_weights(str(weights) if weights is not None else None)
        return cls(PoseNet.load(path, long_side=long_side, device=device), **options)

    def describe(self) -> str:
        return f"PoseNet person gate ({self.posenet.runtime}, {self.posenet.long_side} px)"

    def apply(self, frame_bgr: np.ndarray, probability: np.ndarray) -> np.ndarray:
        """probability: float HxW in [0, 1], any size with the frame's aspect. A new array is returned when
        anything is cleared; otherwise the same one."""
        labels, components = mask_components(probability, MASK_THRESHOLD, min_area_fraction=0.0, min_pixels=1)
        self.last_dropped = 0
        if not components:
            return probability
        (heatmaps, *_), input_size = self.posenet.maps(frame_bgr)
        evidence = component_evidence(heatmaps, input_size, labels, components)
        dropped = [c.label for c, e in zip(components, evidence) if e < self.min_evidence]
        self.last_dropped = len(dropped)
        if not dropped:
            return probability
        cleared = np.isin(labels, dropped)
        kernel = np.ones((2 * FRINGE_PIXELS + 1, 2 * FRINGE_PIXELS + 1), np.uint8)
        fringe = cv2.dilate(cleared.astype(np.uint8), kernel).astype(bool) & (probability <= MASK_THRESHOLD)
        gated = probability.copy()
        gated[cleared | fringe] = 0.0
        return gated
