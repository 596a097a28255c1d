"""The accuracy benchmark CLI end to end on real shared data, with tiny untrained checkpoints."""
import re

import numpy as np
import pytest
import torch

from benchmarks import accuracy
from benchmarks.accuracy import capture_groups, evaluate
from models.checkpoint import save_checkpoint
from models.plate_net import PlateNet, PlateNetConfig
from models.unet import LikeUnet, LikeUnetConfig

LAST_LINE = re.compile(r"^mean_iou=(\d\.\d{3}|nan) fp_rate=(\d\.\d{4}|nan) ms_per_frame=\d+\.\d$")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    save_checkpoint(folder / "plate.pt", PlateNet(PlateNetConfig(channels=(8, 8, 16, 16), decoder_channels=8)))
    save_checkpoint(folder / "single.pt", LikeUnet(LikeUnetConfig(channels=(8, 8, 16, 16, 16))))
    return folder


def output_lines(capsys):
    return capsys.readouterr().out.rstrip("\n").splitlines()


def test_accuracy_on_two_real_sets_prints_baselines_and_the_exact_last_line(shared, checkpoints, capsys):
    sets = shared("data", "webcam_sets")
    code = accuracy.main(["--data", str(sets), "--sets", "1,5", "--model", str(checkpoints / "plate.pt")])
    lines = output_lines(capsys)
    assert code == 0
    assert LAST_LINE.match(lines[-1]), lines[-1]
    text = "\n".join(lines)
    assert "2 byte copies of the plate dropped" in text
    summary = {line.split("  ")[0].strip(): line.split() for line in lines
               if line.startswith(("ours", "absdiff", "MOG2", "MediaPipe"))}
    assert {"ours (plate)", "absdiff+morph", "MOG2", "MediaPipe selfie"} <= set(summary)
    # Summary rows: method, plate, mean IoU, fp rate, ms/frame. The hard negatives fool plain subtraction.
    absdiff_row = summary["absdiff+morph"]
    assert float(absdiff_row[2]) > 0.3 and float(absdiff_row[3]) > 0.2
    assert any(line.startswith("set1 ") for line in lines) and any(line.startswith("set5 ") for line in lines)


def test_evaluate_scores_a_method_that_marks_everything(shared):
    groups = capture_groups(shared("data", "webcam_sets"), [5])

    class MarksEverything:
        name, needs_plate = "all", True

        def start_set(self, plate):
            pass

        def predict(self, frame, plate):
            return np.ones(frame.shape[:2], dtype=bool)

    scores = evaluate(groups, [MarksEverything()], progress=False)["all"]
    person = [s.truth for s in groups[0].samples if s.truth.any()]
    assert scores["all"].fp_rate == 1.0
    assert scores["all"].mean_iou == pytest.approx(np.mean([t.mean() for t in person]))
    assert len(scores["set5"].latencies_ms) == groups[0].person_frames + groups[0].empty_frames


def test_accuracy_on_portraits_honours_limit_and_shows_plate_baselines_as_na(shared, checkpoints, capsys):
    portraits = shared("data", "portraits", "ccp")
    code = accuracy.main(["--data", str(portraits), "--limit", "2", "--model", str(checkpoints / "single.pt"),
                          "--no-mediapipe"])
    lines = output_lines(capsys)
    assert code == 0
    assert LAST_LINE.match(lines[-1]) and "fp_rate=nan" in lines[-1]
    assert any(re.match(r"^ccp\s+2\s+0\s", line) for line in lines)
    assert any(line.startswith("MOG2") and "n/a" in line for line in lines)
    assert "Summary: 2 frames with a person" in "\n".join(lines)


@pytest.mark.parametrize("arguments, message", [
    (["--sets", "3"], "no set3/"),
    (["--sets", "1", "--threshold", "1.5"], "--threshold 1.5"),
    (["--sets", "1", "--model", "missing.pt"], "checkpoint not found: missing.pt"),
])
def test_accuracy_explains_bad_input_without_a_traceback(shared, checkpoints, capsys, arguments, message):
    code = accuracy.main(["--data", str(shared("data", "webcam_sets"))] + arguments)
    assert code == 2
    assert message in capsys.readouterr().err


def test_plate_model_on_portraits_is_refused_with_the_fix(shared, checkpoints, capsys):
    code = accuracy.main(["--data", str(shared("data", "portraits", "ccp")), "--limit", "1",
                          "--model", str(checkpoints / "plate.pt")])
    assert code == 2
    assert "use --model single" in capsys.readouterr().err


def test_unknown_folder_layout_names_the_expected_layouts(tmp_path, capsys):
    assert accuracy.main(["--data", str(tmp_path)]) == 2
    assert "neither capture sets" in capsys.readouterr().err


def test_held_out_portraits_are_exactly_the_ones_the_trainer_held_out(shared):
    from training.data import load_pool
    portraits = shared("data", "portraits")
    folders = accuracy.portrait_folders(portraits)
    pool = load_pool(folders, val_fraction=0.1, seed=3, warn=lambda message: None)
    groups = accuracy.portrait_groups(portraits, held_out=0.1, seed=3)
    benchmarked = {f"{group.label}/{pair.image_path.stem}" for group in groups for pair in group.samples.pairs}
    assert benchmarked == {photo.name for photo in pool.val_photos}
    everything = sum(len(accuracy.list_portraits(folder)) for folder in folders)
    assert 0.08 * everything < len(benchmarked) < 0.12 * everything
    other_seed = accuracy.portrait_groups(portraits, held_out=0.1, seed=4)
    assert benchmarked != {f"{g.label}/{p.image_path.stem}" for g in other_seed for p in g.samples.pairs}


@pytest.mark.parametrize("data, arguments, message", [
    (("data", "portraits"), ["--held-out", "1.5"], "--held-out 1.5"),
    (("data", "webcam_sets"), ["--held-out", "0.1"], "name the held-out sets with --sets"),
])
def test_bad_held_out_requests_are_explained(shared, checkpoints, capsys, data, arguments, message):
    code = accuracy.main(["--data", str(shared(*data)), "--model", str(checkpoints / "single.pt")] + arguments)
    assert code == 2
    assert message in capsys.readouterr().err
