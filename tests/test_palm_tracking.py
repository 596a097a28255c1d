"""One-Euro smoothing, palm association, tracker choice, and both trackers on real photos (../shared)."""
import cv2
import numpy as np
import pytest

import models.posenet.weights as posenet_weights
from app.one_euro import OneEuroFilter
from app.palm_tracking import (MediaPipePalmTracker, PalmPoint, PalmSmoother, PoseNetPalmTracker,
                               make_palm_tracker, palm_from_arm)
from models.posenet.weights import SHIPPED_WEIGHTS, find_weights

# Photos where both hands are visible (found by scanning the set); each hand is well inside the frame.
HAND_PHOTOS = ("0025", "0049", "0193", "0321", "0353", "0465")


def test_one_euro_holds_a_still_value_and_tames_jitter():
    rng = np.random.default_rng(0)
    filt = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    noisy = 100 + rng.normal(0, 4, 120)
    out = np.array([filt(v, i / 30) for i, v in enumerate(noisy)])
    assert np.std(out[30:]) < 0.4 * np.std(noisy[30:])
    assert abs(np.mean(out[30:]) - 100) < 2


def test_one_euro_beta_cuts_lag_on_fast_moves():
    slow, fast = OneEuroFilter(1.0, beta=0.0), OneEuroFilter(1.0, beta=0.05)
    ramp = [(i * 20.0, i / 30) for i in range(30)]  # 600 px/s
    lag_slow = [x - slow(x, t) for x, t in ramp][-1]
    lag_fast = [x - fast(x, t) for x, t in ramp][-1]
    assert lag_fast < 0.5 * lag_slow


def test_one_euro_filters_points_and_ignores_repeated_timestamps():
    filt = OneEuroFilter(1.0, 0.0)
    first = filt((10.0, 20.0), 0.0)
    assert np.allclose(first, (10, 20))
    assert np.allclose(filt((50.0, 60.0), 0.0), first)
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0)


def test_smoother_keeps_each_palm_with_its_own_filter():
    smoother = PalmSmoother(min_cutoff=1.0, beta=0.0)
    left, right = PalmPoint(100, 100, 1), PalmPoint(500, 100, 1)
    smoother([left, right], 0.0, (640, 480))
    out = smoother([PalmPoint(510, 100, 1), PalmPoint(110, 100, 1)], 1 / 30, (640, 480))
    # Each output follows the input in its own slot, pulled back toward its own history only.
    assert 100 < out[0].x < 510 and out[0].x > 400
    assert 100 < out[1].x < 110


def test_palm_lies_beyond_the_wrist_along_the_forearm():
    assert palm_from_arm((100, 100), (100, 200), extension=0.3) == (100, 230)


def test_tracker_choices_and_reasons(tmp_path, monkeypatch, shared):
    monkeypatch.delenv("BACKPLATE_POSENET_WEIGHTS", raising=False)
    assert make_palm_tracker("none", None) == (None, "palm tracking off (--palm none)")
    with pytest.raises(ValueError, match="auto"):
        make_palm_tracker("hands", None)
    # A fresh install with no network and no flags: PoseNet from the shipped weights.
    assert find_weights() == SHIPPED_WEIGHTS
    tracker, reason = make_palm_tracker("auto", None)
    assert tracker.name == "posenet" and SHIPPED_WEIGHTS.name in reason
    tracker, reason = make_palm_tracker("posenet", str(tmp_path / "missing.pth"))
    assert tracker is None and "missing.pth" in reason
    tracker, reason = make_palm_tracker("mediapipe", None)
    try:
        assert tracker.name == "mediapipe" and reason == "palms: MediaPipe Hands"
    finally:
        tracker.close()
    # The environment variable comes before the shipped file.
    chosen = tmp_path / "chosen.pth"
    chosen.symlink_to(shared("models", "posenet_mobilenet_v1_050.pth"))
    monkeypatch.setenv("BACKPLATE_POSENET_WEIGHTS", str(chosen))
    assert find_weights() == chosen
    # An install stripped of the shipped file falls back to MediaPipe Hands and says why.
    monkeypatch.delenv("BACKPLATE_POSENET_WEIGHTS")
    monkeypatch.setattr(posenet_weights, "SHIPPED_WEIGHTS", tmp_path / "stripped.pth")
    tracker, reason = make_palm_tracker("auto", None)
    try:
        assert tracker.name == "mediapipe" and "no PoseNet weights" in reason and "reinstall" in reason
    finally:
        tracker.close()


@pytest.fixture(scope="module")
def hand_photos(shared):
    root = shared("data", "portraits", "ccp")
    return [(cv2.imread(str(root / "images" / f"{i}.jpg")),
             cv2.imread(str(root / "masks" / f"{i}.png"), cv2.IMREAD_GRAYSCALE) > 127) for i in HAND_PHOTOS]


@pytest.fixture(scope="module")
def posenet_palms(shared, hand_photos):
    tracker = PoseNetPalmTracker(shared("models", "posenet_mobilenet_v1_050.pth"))
    return [tracker.raw_palms(image) for image, _ in hand_photos]


def near_mask(mask, x, y, radius=25):
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    h, w = mask.shape
    return 0 <= x < w and 0 <= y < h and bool(grown[int(y), int(x)])


def test_posenet_palms_are_on_the_person_in_frame_coordinates(hand_photos, posenet_palms):
    for (image, mask), palms in zip(hand_photos, posenet_palms):
        subject = [p for p in palms if near_mask(mask, p.x, p.y)]
        assert len(subject) >= 2, palms  # both hands of the subject
        # Palms hang below the shoulders: well into the frame's lower half for these standing people.
        assert all(p.y > 0.3 * image.shape[0] for p in subject)


def test_posenet_tracker_returns_full_frame_coordinates_for_a_large_frame(shared, hand_photos, posenet_palms):
    tracker = PoseNetPalmTracker(shared("models", "posenet_mobilenet_v1_050.pth"))
    image, _ = hand_photos[0]
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    small_palms = sorted((p.x, p.y) for p in posenet_palms[0])
    big_palms = sorted((p.x / 2, p.y / 2) for p in tracker.update(big))
    assert len(big_palms) == len(small_palms)
    assert np.allclose(big_palms, small_palms, atol=12)


def test_mediapipe_finds_the_same_palms_as_posenet(hand_photos, posenet_palms):
    """Two independent models agree: each MediaPipe palm on the subject has a PoseNet palm nearby."""
    tracker = MediaPipePalmTracker(static_images=True, work_width=10_000)
    try:
        found = 0
        for (image, mask), pose_palms in zip(hand_photos, posenet_palms):
            for palm in tracker.raw_palms(image):
                assert near_mask(mask, palm.x, palm.y), (palm, "MediaPipe palm off the person")
                nearest = min(np.hypot(palm.x - p.x, palm.y - p.y) for p in pose_palms)
                assert nearest < 0.06 * image.shape[0], (palm, pose_palms)
                found += 1
        assert found >= 8
    finally:
        tracker.close()
