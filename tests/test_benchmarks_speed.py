"""The speed benchmark CLI end to end on a real frame, with a tiny untrained checkpoint (no timing asserts)."""
import re

import pytest
import torch

from benchmarks import speed
from models.checkpoint import save_checkpoint
from models.plate_net import PlateNet, PlateNetConfig


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    save_checkpoint(folder / "plate.pt", PlateNet(PlateNetConfig(channels=(8, 8, 16, 16), decoder_channels=8)))
    return folder


def output_lines(capsys):
    return capsys.readouterr().out.rstrip("\n").splitlines()


def test_speed_prints_a_table_with_baselines_and_the_last_line(shared, checkpoints, capsys):
    code = speed.main(["--model", str(checkpoints / "plate.pt"), "--repeats", "3", "--warmup", "1",
                       "--size", "320x240"])
    lines = output_lines(capsys)
    assert code == 0
    assert re.match(r"^ms_per_frame=\d+\.\d$", lines[-1])
    assert "resized to 320x240" in "\n".join(lines)
    rows = {line.split("  ")[0].strip() for line in lines}
    assert {"ours (plate)", "absdiff+morph", "MOG2", "MediaPipe selfie"} <= rows


def test_speed_times_the_single_model_without_a_plate(capsys):
    code = speed.main(["--model", "single", "--untrained", "--repeats", "2", "--warmup", "0", "--no-mediapipe",
                       "--size", "256x192"])
    lines = output_lines(capsys)
    assert code == 0
    assert any(re.match(r"^ours \(single\)\s+no\s", line) for line in lines)
    assert "untrained single architecture" in "\n".join(lines)


def test_speed_refuses_untrained_with_a_checkpoint_path(checkpoints, capsys):
    assert speed.main(["--untrained", "--model", str(checkpoints / "plate.pt")]) == 2
    assert "--untrained" in capsys.readouterr().err


def test_speed_explains_a_bad_size(capsys):
    assert speed.main(["--size", "big"]) == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
