"""Palm trackers behind one small interface: PoseNet (shipped weights), MediaPipe Hands (bundled), none.

tracker.update(frame_bgr) -> [PalmPoint] in the raw frame's pixels, smoothed over time."""
import math
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from app.dwell import match_nearest
from app.one_euro import OneEuroFilter

CHOICES = ("auto", "posenet", "mediapipe", "none")


@dataclass(frozen=True)
class PalmPoint:
    x: float
    y: float
    confidence: float


class PalmTracker:
    """Interface: name, update(frame_bgr) -> list of PalmPoint, close()."""
    name = "none"

    def update(self, frame_bgr: np.ndarray) -> List[PalmPoint]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class PalmSmoother:
    """Follows palms between frames by nearest neighbour and smooths each with a One-Euro filter.
    A palm not seen in a frame is forgotten (its filter would otherwise lag behind on return)."""

    def __init__(self, min_cutoff: float = 1.5, beta: float = 0.01, max_jump_fraction: float = 0.25):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.max_jump_fraction = max_jump_fraction  # of the frame diagonal
        self._tracks: List[Tuple[Tuple[float, float], OneEuroFilter]] = []

    def __call__(self, points: Sequence[PalmPoint], t: float, frame_size: Tuple[int, int]) -> List[PalmPoint]:
        max_jump = self.max_jump_fraction * math.hypot(*frame_size)
        raw = [(p.x, p.y) for p in points]
        matches = dict((j, i) for i, j in match_nearest([pos for pos, _ in self._tracks], raw, max_jump))
        tracks, smoothed = [], []
        for j, point in enumerate(points):
            filt = self._tracks[matches[j]][1] if j in matches else OneEuroFilter(self.min_cutoff, self.beta)
            x, y = filt((point.x, point.y), t)
            tracks.append(((point.x, point.y), filt))
            smoothed.append(PalmPoint(float(x), float(y), point.confidence))
        self._tracks = tracks
        return smoothed


def palm_from_arm(elbow: Tuple[float, float], wrist: Tuple[float, float],
                  extension: float = 0.3) -> Tuple[float, float]:
    """The palm centre lies past the wrist along the forearm, about `extension` forearm lengths on."""
    return (wrist[0] + extension * (wrist[0] - elbow[0]), wrist[1] + extension * (wrist[1] - elbow[1]))


class PoseNetPalmTracker(PalmTracker):
    name = "posenet"

    def __init__(self, weights_path, long_side: int = 257, min_score: float = 0.3, max_people: int = 3,
                 smoother: Optional[PalmSmoother] = None, clock: Callable[[], float] = time.monotonic):
        from models.posenet import PoseNet
        self.posenet = PoseNet.load(weights_path, long_side=long_side)
        self.min_score = min_score
        self.max_people = max_people
        self.smoother = smoother if smoother is not None else PalmSmoother()
        self.clock = clock

    def raw_palms(self, frame_bgr: np.ndarray) -> List[PalmPoint]:
        """Unsmoothed palm points of every person (PoseNet scales the frame down itself)."""
        palms = []
        for pose in self.posenet.estimate(frame_bgr, max_poses=self.max_people):
            for side in ("left", "right"):
                ex, ey, elbow_score = pose.point(f"{side}_elbow")
                wx, wy, wrist_score = pose.point(f"{side}_wrist")
                if min(elbow_score, wrist_score) < self.min_score:
                    continue  # without a trustworthy forearm the palm position is a guess
                x, y = palm_from_arm((ex, ey), (wx, wy))
                palms.append(PalmPoint(x, y, min(elbow_score, wrist_score)))
        return palms

    def update(self, frame_bgr: np.ndarray) -> List[PalmPoint]:
        h, w = frame_bgr.shape[:2]
        return self.smoother(self.raw_palms(frame_bgr), self.clock(), (w, h))


class MediaPipePalmTracker(PalmTracker):
    """MediaPipe Hands (models bundled in the mediapipe wheel). Palm centre: halfway between the wrist
    and the mean of the four finger knuckles (MCP joints)."""
    name = "mediapipe"
    WRIST, MCPS = 0, (5, 9, 13, 17)

    def __init__(self, max_hands: int = 2, work_width: int = 320, static_images: bool = False,
                 min_detection_confidence: float = 0.5, smoother: Optional[PalmSmoother] = None,
                 clock: Callable[[], float] = time.monotonic):
        import mediapipe as mp
        self._hands = mp.solutions.hands.Hands(
            static_image_mode=static_images, max_num_hands=max_hands, model_complexity=0,
            min_detection_confidence=min_detection_confidence, min_tracking_confidence=0.5)
        self.work_width = work_width
        self.smoother = smoother if smoother is not None else PalmSmoother()
        self.clock = clock

    def raw_palms(self, frame_bgr: np.ndarray) -> List[PalmPoint]:
        import cv2
        h, w = frame_bgr.shape[:2]
        small = frame_bgr
        if w > self.work_width:  # landmarks are normalised, so a smaller copy is enough and faster
            small = cv2.resize(frame_bgr, (self.work_width, round(h * self.work_width / w)),
                               interpolation=cv2.INTER_AREA)
        result = self._hands.process(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
        palms = []
        for hand, handedness in zip(result.multi_hand_landmarks or [], result.multi_handedness or []):
            marks = hand.landmark
            knuckles = np.mean([(marks[i].x, marks[i].y) for i in self.MCPS], axis=0)
            cx = 0.5 * (marks[self.WRIST].x + knuckles[0])
            cy = 0.5 * (marks[self.WRIST].y + knuckles[1])
            palms.append(PalmPoint(float(cx * w), float(cy * h), float(handedness.classification[0].score)))
        return palms

    def update(self, frame_bgr: np.ndarray) -> List[PalmPoint]:
        h, w = frame_bgr.shape[:2]
        return self.smoother(self.raw_palms(frame_bgr), self.clock(), (w, h))

    def close(self) -> None:
        if self._hands is not None:
            self._hands.close()
            self._hands = None


def _try_posenet(posenet_weights: Optional[str]):
    """(tracker or None, reason)."""
    from models.posenet import PoseNetWeightsError, require_weights
    try:
        path = require_weights(posenet_weights, fix="the shipped models/weights/posenet_mobilenet_v1_050.pth is "
                                                    "missing: reinstall, run `python -m models.posenet.fetch` or pass "
                                                    "--posenet-weights")
        return PoseNetPalmTracker(path), f"palms: PoseNet ({path.name})"
    except PoseNetWeightsError as exc:
        return None, str(exc)


def _try_mediapipe():
    try:
        return MediaPipePalmTracker(), "palms: MediaPipe Hands"
    except Exception as exc:  # missing or broken mediapipe install
        return None, f"MediaPipe Hands unavailable ({type(exc).__name__}: {exc})"


def make_palm_tracker(choice: str = "auto", posenet_weights: Optional[str] = None):
    """(tracker, reason) for the status bar. tracker is None when palm tracking ends up off, with the
    reason saying why. auto: PoseNet (its weights ship with the project), else MediaPipe Hands, else none."""
    if choice not in CHOICES:
        raise ValueError(f"palm tracker must be one of {', '.join(CHOICES)}; got {choice!r}")
    if choice == "none":
        return None, "palm tracking off (--palm none)"
    if choice == "posenet":
        tracker, reason = _try_posenet(posenet_weights)
        return tracker, reason if tracker else f"palm tracking off: {reason}"
    if choice == "mediapipe":
        tracker, reason = _try_mediapipe()
        return tracker, reason if tracker else f"palm tracking off: {reason}"
    tracker, posenet_reason = _try_posenet(posenet_weights)
    if tracker is not None:
        return tracker, posenet_reason
    tracker, mediapipe_reason = _try_mediapipe()
    if tracker is not None:
        return tracker, f"{mediapipe_reason} ({posenet_reason})"
    return None, f"palm tracking off: {posenet_reason}; {mediapipe_reason}"
