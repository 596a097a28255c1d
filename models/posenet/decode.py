"""Turns PoseNet's output maps into people: keypoints with scores, in input-image pixels. Pure numpy.

Map layout (one image, channels first, stride-16 grid of H x W cells):
  heatmaps (17, H, W) scores in [0, 1]; offsets (34, H, W): 17 y then 17 x;
  displacements fwd/bwd (32, H, W): 16 y then 16 x, one pair per edge of POSE_EDGES.
Cell (i, j) sits at input pixel (i * stride, j * stride)."""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
KEYPOINT_INDEX = {name: i for i, name in enumerate(KEYPOINT_NAMES)}

# (parent, child) links of the tree rooted at the nose, in the order of the displacement channels.
POSE_EDGES: Tuple[Tuple[int, int], ...] = tuple(
    (KEYPOINT_INDEX[a], KEYPOINT_INDEX[b]) for a, b in (
        ("nose", "left_eye"), ("left_eye", "left_ear"), ("nose", "right_eye"), ("right_eye", "right_ear"),
        ("nose", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("left_shoulder", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
        ("nose", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
        ("right_shoulder", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    )
)


@dataclass
class Pose:
    """One person. keypoints: (17, 2) array of (x, y) pixels; keypoint_scores: (17,)."""
    score: float
    keypoints: np.ndarray
    keypoint_scores: np.ndarray

    def point(self, name: str) -> Tuple[float, float, float]:
        """(x, y, score) of a keypoint by name, e.g. 'left_wrist'."""
        i = KEYPOINT_INDEX[name]
        return float(self.keypoints[i, 0]), float(self.keypoints[i, 1]), float(self.keypoint_scores[i])

    def to_dict(self) -> dict:
        return {
            "score": round(float(self.score), 4),
            "keypoints": [
                {"name": name, "x": round(float(self.keypoints[i, 0]), 1),
                 "y": round(float(self.keypoints[i, 1]), 1), "score": round(float(self.keypoint_scores[i]), 4)}
                for i, name in enumerate(KEYPOINT_NAMES)
            ],
        }


def _check_maps(heatmaps: np.ndarray, offsets: np.ndarray) -> None:
    k, h, w = heatmaps.shape
    if offsets.shape != (2 * k, h, w):
        raise ValueError(f"offsets must be {(2 * k, h, w)} for heatmaps {heatmaps.shape}, got {offsets.shape}")


def _cell_to_point(keypoint: int, cell_y: int, cell_x: int, offsets: np.ndarray, stride: int) -> np.ndarray:
    k = offsets.shape[0] // 2
    return np.array([cell_x * stride + offsets[k + keypoint, cell_y, cell_x],
                     cell_y * stride + offsets[keypoint, cell_y, cell_x]], dtype=np.float64)


def _local_maxima(heatmaps: np.ndarray, threshold: float, radius: int) -> List[Tuple[float, int, int, int]]:
    """(score, keypoint, y, x) for every cell above threshold that is the maximum of its
    (2 radius + 1)^2 neighbourhood in its own keypoint map, best first."""
    k, h, w = heatmaps.shape
    padded = np.pad(heatmaps, ((0, 0), (radius, radius), (radius, radius)), constant_values=-np.inf)
    window_max = np.full_like(heatmaps, -np.inf)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            np.maximum(window_max, padded[:, dy:dy + h, dx:dx + w], out=window_max)
    ks, ys, xs = np.nonzero((heatmaps >= threshold) & (heatmaps >= window_max))
    scores = heatmaps[ks, ys, xs]
    order = np.argsort(-scores, kind="stable")
    return [(float(scores[i]), int(ks[i]), int(ys[i]), int(xs[i])) for i in order]


def _nearest_cell(point: np.ndarray, stride: int, h: int, w: int) -> Tuple[int, int]:
    cell_x = int(np.clip(round(point[0] / stride), 0, w - 1))
    cell_y = int(np.clip(round(point[1] / stride), 0, h - 1))
    return cell_y, cell_x


def _follow_edge(source_point: np.ndarray, edge: int, target: int, displacements: np.ndarray,
                 heatmaps: np.ndarray, offsets: np.ndarray, stride: int,
                 refine_steps: int) -> Tuple[np.ndarray, float]:
    """Jump from a decoded keypoint along one edge's displacement, then snap to the target keypoint's
    own heatmap cell + offset (a few times, as each snap can land in a better cell)."""
    _, h, w = heatmaps.shape
    edges = displacements.shape[0] // 2
    cy, cx = _nearest_cell(source_point, stride, h, w)
    point = source_point + np.array([displacements[edges + edge, cy, cx], displacements[edge, cy, cx]])
    for _ in range(refine_steps):
        cy, cx = _nearest_cell(point, stride, h, w)
        point = _cell_to_point(target, cy, cx, offsets, stride)
    cy, cx = _nearest_cell(point, stride, h, w)
    return point, float(heatmaps[target, cy, cx])


def _decode_from_root(root_score: float, root: int, root_point: np.ndarray, heatmaps: np.ndarray,
                      offsets: np.ndarray, fwd: np.ndarray, bwd: np.ndarray, stride: int,
                      refine_steps: int) -> Tuple[np.ndarray, np.ndarray]:
    k = heatmaps.shape[0]
    points = np.zeros((k, 2))
    scores = np.zeros(k)
    known = np.zeros(k, dtype=bool)
    points[root], scores[root], known[root] = root_point, root_score, True
    # Up the tree towards the nose (child -> parent with backward displacements), then down to the leaves.
    for edge in reversed(range(len(POSE_EDGES))):
        parent, child = POSE_EDGES[edge]
        if known[child] and not known[parent]:
            points[parent], scores[parent] = _follow_edge(points[child], edge, parent, bwd, heatmaps, offsets,
                                                          stride, refine_steps)
            known[parent] = True
    for edge in range(len(POSE_EDGES)):
        parent, child = POSE_EDGES[edge]
        if known[parent] and not known[child]:
            points[child], scores[child] = _follow_edge(points[parent], edge, child, fwd, heatmaps, offsets,
                                                        stride, refine_steps)
            known[child] = True
    return points, scores


def decode_multiple_poses(heatmaps: np.ndarray, offsets: np.ndarray, displacements_fwd: np.ndarray,
                          displacements_bwd: np.ndarray, stride: int = 16, max_poses: int = 10,
                          part_score_threshold: float = 0.5, nms_radius: float = 20.0,
                          min_pose_score: float = 0.15, local_maximum_radius: int = 1,
                          refine_steps: int = 2) -> List[Pose]:
    """Greedy part-based decoding: the strongest unclaimed part seeds a person, whose other parts are
    reached through the displacement chains. A seed within nms_radius pixels of the same part of a
    person already found is skipped; a person's score counts only parts not claimed by earlier people."""
    _check_maps(heatmaps, offsets)
    k, h, w = heatmaps.shape
    expected = (2 * len(POSE_EDGES), h, w)
    if displacements_fwd.shape != expected or displacements_bwd.shape != expected:
        raise ValueError(f"displacements must be {expected}, got {displacements_fwd.shape} "
                         f"and {displacements_bwd.shape}")
    radius_sq = nms_radius ** 2
    poses: List[Pose] = []

    def claimed(keypoint: int, point: np.ndarray) -> bool:
        return any(np.sum((p.keypoints[keypoint] - point) ** 2) <= radius_sq for p in poses)

    for score, keypoint, cy, cx in _local_maxima(heatmaps, part_score_threshold, local_maximum_radius):
        if len(poses) >= max_poses:
            break
        root_point = _cell_to_point(keypoint, cy, cx, offsets, stride)
        if claimed(keypoint, root_point):
            continue
        points, scores = _decode_from_root(score, keypoint, root_point, heatmaps, offsets,
                                           displacements_fwd, displacements_bwd, stride, refine_steps)
        unclaimed = [scores[i] for i in range(k) if not claimed(i, points[i])]
        pose_score = float(np.sum(unclaimed)) / k
        if pose_score >= min_pose_score:
            poses.append(Pose(pose_score, points, scores))
    return sorted(poses, key=lambda p: -p.score)


def scale_poses(poses: Sequence[Pose], scale_x: float, scale_y: float) -> List[Pose]:
    """Maps poses from network-input pixels to frame pixels (pixel centres stay aligned)."""
    scaled = []
    for pose in poses:
        points = pose.keypoints.copy()
        points[:, 0] = (points[:, 0] + 0.5) * scale_x - 0.5
        points[:, 1] = (points[:, 1] + 0.5) * scale_y - 0.5
        scaled.append(Pose(pose.score, points, pose.keypoint_scores.copy()))
    return scaled
