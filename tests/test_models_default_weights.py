"""The shipped default weights load through the engine and segment real held-out frames well.

Sets 4, 9, 16 and 20 were held out from training (see README), so these are frames the models never saw.
The bounds sit a little under the measured figures to allow for bf16/fp32 differences between CPUs.
"""
import numpy as np
import pytest

from benchmarks.cast_shadows import shadowed_frame, visible_shadow
from benchmarks.webcam_negatives import webcam_negatives
from fileio.capture_sets import list_sets, read_image, read_mask
from metrics.mask_metrics import false_positive_rate, iou
from models.segmenter import Segmenter

HELD_OUT_SETS = (4, 9, 16, 20)
# plate.pt scores 0.971 and marks 1.02 % of the shadow; its forerunner, never trained with shadows, 0.927 and 7 %.
SHADOWED_IOU_BOUND = 0.94
SHADOW_MARKED_BOUND = 0.04


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter.load("default", device="cpu")


@pytest.fixture(scope="module")
def held_out(shared):
    sets = [s for s in list_sets(shared("data", "webcam_sets")) if s.number in HELD_OUT_SETS]
    assert len(sets) == len(HELD_OUT_SETS), "held-out webcam sets are missing from the shared data"
    return sets


def frames_with_person(capture_set):
    for frame in capture_set.frames:
        truth = read_mask(frame.mask_path)
        if truth.any():
            yield read_image(frame.image_path), truth


def test_default_segmenter_holds_both_models(segmenter):
    assert segmenter.has_plate_model and segmenter.has_single_model


def test_plate_model_is_accurate_on_held_out_sets(segmenter, held_out):
    scores = []
    for capture_set in held_out:
        plate = read_image(capture_set.plate_path)
        scores += [iou(segmenter.segment(frame, plate) > 0.5, truth) for frame, truth in frames_with_person(capture_set)]
    assert len(scores) >= 12
    assert np.mean(scores) >= 0.95 and min(scores) >= 0.90, scores


def test_plate_model_stays_quiet_on_hard_empty_frames(segmenter, held_out):
    rates = []
    for capture_set in held_out:
        plate = read_image(capture_set.plate_path)
        for frame in webcam_negatives(plate, seed=capture_set.number):
            rates.append(false_positive_rate(segmenter.segment(frame, plate) > 0.5))
    assert np.mean(rates) < 0.005, rates


def test_plate_model_leaves_the_persons_own_shadow_out_of_the_mask(segmenter, held_out):
    # The benchmark's wall shadow at its darker level, whose geometry the trainer's shadows do not share.
    scores, shadow_marked = [], []
    for capture_set in held_out:
        plate = read_image(capture_set.plate_path)
        for index, (frame, truth) in enumerate(frames_with_person(capture_set)):
            seed = 100 * capture_set.number + index
            mask = segmenter.segment(shadowed_frame(frame, truth, 0.5, seed), plate) > 0.5
            shadow = visible_shadow(truth, seed) > 0.5
            scores.append(iou(mask, truth))
            shadow_marked.append((mask & shadow).sum() / max(shadow.sum(), 1))
    assert len(scores) >= 12
    assert np.mean(scores) >= SHADOWED_IOU_BOUND, scores
    assert np.mean(shadow_marked) < SHADOW_MARKED_BOUND, shadow_marked


def test_single_model_finds_the_person_without_a_plate(segmenter, held_out):
    scores = [iou(segmenter.segment(frame) > 0.5, truth)
              for capture_set in held_out for frame, truth in frames_with_person(capture_set)]
    assert np.mean(scores) >= 0.85, scores


def test_shipped_person_extractor_keeps_the_person_of_held_out_frames(held_out):
    from metrics.image_metrics import silhouette
    from models.gan.extractors import PersonExtractor
    extractor = PersonExtractor(device="cpu")
    scores = [iou(silhouette(extractor.extract(frame)), truth)
              for capture_set in held_out for frame, truth in frames_with_person(capture_set)]
    assert len(scores) >= 12
    assert np.mean(scores) >= 0.85, scores  # the goal of issue 15; measured 0.94 (README)
