"""models.person_gate on real frames: the single-frame model's blobs on an empty floor are cleared, people are kept
(whole, cut by the frame's edge, upside down, in motion), and the plate model's masks never go through it."""
import cv2
import numpy as np
import pytest

from fileio.capture_sets import read_image, read_mask
from metrics.mask_metrics import false_positive_rate, iou
from models.checkpoint import DEFAULT_WEIGHTS
from models.person_gate import PersonGate
from models.posenet import PoseNetWeightsError
from models.segmenter import Segmenter

# Held-out motion frames (the trainer's --val-sequences dance-twirl and hike), and frames of the two it trained on:
# a breakdancer upside down, a tennis swing.
MOTION_FRAMES = ("dance-twirl_00000", "dance-twirl_00038", "hike_00018", "hike_00038", "breakdance-flare_00018",
                 "breakdance-flare_00038", "tennis_00018")
# PyTorch fp32 for both engines, so that they differ only by the gate.
ENGINE = dict(device="cpu", runtime="torch", precision="fp32")


@pytest.fixture(scope="module")
def plain():
    return Segmenter.load(DEFAULT_WEIGHTS["single"], **ENGINE)


@pytest.fixture(scope="module")
def gated():
    return Segmenter.load(DEFAULT_WEIGHTS["single"], person_gate=True, **ENGINE)


def test_the_gate_clears_the_floor_of_an_empty_room(plain, gated, one_by_one_frames):
    room = one_by_one_frames[0]
    painted = false_positive_rate(plain.segment(room) > 0.5)
    assert painted > 0.02, "the single-frame model alone no longer paints this floor: pick a harder frame"
    assert false_positive_rate(gated.segment(room) > 0.5) < 0.005
    assert gated.person_gate.last_dropped >= 1


def test_the_gate_keeps_legs_cut_by_the_frame_edge(plain, gated, one_by_one_frames):
    frame = one_by_one_frames[696]
    right = slice(int(0.8 * frame.shape[1]), None)
    legs = (plain.segment(frame) > 0.5)[:, right]
    assert legs.sum() > 0.02 * legs.size, "the single-frame model no longer finds the legs at the right edge"
    kept = (gated.segment(frame) > 0.5)[:, right]
    assert iou(kept, legs) > 0.99


@pytest.mark.parametrize("name", MOTION_FRAMES)
def test_people_in_motion_keep_their_mask(shared, plain, gated, name):
    image = read_image(shared("data", "motion", "images", f"{name}.jpg"))
    truth = read_mask(shared("data", "motion", "masks", f"{name}.png"))
    alone = iou(plain.segment(image) > 0.5, truth)
    assert alone > 0.5, f"{name}: the single-frame model alone misses this person ({alone:.3f})"
    assert iou(gated.segment(image) > 0.5, truth) >= alone - 0.005


def test_a_blob_away_from_the_person_is_cleared_and_the_person_kept(shared):
    """Works on the network's scale: a portrait's own mask as the probability, plus a blob where nobody stands."""
    gate = PersonGate.load(shared("models", "posenet_mobilenet_v1_050.pth"))
    image = read_image(shared("data", "webcam_sets", "set9", "1.png"))
    truth = read_mask(shared("data", "webcam_sets", "set9", "1_mask.png"))
    small = (image.shape[1] // 4, image.shape[0] // 4)
    person = cv2.resize(truth.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    free = cv2.erode((person == 0).astype(np.uint8), np.ones((25, 25), np.uint8))
    ys, xs = np.nonzero(free)
    assert ys.size, "no people-free corner in this frame"
    y, x = ys[len(ys) // 2], xs[len(xs) // 2]
    probability = person.copy()
    probability[y - 6:y + 6, x - 6:x + 6] = 0.9
    result = gate.apply(image, probability)
    assert gate.last_dropped == 1
    assert not (result[y - 7:y + 7, x - 7:x + 7] > 0).any(), "the blob and its fringe are cleared"
    np.testing.assert_array_equal(result[person > 0.5], person[person > 0.5])


def test_plate_masks_never_go_through_the_gate(shared):
    frame = read_image(shared("data", "webcam_sets", "set4", "1.png"))
    plate = read_image(shared("data", "webcam_sets", "set4", "bkg.png"))
    with_gate = Segmenter.load("default", person_gate=True, **ENGINE)
    without = Segmenter.load("default", **ENGINE)
    np.testing.assert_array_equal(with_gate.segment(frame, plate), without.segment(frame, plate))
    assert with_gate.last_model == "plate" and with_gate.person_gate.last_dropped == 0
    assert "person gate" in with_gate.describe()


def test_a_gate_needs_a_single_frame_model_and_posenet_weights(tmp_path):
    from models.plate_net import PlateNet
    with pytest.raises(ValueError, match="single-frame"):
        Segmenter(plate_model=PlateNet(), person_gate=object())
    with pytest.raises(ValueError, match="single-frame"):
        Segmenter(plate_model=PlateNet()).with_person_gate(object())
    missing = tmp_path / "nosuch.pth"
    with pytest.raises(PoseNetWeightsError, match="nosuch.pth"):
        PersonGate.load(missing)
