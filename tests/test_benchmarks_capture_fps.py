"""The live-loop benchmark end to end for one case, with a tiny untrained plate checkpoint (no rate asserts beyond
"the model produced results")."""
import re

import torch

from benchmarks import capture_fps
from models.checkpoint import save_checkpoint
from models.plate_net import PlateNet, PlateNetConfig


def test_one_case_prints_the_machine_the_age_of_results_and_the_summary_line(shared, tmp_path, capsys):
    torch.manual_seed(0)
    checkpoint = tmp_path / "plate.pt"
    save_checkpoint(checkpoint, PlateNet(PlateNetConfig(channels=(8, 8, 16, 16), decoder_channels=8)))
    code = capture_fps.main(["--weights", str(checkpoint), "--size", "320x240", "--fps", "30", "--palm", "none",
                             "--seconds", "1", "--runtime", "onnxruntime"])
    lines = capsys.readouterr().out.rstrip("\n").splitlines()
    assert code == 0
    summary = re.fullmatch(r"display_fps=(\d+\.\d) model_per_s=(\d+\.\d)", lines[-1])
    assert summary and float(summary.group(1)) > 0 and float(summary.group(2)) > 0
    text = "\n".join(lines)
    assert re.search(r"^CPU: .*(AVX2|AVX-512)", text, re.MULTILINE)
    assert re.search(r"^Engine: plate: onnxruntime fp32", text, re.MULTILINE)
    assert re.search(r"^memory: resident \d+ MB now, \d+ MB peak$", text, re.MULTILINE)
    case = next(line for line in lines if line.startswith("live loop + workers, plate model, 320x240, 30 fps"))
    assert re.search(r"\d+ / \d+$", case)  # result age: median / 90th percentile, in ms
    assert any(line.startswith("baseline: synchronous, plate model, 320x240, 30 fps") for line in lines)
