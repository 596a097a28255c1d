"""Which way a person in a patch faces, and how much of them shows, from PoseNet keypoints.

Four classes (VIEWS). Cues:
- Front: the face's keypoints (nose, eyes) found with confidence. From behind, PoseNet still places them on the
  back of the head, but with low scores.
- Left/right order: seen from the front, a person's left shoulder and hip are on the image's right; seen from
  behind, on the image's left. A side view makes the order unreliable, so it only counts when the pair is wide.
- Full body: hips with knees or ankles confidently inside the patch.
"""
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from models.posenet import KEYPOINT_INDEX, Pose, PoseNet

FULL_BODY_FRONT = "FULL-BODY-FRONT"
HEAD_AND_SHOULDER_FRONT = "HEAD-AND-SHOULDER-FRONT"
FULL_BODY_BACK = "FULL-BODY-BACK"
HEAD_AND_SHOULDER_BACK = "HEAD-AND-SHOULDER-BACK"
VIEWS = (FULL_BODY_FRONT, HEAD_AND_SHOULDER_FRONT, FULL_BODY_BACK, HEAD_AND_SHOULDER_BACK)
UNKNOWN = "UNKNOWN"  # what an image gets when PoseNet finds nobody in it

_K = KEYPOINT_INDEX
FACE = (_K["nose"], _K["left_eye"], _K["right_eye"])
LOWER_BODY = (_K["left_knee"], _K["right_knee"], _K["left_ankle"], _K["right_ankle"])
HIPS = (_K["left_hip"], _K["right_hip"])
LEFT_RIGHT_PAIRS = ((_K["left_shoulder"], _K["right_shoulder"]), (_K["left_hip"], _K["right_hip"]),
                    (_K["left_eye"], _K["right_eye"]), (_K["left_ear"], _K["right_ear"]))


@dataclass(frozen=True)
class ViewRules:
    """Thresholds of the rules. face_score: the mean of the best two face keypoint scores that means a face.
    lower_body_score: the score a knee or ankle needs. order_weight: how much one confident, wide left/right
    pair moves the front/back vote compared with the face."""
    face_score: float = 0.5
    lower_body_score: float = 0.3
    pair_score: float = 0.3
    min_pair_width: float = 0.15  # of the body scale (_body_scale), below which a pair is seen side-on
    order_weight: float = 0.5


DEFAULT_RULES = ViewRules()


def _body_scale(pose: Pose) -> float:
    """A length to judge a left/right pair's width by: the torso, but at least a quarter of the confident
    keypoints' extent (the torso is meaningless when the hips are not seen, in head-and-shoulder views)."""
    k = pose.keypoints
    shoulders = (k[_K["left_shoulder"]] + k[_K["right_shoulder"]]) / 2
    hips = (k[_K["left_hip"]] + k[_K["right_hip"]]) / 2
    confident = k[pose.keypoint_scores >= 0.3]
    extent = float(np.ptp(confident, axis=0).max()) if len(confident) > 1 else 0.0
    return max(float(np.linalg.norm(shoulders - hips)), 0.25 * extent, 1.0)


def front_evidence(pose: Pose, rules: ViewRules = DEFAULT_RULES) -> float:
    """Positive for front, negative for back: the face's confidence against the threshold, plus the vote of the
    confident left/right pairs (+1 when the person's left is on the image's right)."""
    s = pose.keypoint_scores
    face = float(np.sort(s[list(FACE)])[-2:].mean())
    evidence = face - rules.face_score
    scale = _body_scale(pose)
    votes = []
    for left, right in LEFT_RIGHT_PAIRS:
        if min(s[left], s[right]) < rules.pair_score:
            continue
        dx = float(pose.keypoints[left, 0] - pose.keypoints[right, 0])
        if abs(dx) < rules.min_pair_width * scale:
            continue
        votes.append(1.0 if dx > 0 else -1.0)
    if votes:
        evidence += rules.order_weight * float(np.mean(votes))
    return evidence


def shows_full_body(pose: Pose, width: int, height: int, rules: ViewRules = DEFAULT_RULES) -> bool:
    s, k = pose.keypoint_scores, pose.keypoints
    inside = (k[:, 0] >= 0) & (k[:, 0] < width) & (k[:, 1] >= 0) & (k[:, 1] < height)
    lower = [i for i in LOWER_BODY if s[i] >= rules.lower_body_score and inside[i]]
    return bool(lower)


def view_of_pose(pose: Pose, width: int, height: int, rules: ViewRules = DEFAULT_RULES) -> str:
    """One of VIEWS for a pose in an image of width x height pixels."""
    front = front_evidence(pose, rules) >= 0
    full = shows_full_body(pose, width, height, rules)
    if full:
        return FULL_BODY_FRONT if front else FULL_BODY_BACK
    return HEAD_AND_SHOULDER_FRONT if front else HEAD_AND_SHOULDER_BACK


def main_pose(poses: Sequence[Pose], width: int, height: int) -> Optional[Pose]:
    """The person a patch was cut for: confident and near the centre (a patch also holds bits of neighbours)."""
    best, best_value = None, -np.inf
    centre = np.array([width / 2.0, height / 2.0])
    for pose in poses:
        confident = pose.keypoint_scores >= 0.3
        if not confident.any():
            continue
        middle = pose.keypoints[confident].mean(axis=0)
        off_centre = float(np.linalg.norm((middle - centre) / np.array([width, height])))
        value = pose.score * (1.0 - off_centre)
        if value > best_value:
            best, best_value = pose, value
    return best


@dataclass
class ViewResult:
    view: str  # one of VIEWS, or UNKNOWN
    pose: Optional[Pose]


class ViewClassifier:
    """Runs PoseNet on a person image (a patch) and names its view."""

    def __init__(self, posenet: PoseNet, rules: ViewRules = DEFAULT_RULES, long_side: int = 257):
        self.posenet = posenet
        self.rules = rules
        self.long_side = long_side

    def pose(self, image_bgr: np.ndarray) -> Optional[Pose]:
        previous = self.posenet.long_side
        self.posenet.long_side = self.long_side
        try:
            poses = self.posenet.estimate(image_bgr, max_poses=5, part_score_threshold=0.3, min_pose_score=0.05)
        finally:
            self.posenet.long_side = previous
        return main_pose(poses, image_bgr.shape[1], image_bgr.shape[0])

    def classify(self, image_bgr: np.ndarray) -> ViewResult:
        pose = self.pose(image_bgr)
        if pose is None:
            return ViewResult(UNKNOWN, None)
        return ViewResult(view_of_pose(pose, image_bgr.shape[1], image_bgr.shape[0], self.rules), pose)
