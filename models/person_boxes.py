"""Finds people in a frame as boxes, and turns a box into a square patch.

Two offline detectors come from the project's own models:
- PoseNet multi-pose finds small and far people well (its keypoints say where a person is even at 40 px tall),
  but its keypoint box misses hair, feet and loose clothes, and it scores people seen from behind low.
- The single-frame segmenter's connected components outline close people exactly, from any side, but it misses
  small ones and can merge a group into one component.
`PersonDetector` runs both and puts their findings together in one of the ways of MODES; benchmarks/patches.py
measures them side by side (DEFAULT_MODE keeps the people either network alone would miss, without the segmenter's
mistakes on empty floors).
`MaskRCNNDetector` wraps torchvision's Mask R-CNN for users who bring its weights file (never downloaded).
"""
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from models.posenet import KEYPOINT_INDEX, Pose, PoseNet
from models.posenet.decode import decode_multiple_poses, scale_poses
from models.posenet.mobilenet import OUTPUT_STRIDE

# posenet, segmenter: one network alone (boxes of poses; connected components of the mask).
# posenet+segmenter: every PoseNet pose, its box grown to the segmenter's component under it (cut to the pose's
#   neighbourhood when several poses share a component); components without a pose are dropped.
# segmenter+posenet: the same for components that hold a pose, plus components without one when PoseNet's heatmaps
#   light up inside them (a person cut by the frame's edge), plus poses without a component only when confident
#   (small people the segmenter misses).
MODES = ("posenet", "segmenter", "posenet+segmenter", "segmenter+posenet")
DEFAULT_MODE = "segmenter+posenet"
# PoseNet's input long side: people about 40 px tall in a 480 px frame need 513.
POSE_LONG_SIDE = 513
# A mask component with a weaker strongest keypoint heatmap score under it is taken for a mistake, not a person.
MIN_COMPONENT_EVIDENCE = 0.05

FACE_KEYPOINTS = tuple(KEYPOINT_INDEX[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"))
FOOT_KEYPOINTS = tuple(KEYPOINT_INDEX[n] for n in ("left_ankle", "right_ankle"))


@dataclass
class PersonBox:
    """A person in frame pixels: x0, y0 inclusive, x1, y1 exclusive. score in [0, 1]."""
    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    source: str  # "pose", "mask", "pose+mask" or "maskrcnn"
    pose: Optional[Pose] = None

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def as_tuple(self) -> Tuple[float, float, float, float]:
        return self.x0, self.y0, self.x1, self.y1


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    inter = intersection_area(a, b)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def intersection_area(a: Sequence[float], b: Sequence[float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


# ---- boxes from poses ----------------------------------------------------------------------------------------
def pose_box(pose: Pose, min_keypoint_score: float = 0.3, min_keypoints: int = 3) -> Optional[Tuple[float, ...]]:
    """A person's box from its confident keypoints, grown for what keypoints do not reach: the top of the head
    above the eyes, the soles below the ankles, the arms' width. None when too few keypoints are confident."""
    confident = pose.keypoint_scores >= min_keypoint_score
    if int(confident.sum()) < min_keypoints:
        return None
    points = pose.keypoints[confident]
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    size = max(x1 - x0, y1 - y0, 1.0)
    side = 0.08 * size
    top = 0.08 * size
    if confident[list(FACE_KEYPOINTS)].any():
        # Eyes sit about halfway down the head; shoulders give its size when the box is only a head.
        top += 0.12 * size
    bottom = 0.05 * size if confident[list(FOOT_KEYPOINTS)].any() else 0.08 * size
    return float(x0 - side), float(y0 - top), float(x1 + side + 1), float(y1 + bottom + 1)


# ---- components from masks ----------------------------------------------------------------------------------
@dataclass
class Component:
    label: int
    box: Tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    area: int
    score: float  # mean person probability inside


def mask_components(probability: np.ndarray, threshold: float = 0.5, min_area_fraction: float = 0.002,
                    min_pixels: int = 16) -> Tuple[np.ndarray, List[Component]]:
    """Connected components of probability > threshold with at least min_area_fraction of the frame and at least
    min_pixels pixels. Returns the label image (0 = background or dropped) and the kept components."""
    binary = (probability > threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    min_area = max(min_pixels, min_area_fraction * probability.size)
    components = []
    keep = np.zeros(count, dtype=np.int32)
    sums = np.bincount(labels.ravel(), weights=probability.ravel(), minlength=count)
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area < min_area:
            continue
        keep[label] = label
        components.append(Component(label, (x, y, x + w, y + h), area, float(sums[label] / area)))
    return keep[labels], components


def _keypoints_in_component(pose: Pose, labels: np.ndarray, label: int, min_keypoint_score: float) -> int:
    h, w = labels.shape
    count = 0
    for (x, y), score in zip(pose.keypoints, pose.keypoint_scores):
        if score < min_keypoint_score:
            continue
        xi, yi = int(round(x)), int(round(y))
        if not (0 <= xi < w and 0 <= yi < h):
            continue
        # Keypoints sit on joints, often on a limb's edge: look in a small window, not one pixel.
        window = labels[max(0, yi - 2):yi + 3, max(0, xi - 2):xi + 3]
        count += bool((window == label).any())
    return count


def _pixels_box(labels: np.ndarray, label: int, window: Tuple[float, ...]) -> Optional[Tuple[float, ...]]:
    """Box of a component's pixels inside a window (x0, y0, x1, y1), or None if it has none there."""
    h, w = labels.shape
    x0, y0 = max(0, int(window[0])), max(0, int(window[1]))
    x1, y1 = min(w, int(np.ceil(window[2]))), min(h, int(np.ceil(window[3])))
    if x1 <= x0 or y1 <= y0:
        return None
    ys, xs = np.nonzero(labels[y0:y1, x0:x1] == label)
    if xs.size == 0:
        return None
    return float(x0 + xs.min()), float(y0 + ys.min()), float(x0 + xs.max() + 1), float(y0 + ys.max() + 1)


def _union(a: Sequence[float], b: Sequence[float]) -> Tuple[float, ...]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _grow(box: Sequence[float], fx: float, fy: float) -> Tuple[float, ...]:
    w, h = box[2] - box[0], box[3] - box[1]
    return box[0] - fx * w, box[1] - fy * h, box[2] + fx * w, box[3] + fy * h


def component_evidence(heatmaps: np.ndarray, input_size: Tuple[int, int], labels: np.ndarray,
                       components: Sequence[Component]) -> List[float]:
    """For each component, PoseNet's strongest keypoint heatmap score over the cells the component covers: a
    person whose pose PoseNet cannot put together (cut by the frame's edge, half hidden) still lights up its
    heatmaps, where a patch of floor the segmenter mistook for a person does not."""
    _, grid_h, grid_w = heatmaps.shape
    frame_h, frame_w = labels.shape
    # Cell (i, j) sits at network pixel (16 j, 16 i); map it back to the frame pixel it covers.
    xs = np.clip(((np.arange(grid_w) * OUTPUT_STRIDE + 0.5) * frame_w / input_size[0]).astype(int), 0, frame_w - 1)
    ys = np.clip(((np.arange(grid_h) * OUTPUT_STRIDE + 0.5) * frame_h / input_size[1]).astype(int), 0, frame_h - 1)
    cell_labels = labels[ys[:, None], xs[None, :]]
    strongest = heatmaps.max(axis=0)
    evidence = []
    for component in components:
        cells = cell_labels == component.label
        evidence.append(float(strongest[cells].max()) if cells.any() else 0.0)
    return evidence


@dataclass
class Observation:
    """What the networks saw in one frame, before the boxes are put together (see combine)."""
    poses: List[Pose]
    labels: Optional[np.ndarray] = None
    components: Sequence[Component] = ()
    evidence: Optional[List[float]] = None  # PoseNet's heatmap evidence per component, when PoseNet ran


def combine(seen: Observation, mode: str, min_keypoint_score: float = 0.3, min_component_score: float = 0.7,
            min_component_evidence: float = MIN_COMPONENT_EVIDENCE, min_lone_pose_score: float = 0.25) -> List[PersonBox]:
    """People from PoseNet poses and mask components, combined as `mode` says (see MODES)."""
    if mode not in MODES:
        raise ValueError(f"unknown detector mode {mode!r}; use one of {', '.join(MODES)}")
    labels, components = seen.labels, list(seen.components)
    use_poses = mode != "segmenter"
    use_masks = mode != "posenet" and labels is not None
    people: List[PersonBox] = []
    posed = []
    if use_poses:
        for pose in seen.poses:
            box = pose_box(pose, min_keypoint_score)
            if box is not None:
                posed.append((pose, box))
    # Which component each pose stands on (the one holding most of its confident keypoints, at least 2).
    owner = {}
    if use_masks:
        for n, (pose, _) in enumerate(posed):
            counts = [(_keypoints_in_component(pose, labels, c.label, min_keypoint_score), i)
                      for i, c in enumerate(components)]
            best = max(counts, default=(0, -1))
            if best[0] >= 2:
                owner[n] = best[1]
    for n, (pose, box) in enumerate(posed):
        if n in owner:
            component = components[owner[n]]
            sharing = sum(1 for m in owner if owner[m] == owner[n])
            # A component shared by several people is cut to this pose's neighbourhood; one person's own
            # component may reach further (a raised leg, a long coat) than its keypoints.
            window = _grow(box, 0.25, 0.15) if sharing > 1 else _grow(box, 0.6, 0.4)
            grown = _pixels_box(labels, component.label, window)
            if grown is not None:
                box = _union(box, grown)
            people.append(PersonBox(*box, score=max(pose.score, component.score * min(1.0, 2 * pose.score + 0.5)),
                                    source="pose+mask", pose=pose))
        elif mode != "segmenter+posenet" or pose.score >= min_lone_pose_score:
            people.append(PersonBox(*box, score=float(pose.score), source="pose", pose=pose))
    if mode in ("segmenter", "segmenter+posenet"):
        owned = set(owner.values())
        for i, component in enumerate(components):
            if i in owned or component.score < min_component_score:
                continue
            if mode == "segmenter+posenet" and seen.evidence is not None \
                    and seen.evidence[i] < min_component_evidence:
                continue
            people.append(PersonBox(*map(float, component.box), score=component.score, source="mask"))
    return suppress_duplicates(people)


def suppress_duplicates(people: Sequence[PersonBox], overlap: float = 0.6) -> List[PersonBox]:
    """Best first; drops a box that mostly lies inside a better one (the same person found twice)."""
    kept: List[PersonBox] = []
    for person in sorted(people, key=lambda p: -p.score):
        duplicate = any(intersection_area(person.as_tuple(), k.as_tuple()) >= overlap * min(person.area, k.area)
                        and box_iou(person.as_tuple(), k.as_tuple()) >= 0.3 for k in kept)
        if not duplicate:
            kept.append(person)
    return kept


class PersonDetector:
    """PoseNet (+ the single-frame segmenter) person boxes on BGR frames.

    pose_long_side: PoseNet's input long side; larger finds smaller people at a higher cost."""

    def __init__(self, posenet: PoseNet, segmenter=None, mode: str = DEFAULT_MODE, pose_long_side: int = POSE_LONG_SIDE,
                 max_people: int = 15, part_score_threshold: float = 0.3, min_pose_score: float = 0.1):
        if mode not in MODES:
            raise ValueError(f"unknown detector mode {mode!r}; use one of {', '.join(MODES)}")
        if mode != "posenet" and segmenter is None:
            raise ValueError(f"detector mode {mode!r} needs the single-frame segmenter")
        self.posenet = posenet
        self.segmenter = segmenter
        self.mode = mode
        self.pose_long_side = pose_long_side
        self.max_people = max_people
        self.part_score_threshold = part_score_threshold
        self.min_pose_score = min_pose_score

    def observe(self, frame_bgr: np.ndarray) -> Observation:
        """Runs the networks on a frame (PoseNet unless mode is 'segmenter', the segmenter unless 'posenet')."""
        poses, heatmaps, size = [], None, None
        if self.mode != "segmenter":
            previous = self.posenet.long_side
            self.posenet.long_side = self.pose_long_side
            try:
                (heatmaps, offsets, forward, backward), size = self.posenet.maps(frame_bgr)
            finally:
                self.posenet.long_side = previous
            # nms_radius stays in network pixels: a larger input makes people larger there, so a fixed radius
            # still tells apart two people walking side by side.
            found = decode_multiple_poses(heatmaps, offsets, forward, backward, OUTPUT_STRIDE, self.max_people,
                                          self.part_score_threshold, 20.0, self.min_pose_score)
            poses = scale_poses(found, frame_bgr.shape[1] / size[0], frame_bgr.shape[0] / size[1])
        if self.mode == "posenet":
            return Observation(poses)
        labels, components = mask_components(self.segmenter.segment(frame_bgr))
        evidence = component_evidence(heatmaps, size, labels, components) if heatmaps is not None else None
        return Observation(poses, labels, components, evidence)

    def detect(self, frame_bgr: np.ndarray) -> List[PersonBox]:
        """People in the frame, best first."""
        return combine(self.observe(frame_bgr), self.mode)


class MaskRCNNDetector:
    """torchvision's Mask R-CNN (ResNet-50 FPN, COCO classes) from a weights file the user provides."""

    PERSON_LABEL = 1  # COCO category id of 'person' in torchvision's detection models

    def __init__(self, weights_path, device: str = "cpu", min_score: float = 0.3):
        import torch
        from torchvision.models.detection import maskrcnn_resnet50_fpn

        path = Path(weights_path)
        if not path.is_file():
            raise ValueError(f"Mask R-CNN weights not found: {path}. Pass the .pth state dict of torchvision's "
                             f"maskrcnn_resnet50_fpn (COCO), e.g. downloaded once by hand.")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt file, pickle with code, not a torch file
            raise ValueError(f"cannot read Mask R-CNN weights {path}: {exc}") from None
        if isinstance(state, dict) and isinstance(state.get("model"), dict):
            state = state["model"]
        parts = ("backbone.", "rpn.", "roi_heads.")
        if not isinstance(state, dict) or not all(any(str(k).startswith(p) for k in state) for p in parts):
            raise ValueError(f"{path} is not a state dict of torchvision's maskrcnn_resnet50_fpn (it needs "
                             f"{', '.join(p + '*' for p in parts)} weights)")
        model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
        try:
            model.load_state_dict(state)
        except (RuntimeError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path} is not a state dict of torchvision's maskrcnn_resnet50_fpn: "
                             f"{str(exc).splitlines()[0]}") from None
        self.torch = torch
        self.model = model.eval().to(device)
        self.device = device
        self.min_score = min_score

    def detect(self, frame_bgr: np.ndarray) -> List[PersonBox]:
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        tensor = self.torch.from_numpy(rgb).permute(2, 0, 1).float().div(255.0).to(self.device)
        with self.torch.inference_mode():
            output = self.model([tensor])[0]
        people = []
        for box, label, score in zip(output["boxes"].cpu().numpy(), output["labels"].cpu().numpy(),
                                     output["scores"].cpu().numpy()):
            if int(label) == self.PERSON_LABEL and float(score) >= self.min_score:
                people.append(PersonBox(*map(float, box), score=float(score), source="maskrcnn"))
        return people


# ---- squares and patches ------------------------------------------------------------------------------------
def square_for_box(box: Sequence[float], margin: float = 0.1) -> Tuple[int, int, int]:
    """(x, y, side) of the square centred on the box, its side the box's long side grown by margin on each side.
    It may reach past the frame: cut_square pads there."""
    x0, y0, x1, y1 = box[:4]
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin)
    side = max(8, int(round(side)))
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side


def cut_square(frame_bgr: np.ndarray, x: int, y: int, side: int, size: int = 256,
               pad_value: Tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """The frame's square (x, y, side), padded with pad_value where it leaves the frame, resized to size x size."""
    h, w = frame_bgr.shape[:2]
    patch = np.empty((side, side, 3), dtype=frame_bgr.dtype)
    patch[:] = pad_value
    sx0, sy0 = max(0, x), max(0, y)
    sx1, sy1 = min(w, x + side), min(h, y + side)
    if sx1 > sx0 and sy1 > sy0:
        patch[sy0 - y:sy1 - y, sx0 - x:sx1 - x] = frame_bgr[sy0:sy1, sx0:sx1]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interpolation)
