"""The stale-plate warning: notices when the background plate no longer matches what the camera sees.

The plate model shrugs off small camera nudges and light changes (it was trained to), so its mask alone cannot
tell that the camera moved by a few pixels or that a lamp went on. About once a second the app therefore compares
the frame with the plate on the pixels that no model marks as person, and measures:

- alignment: corners of the plate's background are tracked into the frame (pyramidal Lucas-Kanade on locally
  normalised images, so exposure changes do not matter) and a shift + rotation + scale is fitted to them with
  RANSAC (so moved objects and shadows do not matter). Displacement is how far that motion moves the frame's
  corners. When almost no tracked corner fits any such motion, the frame shows another scene.
- relit share: the share of background blocks whose brightness changed unlike the rest of the room. A global
  exposure and contrast change (webcam auto-exposure) is fitted to the blocks that agree best and taken out.
- unexplained share: the share of the frame that the plate model marks as person where the single-frame model
  sees nobody (a plate of another room, furniture moved).

StalePlateMonitor turns these samples into a warning with hysteresis: it is raised only after mismatching samples
have lasted raise_after_s, and cleared only after samples well inside the limits have lasted clear_after_s.
Pure numpy/cv2, no Qt.
"""
import time
from dataclasses import dataclass
from typing import Callable, Optional

import cv2
import numpy as np

STALE_MESSAGE = "the plate no longer matches the scene: press Bkg"
SAMPLE_EVERY_S = 1.0  # the live check's rate: the single-frame model and the comparison cost a few ms each

WORK_WIDTH = 160  # frames are compared at this width: sub-pixel tracking still resolves a 2 px nudge at 640
PERSON_MARGIN = 0.04  # person masks grow by this fraction of the width: shadows and mask edges
BLOCK_PX = 10  # relight blocks, at WORK_WIDTH
MIN_BLOCK_BACKGROUND = 0.8  # a block counts for relighting when this much of it is background
DARK_LEVEL, BRIGHT_LEVEL = 12.0, 243.0  # blocks this dark or bright carry no trustworthy brightness ratio
MAX_CONTRAST_SLOPE = 0.5  # auto-exposure changes contrast moderately; a steeper fit would explain a relit room away
MIN_TRACKED = 20  # fewer tracked corners than this: alignment unknown
MIN_INLIERS, MIN_INLIER_SHARE = 12, 0.2  # enough corners agree on one motion: it is measured
OTHER_SCENE_INLIERS, OTHER_SCENE_SHARE = 10, 0.25  # fewer agree than both: the frame shows another scene


@dataclass(frozen=True)
class StaleThresholds:
    """Limits for one sample; clear_scale times them is the limit a sample must be under to clear the warning.
    Tuned on webcam sets outside 4, 9, 16, 20 (see tests/test_app_stale_plate.py for the held-out checks)."""
    displacement: float = 0.0055  # of the frame width: 3.5 px at 640; the plate model itself copes with ~2 px
    relit_share: float = 0.15
    unexplained_share: float = 0.15
    relit_ratio: float = 1.3  # a block is relit when its brightness is off the global change by this factor
    min_background_share: float = 0.2  # less visible background than this: alignment and relighting unknown
    clear_scale: float = 0.6
    raise_after_s: float = 2.0
    clear_after_s: float = 3.0


@dataclass(frozen=True)
class PlateComparison:
    """One frame measured against the plate. None: not measured on this frame (too little background or texture,
    or no single-frame mask to explain the plate model's). other_scene: no motion fits the tracked corners."""
    background_share: float
    unexplained_share: Optional[float]
    displacement: Optional[float]
    relit_share: Optional[float]
    other_scene: bool = False

    def mismatch(self, limits: StaleThresholds, scale: float = 1.0) -> Optional[bool]:
        """True when any measure is over its limit times scale, False when all are under, None when unknown."""
        if self.other_scene:
            return True
        if self.unexplained_share is not None and self.unexplained_share >= limits.unexplained_share * scale:
            return True
        if self.displacement is not None and self.displacement >= limits.displacement * scale:
            return True
        if self.relit_share is not None and self.relit_share >= limits.relit_share * scale:
            return True
        if self.displacement is None or self.relit_share is None:
            return None
        return False

    def describe(self) -> str:
        parts = ["another scene"] if self.other_scene else []
        if self.unexplained_share is not None:
            parts.append(f"unexplained person {self.unexplained_share:.0%}")
        if self.displacement is not None:
            parts.append(f"camera moved {self.displacement:.2%} of the width")
        if self.relit_share is not None:
            parts.append(f"relit {self.relit_share:.0%} of the background")
        return ", ".join(parts)


def _small_gray(image_bgr: np.ndarray, width: int) -> np.ndarray:
    height = max(1, round(image_bgr.shape[0] * width / image_bgr.shape[1]))
    gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY) if image_bgr.ndim == 3 else image_bgr
    return cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)


def _small_mask(mask: Optional[np.ndarray], size) -> np.ndarray:
    if mask is None:
        return np.zeros(size[::-1], bool)
    return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5


def _grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    if pixels < 1 or not mask.any():
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def _locally_normalised(gray: np.ndarray) -> np.ndarray:
    """Each pixel relative to its neighbourhood's mean and contrast, as 8-bit: brightness changes drop out."""
    size = max(5, (gray.shape[1] // 20) | 1)
    image = gray.astype(np.float32)
    detail = image - cv2.blur(image, (size, size))
    normalised = detail / np.sqrt(cv2.blur(detail * detail, (size, size)) + 4.0)
    return np.clip(normalised * 40 + 128, 0, 255).astype(np.uint8)


def corner_displacement(warp: np.ndarray, width: int, height: int) -> float:
    """Largest distance that a 2x3 warp moves a corner of a width x height image."""
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float64)
    moved = corners @ warp.astype(np.float64).T
    return float(np.max(np.hypot(moved[:, 0] - corners[:, 0], moved[:, 1] - corners[:, 1])))


def align(plate_gray: np.ndarray, frame_gray: np.ndarray, background: np.ndarray,
          plate_normalised: Optional[np.ndarray] = None):
    """(displacement in pixels or None, other_scene): the motion from plate to frame, on background corners."""
    width = plate_gray.shape[1]
    corners = cv2.goodFeaturesToTrack(plate_gray, 200, 0.01, max(3, width // 40), mask=background.astype(np.uint8))
    if corners is None or len(corners) < MIN_TRACKED:
        return None, False
    if plate_normalised is None:
        plate_normalised = _locally_normalised(plate_gray)
    moved, found, _ = cv2.calcOpticalFlowPyrLK(
        plate_normalised, _locally_normalised(frame_gray), corners, None, winSize=(15, 15), maxLevel=3,
        criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 0.01))
    found = found.ravel() == 1
    tracked = int(found.sum())
    if tracked < MIN_TRACKED:
        return None, False
    warp, inliers = cv2.estimateAffinePartial2D(corners[found], moved[found], method=cv2.RANSAC,
                                                ransacReprojThreshold=max(0.5, width / 320))
    agreeing = 0 if inliers is None else int(inliers.sum())
    if warp is not None and agreeing >= MIN_INLIERS and agreeing >= MIN_INLIER_SHARE * tracked:
        return corner_displacement(warp, width, plate_gray.shape[0]), False
    other_scene = agreeing < OTHER_SCENE_INLIERS and agreeing < OTHER_SCENE_SHARE * tracked
    return None, other_scene


def relit_block_share(plate_gray: np.ndarray, frame_gray: np.ndarray, background: np.ndarray,
                      ratio_limit: float) -> Optional[float]:
    """Share of background blocks whose brightness ratio (frame / plate) departs by more than ratio_limit from
    the global change, fitted as log ratio = a + b * log plate level (exposure and contrast) on the blocks that
    agree best (trimmed least squares), so a relit part of the room cannot pull the fit towards itself.
    None when fewer than 8 blocks are usable."""
    height, width = plate_gray.shape
    rows, cols = height // BLOCK_PX, width // BLOCK_PX
    if rows < 2 or cols < 2:
        return None

    def block_means(image):
        cropped = image[:rows * BLOCK_PX, :cols * BLOCK_PX].astype(np.float32)
        return cropped.reshape(rows, BLOCK_PX, cols, BLOCK_PX).mean(axis=(1, 3))

    share = block_means(background)
    plate_levels, frame_levels = block_means(plate_gray), block_means(frame_gray)
    usable = ((share >= MIN_BLOCK_BACKGROUND) & (plate_levels > DARK_LEVEL) & (plate_levels < BRIGHT_LEVEL)
              & (frame_levels > DARK_LEVEL) & (frame_levels < BRIGHT_LEVEL))
    if usable.sum() < 8:
        return None
    log_plate = np.log(plate_levels[usable])
    log_ratio = np.log(frame_levels[usable]) - log_plate
    design = np.stack([np.ones_like(log_plate), log_plate - log_plate.mean()], axis=1)
    residual = log_ratio - np.median(log_ratio)
    for keep in (0.5, 0.6, 0.7):
        best = np.argsort(np.abs(residual))[:max(4, int(keep * len(log_ratio)))]
        coeffs = np.linalg.lstsq(design[best], log_ratio[best], rcond=None)[0]
        coeffs[1] = np.clip(coeffs[1], -MAX_CONTRAST_SLOPE, MAX_CONTRAST_SLOPE)
        residual = log_ratio - design @ coeffs
    return float(np.mean(np.abs(residual) > np.log(ratio_limit)))


class PlateComparer:
    """Measures frames against one plate (its small grey copy is made once)."""

    def __init__(self, plate_bgr: np.ndarray, limits: StaleThresholds = StaleThresholds(),
                 work_width: int = WORK_WIDTH):
        self.limits = limits
        self.work_width = work_width
        self.plate_shape = plate_bgr.shape
        self._plate_gray = _small_gray(plate_bgr, work_width)
        self._plate_normalised = _locally_normalised(self._plate_gray)

    def compare(self, frame_bgr: np.ndarray, plate_mask: np.ndarray,
                person_mask: Optional[np.ndarray]) -> PlateComparison:
        """plate_mask: the plate model's person mask for this frame; person_mask: the single-frame model's mask for
        the same frame (None when there is no single-frame model). Masks are float or bool, 1 = person, any size."""
        plate_gray = self._plate_gray
        frame_gray = _small_gray(frame_bgr, self.work_width)
        if frame_gray.shape != plate_gray.shape:
            frame_gray = cv2.resize(frame_gray, plate_gray.shape[::-1], interpolation=cv2.INTER_AREA)
        size = plate_gray.shape[::-1]
        marked = _small_mask(plate_mask, size)
        seen = _small_mask(person_mask, size)
        margin = max(1, round(PERSON_MARGIN * self.work_width))
        unexplained = None if person_mask is None else float(np.mean(marked & ~_grow(seen, margin)))
        background = ~_grow(marked | seen, margin)
        background_share = float(background.mean())
        if background_share < self.limits.min_background_share:
            return PlateComparison(background_share, unexplained, None, None)
        displacement, other_scene = align(plate_gray, frame_gray, background, self._plate_normalised)
        relit = relit_block_share(plate_gray, frame_gray, background, self.limits.relit_ratio)
        return PlateComparison(background_share, unexplained,
                               None if displacement is None else displacement / self.work_width, relit, other_scene)


class StalePlateMonitor:
    """Raises the warning when samples keep mismatching for raise_after_s; clears it when they stay clearly
    matching (under clear_scale times the limits) for clear_after_s. reset() when a new plate is taken.

    A palm seen by the tracker means a person is there: such a sample cannot raise the warning through the
    unexplained share alone, since the single-frame model may have missed that person."""

    def __init__(self, limits: StaleThresholds = StaleThresholds()):
        self.limits = limits
        self.reset()

    def reset(self) -> None:
        self.stale = False
        self.last: Optional[PlateComparison] = None
        self._mismatch_since: Optional[float] = None
        self._mismatch_samples = 0
        self._clear_since: Optional[float] = None

    def observe(self, comparison: PlateComparison, now: float, palms_seen: bool = False) -> bool:
        """Feeds one sample taken at time now (seconds); returns whether the warning is up."""
        self.last = comparison
        scale = self.limits.clear_scale if self.stale else 1.0
        mismatch = comparison.mismatch(self.limits, scale)
        if mismatch and palms_seen and comparison.unexplained_share is not None:
            # The unexplained share may be the person whose palm was seen: count only the other measures.
            without_person = PlateComparison(comparison.background_share, None, comparison.displacement,
                                             comparison.relit_share, comparison.other_scene)
            mismatch = without_person.mismatch(self.limits, scale)
        if mismatch is None:
            return self.stale
        if mismatch:
            self._clear_since = None
            if self._mismatch_since is None:
                self._mismatch_since, self._mismatch_samples = now, 0
            self._mismatch_samples += 1
            if self._mismatch_samples >= 2 and now - self._mismatch_since >= self.limits.raise_after_s:
                self.stale = True
        else:
            self._mismatch_since = None
            if self.stale:
                if self._clear_since is None:
                    self._clear_since = now
                if now - self._clear_since >= self.limits.clear_after_s:
                    self.stale = False
                    self._clear_since = None
        return self.stale

    @property
    def message(self) -> Optional[str]:
        return STALE_MESSAGE if self.stale else None


class PlateCheck:
    """Runs the check in the live app, on the segmentation worker after each plate-model frame: about once per
    every_s it runs the single-frame model on the same frame (segment_single, None when there is none), compares
    frame and plate, and feeds the monitor. on_change(text or None) hears when the warning goes up or down.
    palms_seen() says whether the palm tracker sees a palm now."""

    def __init__(self, segment_single: Optional[Callable[[np.ndarray], np.ndarray]],
                 on_change: Callable[[Optional[str]], None], palms_seen: Callable[[], bool] = lambda: False,
                 clock: Callable[[], float] = time.monotonic, every_s: float = SAMPLE_EVERY_S,
                 limits: StaleThresholds = StaleThresholds()):
        self.segment_single = segment_single
        self.on_change = on_change
        self.palms_seen = palms_seen
        self.clock = clock
        self.every_s = every_s
        self.limits = limits
        self.monitor = StalePlateMonitor(limits)
        self._plate: Optional[np.ndarray] = None
        self._comparer: Optional[PlateComparer] = None
        self._last_sample: Optional[float] = None

    def __call__(self, frame_bgr: np.ndarray, plate_bgr: Optional[np.ndarray],
                 plate_mask: Optional[np.ndarray]) -> None:
        """frame and the plate-model mask computed for it with plate (None when the plate model did not run)."""
        if plate_bgr is not self._plate:  # a new plate (or none): start over
            was_stale = self.monitor.stale
            self.monitor.reset()
            self._plate, self._last_sample = plate_bgr, None
            self._comparer = None if plate_bgr is None else PlateComparer(plate_bgr, self.limits)
            if was_stale:
                self.on_change(None)
        if self._comparer is None or plate_mask is None or frame_bgr.shape != self._comparer.plate_shape:
            return
        now = self.clock()
        if self._last_sample is not None and now - self._last_sample < self.every_s:
            return
        self._last_sample = now
        person_mask = self.segment_single(frame_bgr) if self.segment_single is not None else None
        comparison = self._comparer.compare(frame_bgr, plate_mask, person_mask)
        was_stale = self.monitor.stale
        if self.monitor.observe(comparison, now, self.palms_seen()) != was_stale:
            self.on_change(self.monitor.message)
