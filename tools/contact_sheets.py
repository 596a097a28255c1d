"""Contact sheets for tools.views and tools.pairs (a helper module, not a command): tiles with captions and
PoseNet skeletons, laid out in a grid."""
from typing import Optional, Sequence

import cv2
import numpy as np

from models.posenet import POSE_EDGES, Pose

BACKGROUND = (32, 32, 32)
TEXT = (255, 255, 255)
SKELETON = (0, 220, 255)


def draw_pose(image: np.ndarray, pose: Optional[Pose], min_score: float = 0.3, scale: float = 1.0) -> np.ndarray:
    """A copy of image with the pose's confident joints and bones drawn (keypoints scaled by `scale`)."""
    out = image.copy()
    if pose is None:
        return out
    points = pose.keypoints * scale
    seen = pose.keypoint_scores >= min_score
    thickness = max(1, int(round(out.shape[0] / 160)))
    for parent, child in POSE_EDGES:
        if seen[parent] and seen[child]:
            cv2.line(out, tuple(int(v) for v in points[parent]), tuple(int(v) for v in points[child]), SKELETON,
                     thickness, cv2.LINE_AA)
    for i in np.flatnonzero(seen):
        cv2.circle(out, tuple(int(v) for v in points[i]), thickness + 1, (0, 0, 255), -1, cv2.LINE_AA)
    return out


def captioned(tile: np.ndarray, text: str, height: int = 18) -> np.ndarray:
    """The tile with a dark strip below it holding one line of text."""
    strip = np.full((height, tile.shape[1], 3), BACKGROUND, dtype=np.uint8)
    scale = 0.38 if tile.shape[1] < 200 else 0.45
    cv2.putText(strip, text, (3, height - 5), cv2.FONT_HERSHEY_SIMPLEX, scale, TEXT, 1, cv2.LINE_AA)
    return np.vstack([tile, strip])


def grid(tiles: Sequence[np.ndarray], columns: int, gap: int = 4) -> np.ndarray:
    """Tiles (all the same size) in rows of `columns`, separated by gap pixels."""
    if not tiles:
        raise ValueError("a contact sheet needs at least one tile")
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    sheet = np.full((rows * h + (rows + 1) * gap, columns * w + (columns + 1) * gap, 3), BACKGROUND, np.uint8)
    for n, tile in enumerate(tiles):
        r, c = divmod(n, columns)
        y, x = gap + r * (h + gap), gap + c * (w + gap)
        sheet[y:y + h, x:x + w] = tile
    return sheet


def heading(width: int, text: str, height: int = 26) -> np.ndarray:
    strip = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    cv2.putText(strip, text, (6, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.6, TEXT, 1, cv2.LINE_AA)
    return strip
