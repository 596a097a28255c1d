"""The speed benchmark CLI end to end on a real frame, with a tiny untrained checkpoint (no timing asserts)."""
import re

import pytest
import torch

from benchmarks import speed
from models.checkpoint import save_checkpoint
from models.plate_net import PlateNet, PlateNetConfig
from models.runtime_choice import candidates


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    save_checkpoint(folder / "plate.pt", PlateNet(PlateNetConfig(channels=(8, 8, 16, 16), decoder_channels=8)))
    return folder


def precisions_here(runtime="auto"):
    """A regex of the precisions the engine may pick on this CPU: fp32 on AVX2; bf16 too where the CPU has it."""
    return "(?:" + "|".join(sorted({precision for _, precision in candidates(torch.device("cpu"), runtime)})) + ")"


def output_lines(capsys):
    return capsys.readouterr().out.rstrip("\n").splitlines()


def test_speed_prints_a_table_with_baselines_and_the_last_line(shared, checkpoints, capsys):
    code = speed.main(["--model", str(checkpoints / "plate.pt"), "--repeats", "3", "--warmup", "1",
                       "--size", "320x240", "--runtime", "torch"])
    lines = output_lines(capsys)
    assert code == 0
    assert re.match(r"^ms_per_frame=\d+\.\d$", lines[-1])
    assert "resized to 320x240" in "\n".join(lines)
    rows = {line.split("  ")[0].strip(): line for line in lines}
    assert {"absdiff+morph", "MOG2", "MediaPipe selfie"} <= set(rows)
    # On a bf16 CPU the measured choice may be bf16 on one run and fp32 on the next.
    assert any(re.fullmatch(rf"ours \(plate, torch {precisions_here('torch')}\)", row) for row in rows)
    assert rows["MediaPipe selfie"].split()[-1] == "1.00"  # the "x MediaPipe" column is relative to it


def test_speed_names_the_cpu_instruction_set_and_compares_runtimes_in_one_run(checkpoints, capsys):
    from models.runtimes import runtime_missing
    installed = [name for name in ("torch", "openvino", "onnxruntime") if not runtime_missing(name)]
    code = speed.main(["--model", str(checkpoints / "plate.pt"), "--repeats", "2", "--warmup", "0",
                       "--size", "256x192", "--runtime", "all", "--no-mediapipe"])
    text = capsys.readouterr().out
    assert code == 0
    cpu_line = next(line for line in text.splitlines() if line.startswith("CPU: "))
    assert re.search(r"AVX2|AVX-512", cpu_line) and "PyTorch kernels:" in cpu_line
    for runtime in installed:
        assert re.search(rf"^ours \(plate, {runtime} {precisions_here(runtime)}\)\s+yes\s", text, re.MULTILINE)


def test_speed_times_the_single_model_without_a_plate(capsys):
    code = speed.main(["--model", "single", "--untrained", "--repeats", "2", "--warmup", "0", "--no-mediapipe",
                       "--size", "256x192"])
    lines = output_lines(capsys)
    assert code == 0
    assert any(re.match(rf"^ours \(single, \w+ {precisions_here()}, measured choice\)\s+no\s", line) for line in lines)
    assert "untrained single architecture" in "\n".join(lines)
    # What the app runs before a plate exists, timed in the same rounds; --no-person-gate leaves it out.
    assert any(re.match(rf"^ours \(single \+ person gate, \w+ {precisions_here()}\)\s+no\s", line) for line in lines)
    code = speed.main(["--model", "single", "--untrained", "--repeats", "2", "--warmup", "0", "--no-mediapipe",
                       "--size", "256x192", "--no-person-gate"])
    assert code == 0 and "person gate" not in "\n".join(output_lines(capsys))


def test_speed_refuses_untrained_with_a_checkpoint_path(checkpoints, capsys):
    assert speed.main(["--untrained", "--model", str(checkpoints / "plate.pt")]) == 2
    assert "--untrained" in capsys.readouterr().err


def test_speed_explains_a_bad_size(capsys):
    assert speed.main(["--size", "big"]) == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
