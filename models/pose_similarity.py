"""How alike two people's poses are: cosine similarity of normalised PoseNet keypoint vectors.

A pose is centred on the middle of its hips and scaled by its torso length (shoulders' middle to hips' middle),
so where the person stands in the patch and how large they are do not count, only the pose. When hips are not
confidently seen in both poses (head-and-shoulder views), the middle of the shoulders and the shoulder width are
used instead, for both poses of the pair alike. Keypoints below the confidence threshold in either pose are
left out of both vectors, and the cosine is weighted by the share of keypoints the two poses have in common, so a
match on three joints does not outrank a match on twelve.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from models.posenet import KEYPOINT_INDEX, Pose

_K = KEYPOINT_INDEX
LEFT_SHOULDER, RIGHT_SHOULDER = _K["left_shoulder"], _K["right_shoulder"]
LEFT_HIP, RIGHT_HIP = _K["left_hip"], _K["right_hip"]
MIN_COMMON_KEYPOINTS = 4


@dataclass(frozen=True)
class PoseVectors:
    """Many poses at once, ready to compare: per pose the keypoints normalised both ways, and the masks."""
    confident: np.ndarray  # (N, 17) bool
    by_hips: np.ndarray  # (N, 17, 2): centred on the hips' middle, divided by the torso length
    by_shoulders: np.ndarray  # (N, 17, 2): centred on the shoulders' middle, divided by the shoulder width
    has_hips: np.ndarray  # (N,) bool: hips and shoulders confident, a torso of non-zero length
    has_shoulders: np.ndarray  # (N,) bool: both shoulders confident, apart

    def __len__(self) -> int:
        return len(self.confident)


def pose_vectors(poses: Sequence[Optional[Pose]], min_score: float = 0.3) -> PoseVectors:
    """Normalises poses for comparing; a missing pose (None) matches nothing."""
    n = len(poses)
    points = np.zeros((n, 17, 2))
    confident = np.zeros((n, 17), dtype=bool)
    for i, pose in enumerate(poses):
        if pose is not None:
            points[i] = pose.keypoints
            confident[i] = pose.keypoint_scores >= min_score
    shoulders_seen = confident[:, LEFT_SHOULDER] & confident[:, RIGHT_SHOULDER]
    hips_seen = confident[:, LEFT_HIP] & confident[:, RIGHT_HIP]
    shoulder_mid = (points[:, LEFT_SHOULDER] + points[:, RIGHT_SHOULDER]) / 2
    hip_mid = (points[:, LEFT_HIP] + points[:, RIGHT_HIP]) / 2
    torso = np.linalg.norm(shoulder_mid - hip_mid, axis=1)
    width = np.linalg.norm(points[:, LEFT_SHOULDER] - points[:, RIGHT_SHOULDER], axis=1)
    has_hips = shoulders_seen & hips_seen & (torso > 1e-6)
    has_shoulders = shoulders_seen & (width > 1e-6)
    by_hips = (points - hip_mid[:, None]) / np.where(has_hips, torso, 1.0)[:, None, None]
    by_shoulders = (points - shoulder_mid[:, None]) / np.where(has_shoulders, width, 1.0)[:, None, None]
    return PoseVectors(confident, by_hips, by_shoulders, has_hips, has_shoulders)


def similarities(one: PoseVectors, index: int, others: PoseVectors,
                 min_common: int = MIN_COMMON_KEYPOINTS) -> np.ndarray:
    """Similarity in [-1, 1] of pose `index` of `one` to every pose of `others`; -inf where the two share fewer
    than min_common confident keypoints or no reference (hips or shoulders seen in both)."""
    common = one.confident[index][None] & others.confident  # (M, 17)
    union = one.confident[index][None] | others.confident
    use_hips = one.has_hips[index] & others.has_hips
    use_shoulders = ~use_hips & one.has_shoulders[index] & others.has_shoulders
    mine = np.where(use_hips[:, None, None], one.by_hips[index][None], one.by_shoulders[index][None])
    theirs = np.where(use_hips[:, None, None], others.by_hips, others.by_shoulders)
    mask = common[:, :, None]
    a = (mine * mask).reshape(len(others), -1)
    b = (theirs * mask).reshape(len(others), -1)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cosine = np.einsum("ij,ij->i", a, b) / np.where(norms > 0, norms, 1.0)
    shared = common.sum(axis=1)
    coverage = shared / np.maximum(union.sum(axis=1), 1)
    result = cosine * coverage
    usable = (use_hips | use_shoulders) & (shared >= min_common) & (norms > 0)
    return np.where(usable, result, -np.inf)


def pose_similarity(a: Pose, b: Pose, min_score: float = 0.3) -> float:
    """Similarity of two poses in [-1, 1] (1: the same pose up to position and size); -inf if incomparable."""
    vectors = pose_vectors([a, b], min_score)
    return float(similarities(vectors, 0, vectors)[1])


@dataclass(frozen=True)
class Match:
    a: int
    b: int
    similarity: float


def best_matches(a: PoseVectors, b: PoseVectors, a_groups: Sequence[str], b_groups: Sequence[str],
                 min_similarity: float) -> List[Match]:
    """For each pose of `a`, the most similar pose of `b` in the same group (view class), if at least
    min_similarity. Ties go to the first in b's order."""
    a_groups, b_groups = np.asarray(a_groups, dtype=object), np.asarray(b_groups, dtype=object)
    matches = []
    for i in range(len(a)):
        scores = similarities(a, i, b)
        scores = np.where(b_groups == a_groups[i], scores, -np.inf)
        if not len(scores):
            continue
        j = int(np.argmax(scores))
        if np.isfinite(scores[j]) and scores[j] >= min_similarity:
            matches.append(Match(i, j, float(scores[j])))
    return matches


def top_matches(matches: Sequence[Match], count: int) -> List[Match]:
    return sorted(matches, key=lambda m: -m.similarity)[:count]
