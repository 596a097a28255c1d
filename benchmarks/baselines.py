"""OpenCV (and MediaPipe) baselines that the benchmarks print beside our model.

Every baseline has the same small interface: `start_set(plate)` once per capture set (or per portrait, with no
plate), then `predict(frame, plate) -> bool HxW mask`. `needs_plate` says whether it can run without a plate.

Protocols:
- absdiff + morphology: a pixel is person when the largest of its three channel differences from the plate
  exceeds ABSDIFF_THRESHOLD; the mask is then opened (drops speckle) and closed (fills holes in the body).
- MOG2: OpenCV's Gaussian-mixture background model has no notion of "the plate", only a history. For each set a
  fresh model is primed on the plate followed by MOG2_PRIME_FRAMES - 1 copies with fresh Gaussian sensor noise
  (sigma MOG2_PRIME_NOISE), so it learns the plate's colours and a noise variance. Each frame is then classified
  with learningRate=0, so the model never absorbs the frame: that is the same as re-priming before every frame,
  at a fraction of the cost. Shadows are off; the foreground gets the same open/close clean-up as absdiff.
- MediaPipe selfie segmentation (bundled with mediapipe 0.10.x, runs offline): a single-frame model, so it needs
  no plate; the general (256x256) model, thresholded at 0.5.
"""
import contextlib
import os
from typing import Optional

import cv2
import numpy as np

ABSDIFF_THRESHOLD = 40  # 8-bit levels; the best mean IoU on the shared sets among 15..50 (favours the baseline)
OPEN_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
CLOSE_KERNEL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
MOG2_PRIME_FRAMES = 10
MOG2_PRIME_NOISE = 4.0
MOG2_VAR_THRESHOLD = 100.0  # tuned like ABSDIFF_THRESHOLD; 16 (the default) marks most of a drifted frame
MOG2_SEED = 0
MEDIAPIPE_THRESHOLD = 0.5


def clean_mask(mask: np.ndarray) -> np.ndarray:
    """Open then close a boolean mask; returns a boolean mask."""
    mask = mask.astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, OPEN_KERNEL)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, CLOSE_KERNEL)
    return mask.astype(bool)


def max_channel_difference(frame_bgr: np.ndarray, plate_bgr: np.ndarray) -> np.ndarray:
    return cv2.absdiff(frame_bgr, plate_bgr).max(axis=2)


class AbsdiffBaseline:
    name = "absdiff+morph"
    needs_plate = True

    def __init__(self, threshold: int = ABSDIFF_THRESHOLD):
        self.threshold = threshold

    def start_set(self, plate_bgr: Optional[np.ndarray]) -> None:
        pass

    def predict(self, frame_bgr: np.ndarray, plate_bgr: np.ndarray) -> np.ndarray:
        return clean_mask(max_channel_difference(frame_bgr, plate_bgr) > self.threshold)

    def close(self) -> None:
        pass


class Mog2Baseline:
    name = "MOG2"
    needs_plate = True

    def __init__(self, prime_frames: int = MOG2_PRIME_FRAMES, prime_noise: float = MOG2_PRIME_NOISE,
                 var_threshold: float = MOG2_VAR_THRESHOLD):
        self.prime_frames = prime_frames
        self.prime_noise = prime_noise
        self.var_threshold = var_threshold
        self.subtractor = None

    def start_set(self, plate_bgr: Optional[np.ndarray]) -> None:
        if plate_bgr is None:
            self.subtractor = None
            return
        self.subtractor = cv2.createBackgroundSubtractorMOG2(
            history=self.prime_frames, varThreshold=self.var_threshold, detectShadows=False)
        rng = np.random.default_rng(MOG2_SEED)
        self.subtractor.apply(plate_bgr)
        plate = plate_bgr.astype(np.float32)
        for _ in range(self.prime_frames - 1):
            noisy = plate + rng.normal(0.0, self.prime_noise, plate.shape).astype(np.float32)
            self.subtractor.apply(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))

    def predict(self, frame_bgr: np.ndarray, plate_bgr: np.ndarray) -> np.ndarray:
        if self.subtractor is None:
            raise RuntimeError("MOG2 was not primed: call start_set(plate) first")
        foreground = self.subtractor.apply(frame_bgr, learningRate=0)
        return clean_mask(foreground > 127)

    def close(self) -> None:
        self.subtractor = None


@contextlib.contextmanager
def _quiet_stderr():
    """MediaPipe's native code logs to fd 2 at start-up; keep benchmark output readable."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class MediapipeSelfieBaseline:
    """Raises ImportError (with the reason) when mediapipe's selfie segmentation is not available."""
    name = "MediaPipe selfie"
    needs_plate = False

    def __init__(self, model_selection: int = 0, threshold: float = MEDIAPIPE_THRESHOLD):
        os.environ.setdefault("GLOG_minloglevel", "2")
        try:
            with _quiet_stderr():
                import mediapipe as mp
                self._solution = mp.solutions.selfie_segmentation.SelfieSegmentation(
                    model_selection=model_selection)
                # The first call builds the TFLite interpreter (and logs); do it now, out of the timings.
                self._solution.process(np.zeros((64, 64, 3), np.uint8))
        except Exception as exc:  # missing package, missing bundled model, broken protobuf, ...
            raise ImportError(f"MediaPipe selfie segmentation unavailable: {type(exc).__name__}: {exc}") from exc
        self.threshold = threshold

    def start_set(self, plate_bgr: Optional[np.ndarray]) -> None:
        pass

    def predict(self, frame_bgr: np.ndarray, plate_bgr: Optional[np.ndarray] = None) -> np.ndarray:
        result = self._solution.process(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))
        probability = result.segmentation_mask
        if probability is None:
            return np.zeros(frame_bgr.shape[:2], dtype=bool)
        return probability > self.threshold

    def close(self) -> None:
        self._solution.close()


def build_baselines(use_mediapipe: bool = True):
    """(baselines, notes): every baseline that can run here, and a note for each one that cannot."""
    baselines, notes = [AbsdiffBaseline(), Mog2Baseline()], []
    if use_mediapipe:
        try:
            baselines.append(MediapipeSelfieBaseline())
        except ImportError as exc:
            notes.append(str(exc))
    return baselines, notes
