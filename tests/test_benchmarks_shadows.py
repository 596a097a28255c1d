"""Cast-shadow frames of the accuracy benchmark, on real webcam sets."""
import numpy as np
import pytest
import torch

from benchmarks import accuracy
from benchmarks.accuracy import capture_groups, evaluate
from benchmarks.baselines import AbsdiffBaseline
from benchmarks.cast_shadows import DARKNESS_LEVELS, shadowed_frame
from models.checkpoint import save_checkpoint
from models.plate_net import PlateNet, PlateNetConfig


@pytest.fixture(scope="module")
def set4(shared):
    plain, shadowed = capture_groups(shared("data", "webcam_sets"), [4], shadows=True)
    return plain, shadowed


def first_person(group):
    return next(s for s in group.samples if s.truth.any())


def test_the_shadow_darkens_the_scene_beside_the_person_and_spares_the_person(set4):
    sample = first_person(set4[0])
    shadowed = shadowed_frame(sample.image, sample.truth, 0.5, seed=3)
    assert np.array_equal(shadowed[sample.truth], sample.image[sample.truth])
    ratio = (shadowed.astype(np.float32) + 1) / (sample.image.astype(np.float32) + 1)
    darkened = ratio.mean(axis=2) < 0.9
    assert not (darkened & sample.truth).any()
    assert 0.45 < ratio.min() < 0.6  # half the light taken away at the shadow's core
    person_area = sample.truth.sum()
    assert 0.2 * person_area < darkened.sum() < 1.5 * person_area  # a person-sized shadow, partly hidden
    ys, xs = np.nonzero(sample.truth)
    shadow_xs = np.nonzero(darkened)[1]
    assert abs(shadow_xs.mean() - xs.mean()) > 0.2 * (xs.max() - xs.min())  # thrown sideways


def test_shadows_are_seeded(set4):
    sample = first_person(set4[0])
    first = shadowed_frame(sample.image, sample.truth, 0.3, seed=1)
    assert np.array_equal(first, shadowed_frame(sample.image, sample.truth, 0.3, seed=1))
    assert not np.array_equal(first, shadowed_frame(sample.image, sample.truth, 0.3, seed=2))
    with pytest.raises(ValueError, match="darkness"):
        shadowed_frame(sample.image, sample.truth, 1.0, seed=1)


def test_each_set_gets_a_shadowed_group_of_its_person_frames_with_unchanged_truth(set4):
    plain, shadowed = set4
    people = [s for s in plain.samples if s.truth.any()]
    assert shadowed.label == "set4 shadowed" and shadowed.source == "webcam_sets shadowed"
    assert shadowed.person_frames == len(people) * len(DARKNESS_LEVELS) and shadowed.empty_frames == 0
    assert shadowed.plate is plain.plate
    for index, sample in enumerate(shadowed.samples):
        assert np.array_equal(sample.truth, people[index // len(DARKNESS_LEVELS)].truth)


def test_a_shadow_fools_plain_plate_subtraction(set4):
    scores = evaluate(list(set4), [AbsdiffBaseline()], progress=False)["absdiff+morph"]
    assert scores["set4 shadowed"].mean_iou < scores["set4"].mean_iou - 0.01


def test_the_cli_reports_shadowed_sets_beside_the_plain_ones(shared, tmp_path, capsys):
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "plate.pt", PlateNet(PlateNetConfig(channels=(8, 8, 16, 16), decoder_channels=8)))
    code = accuracy.main(["--data", str(shared("data", "webcam_sets")), "--sets", "9", "--cast-shadows",
                          "--model", str(tmp_path / "plate.pt"), "--no-mediapipe"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert any(line.startswith("set9 shadowed ") for line in lines)
    assert any(line.startswith("webcam_sets shadowed ") for line in lines)
