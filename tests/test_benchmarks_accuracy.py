"""The accuracy benchmark CLI end to end on real shared data, with tiny untrained checkpoints."""
import re

import cv2
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
    assert "load a single-frame model" in capsys.readouterr().err  # the engine's own refusal, one line


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


def test_motion_sequences_are_scored_per_sequence_beside_people_free_frames(shared, checkpoints, capsys, tmp_path):
    motion, video = shared("data", "motion"), shared("data", "videos", "one_by_one_person_detection.mp4")
    grid = tmp_path / "worst.png"
    code = accuracy.main(["--data", str(motion), "--sequences", "hike,tennis", "--limit", "2",
                          "--data", str(shared("data", "portraits", "ccp")),
                          "--empty", str(video), "--empty", f"{video}@20", "--model", str(checkpoints / "single.pt"),
                          "--no-mediapipe", "--worst", "2", "--grid", str(grid)])
    lines = output_lines(capsys)
    assert code == 0, lines
    assert LAST_LINE.match(lines[-1])
    assert any(re.match(r"^motion/hike\s+2\s+0\s", line) for line in lines)
    assert any(re.match(r"^motion/tennis\s+2\s+0\s", line) for line in lines)
    assert not any(line.startswith("motion/dance-twirl") for line in lines)
    assert any(re.match(r"^motion\s+4\s", line) for line in lines), "a per --data mean"
    empty_rows = [line.split() for line in lines if line.startswith("empty:one_by_one")]
    assert [row[0] for row in empty_rows] == ["empty:one_by_one_person_detection.mp4@0",
                                              "empty:one_by_one_person_detection.mp4@20"]
    # One frame each, with its own plate, so the plate baselines run on them: every column has a figure.
    assert all(row[1] == "1" and "n/a" not in row for row in empty_rows)
    picture = cv2.imread(str(grid))
    assert f"worst frames of ours (single): {grid}" in lines
    # The single-frame model runs behind the PoseNet person gate, and once more without it in the same run.
    summary = {line.split("  ")[0]: line for line in lines}
    assert "ours (single)" in summary and "ours (single, no gate)" in summary
    assert picture is not None and picture.shape[0] > 180 and picture.shape[1] == 4 * (320 + 4)


def test_unknown_sequence_is_named_with_the_available_ones(shared, checkpoints, capsys):
    code = accuracy.main(["--data", str(shared("data", "motion")), "--sequences", "nosuch",
                          "--model", str(checkpoints / "single.pt")])
    assert code == 2
    err = capsys.readouterr().err
    assert "nosuch" in err and "hike" in err and "Traceback" not in err


def test_held_out_backgrounds_are_exactly_the_ones_the_trainer_kept_out(shared):
    from training.data import load_pool
    backgrounds = shared("data", "backgrounds")
    pool = load_pool([shared("data", "webcam_sets", "set1")], [backgrounds], val_sets=set(), val_backgrounds=0.15,
                     seed=2, warn=lambda message: None)
    group = accuracy.empty_group(str(backgrounds), held_out=0.15, seed=2)
    assert [s.name for s in group.samples] == [f"backgrounds/{p.name}" for p in pool.val_backgrounds]
    for sample in group.samples:  # each frame is its own picture a moment later, scored against that plate
        assert sample.plate.shape == sample.image.shape and not sample.truth.any()
        assert 2 < np.abs(sample.image.astype(float) - sample.plate).mean() < 60


def test_worst_frames_colour_misses_blue_and_false_positives_red():
    truth = np.zeros((60, 80), bool)
    truth[10:50, 10:40] = True
    image = np.full((60, 80, 3), 128, np.uint8)
    predicted = np.zeros_like(truth)
    predicted[10:50, 25:60] = True  # half the person found, and a false positive beside it
    worst = accuracy.WorstFrames(1, tile_height=60)
    worst.add("g", accuracy.Sample("good", image, truth), truth)
    worst.add("g", accuracy.Sample("bad", image, truth), predicted)
    worst.add("g", accuracy.Sample("empty-ok", image, np.zeros_like(truth)), np.zeros_like(truth))
    frames = worst.frames()
    assert [name for _, name, _, _ in frames] == ["bad"]
    tile = frames[0][3]
    blue, green, red = tile[30, 15], tile[30, 30], tile[30, 50]
    assert blue[0] > 150 and blue[2] < 100
    assert green[1] > 150 and green[0] < 100 and green[2] < 100
    assert red[2] > 150 and red[0] < 100
    assert (tile[5, 5] == 128).all()
