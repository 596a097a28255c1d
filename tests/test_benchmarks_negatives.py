"""Hard empty frames and the OpenCV/MediaPipe baselines, on real webcam sets."""
import cv2
import numpy as np
import pytest

from benchmarks.accuracy import capture_groups, iou
from benchmarks.baselines import (AbsdiffBaseline, MediapipeSelfieBaseline, Mog2Baseline, max_channel_difference)
from benchmarks.webcam_negatives import DEFAULT_STRENGTHS, webcam_negative, webcam_negatives

SETS = (1, 5)


@pytest.fixture(scope="module")
def groups(shared):
    return capture_groups(shared("data", "webcam_sets"), SETS)


def person_samples(group):
    return [s for s in group.samples if s.truth.any()]


def empty_samples(group):
    return [s for s in group.samples if not s.truth.any()]


def test_negatives_are_deterministic_and_differ_from_the_plate(groups):
    plate = groups[0].plate
    first, again = webcam_negatives(plate, seed=1), webcam_negatives(plate, seed=1)
    assert len(first) == len(DEFAULT_STRENGTHS)
    for a, b in zip(first, again):
        assert a.shape == plate.shape and a.dtype == np.uint8
        assert np.array_equal(a, b)
        assert np.abs(a.astype(int) - plate.astype(int)).mean() > 3
    assert not np.array_equal(webcam_negatives(plate, seed=2)[0], first[0])


def test_stronger_negatives_drift_further_in_brightness(groups):
    plate = groups[0].plate
    ratios = [abs(np.log(webcam_negative(plate, s, seed=7).mean() / plate.mean())) for s in (0.2, 1.0)]
    assert ratios[1] > ratios[0] and ratios[1] > np.log(1.2)


def test_negatives_carry_a_camera_nudge_of_a_pixel_or_two(groups):
    plate = groups[0].plate
    gray_plate = cv2.cvtColor(plate, cv2.COLOR_BGR2GRAY).astype(np.float32)
    for seed in (3, 4):
        negative = cv2.cvtColor(webcam_negative(plate, 1.0, seed), cv2.COLOR_BGR2GRAY).astype(np.float32)
        (dx, dy), _ = cv2.phaseCorrelate(gray_plate, negative)
        assert 0.3 < np.hypot(dx, dy) < 2.5


def test_bad_plate_or_strength_is_refused_with_a_message(groups):
    with pytest.raises(ValueError, match="strength must be in"):
        webcam_negative(groups[0].plate, 1.5, seed=0)
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        webcam_negative(np.zeros((4, 4), np.uint8), 0.5, seed=0)


def test_plate_copies_are_replaced_by_negatives(groups):
    for group in groups:
        assert group.dropped_plate_copies == 1  # the shared sets end with a byte copy of the plate
        empties = empty_samples(group)
        assert len(empties) == len(DEFAULT_STRENGTHS) == group.empty_frames
        assert all(not np.array_equal(s.image, group.plate) for s in group.samples)
        assert len(person_samples(group)) == group.person_frames > 0


def test_negatives_are_hard_for_subtraction_but_a_plate_copy_is_not(groups):
    absdiff = AbsdiffBaseline()
    raw_rates, cleaned_rates = [], []
    for group in groups:
        assert not absdiff.predict(group.plate.copy(), group.plate).any()
        for sample in empty_samples(group):
            raw_rates.append((max_channel_difference(sample.image, group.plate) > 20).mean())
            cleaned_rates.append(absdiff.predict(sample.image, group.plate).mean())
    assert np.mean(raw_rates) > 0.5      # plain subtraction marks most of an empty frame as person
    assert np.mean(cleaned_rates) > 0.2  # even the tuned baseline with morphology


@pytest.mark.parametrize("baseline_class", [AbsdiffBaseline, Mog2Baseline])
def test_plate_baselines_find_the_person_on_real_frames(groups, baseline_class):
    baseline = baseline_class()
    ious, fp = [], []
    for group in groups:
        baseline.start_set(group.plate)
        ious += [iou(baseline.predict(s.image, group.plate), s.truth) for s in person_samples(group)]
        fp += [baseline.predict(s.image, group.plate).mean() for s in empty_samples(group)]
    assert np.mean(ious) > 0.3
    assert np.mean(fp) > 0.2


def test_mog2_must_be_primed_before_use(groups):
    with pytest.raises(RuntimeError, match="start_set"):
        Mog2Baseline().predict(groups[0].plate, groups[0].plate)


def test_mediapipe_selfie_baseline_segments_a_real_frame(groups):
    baseline = MediapipeSelfieBaseline()
    try:
        sample = person_samples(groups[0])[0]
        predicted = baseline.predict(sample.image)
        assert predicted.shape == sample.truth.shape and predicted.dtype == bool
        assert iou(predicted, sample.truth) > 0.5
    finally:
        baseline.close()
