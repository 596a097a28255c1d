"""Short real training runs: the loss falls, a killed run resumes exactly, checkpoints evaluate and export."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from models.checkpoint import load_checkpoint, read_checkpoint
from fileio.shared_data import REPO_ROOT
from training.__main__ import main as training_main
from training.data import load_pool
from training.loop import TrainSamples, TrainSettings, train

SMALL = (96, 128)  # (height, width): a quarter of the real crop, to keep the tests fast on 2 cores


@pytest.fixture(scope="module")
def sets_root(shared, tmp_path_factory):
    root = tmp_path_factory.mktemp("sets")
    for number in (1, 2, 5, 4):
        os.symlink(shared("data", "webcam_sets", f"set{number}"), root / f"set{number}")
    return root


@pytest.fixture(scope="module")
def pool(sets_root, shared):
    return load_pool([sets_root], [shared("data", "backgrounds")], val_sets={4}, seed=0, need_plates=True)


def settings(tmp_path, **changes) -> TrainSettings:
    values = dict(model="plate", iterations=12, batch_size=2, size=SMALL, lr=2e-3, seed=0, val_every=6,
                  log_every=1, device="cpu", out=tmp_path, progress=False)
    values.update(changes)
    return TrainSettings(**values)


def test_a_short_run_on_real_sets_lowers_the_loss_and_writes_its_outputs(pool, tmp_path):
    torch.set_num_threads(1)
    metrics = train(settings(tmp_path, iterations=40, batch_size=4, val_every=20, lr=3e-3), pool)
    payload = read_checkpoint(tmp_path / "last.pt")
    losses = [row["loss"] for row in payload["history"] if row.get("loss") is not None]
    assert len(losses) == 40
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])
    assert 0.0 <= metrics["val_iou"] <= 1.0 and "val_fp" in metrics
    for name in ("best.pt", "last.pt", "log.csv", "curves.png", "val_overlays.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "log.csv").read_text().splitlines()[0].startswith("step,loss,lr,val_iou")
    model, best = load_checkpoint(tmp_path / "best.pt")  # the engine's loader reads training checkpoints
    assert best["model_option"] == "plate" and best["step"] in (20, 40)


def test_a_killed_and_resumed_run_ends_exactly_where_an_uninterrupted_one_does(pool, tmp_path):
    torch.set_num_threads(1)
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    train(settings(whole), pool)
    train(settings(parts, stop_after=6), pool)
    assert read_checkpoint(parts / "last.pt")["step"] == 6
    train(settings(parts, resume=parts / "last.pt"), pool)
    a, b = read_checkpoint(whole / "last.pt"), read_checkpoint(parts / "last.pt")
    assert a["step"] == b["step"] == 12
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]
    first_state = a["optimizer"]["state"][0]
    assert torch.equal(first_state["exp_avg"], b["optimizer"]["state"][0]["exp_avg"])
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])
    assert [r["step"] for r in a["history"]] == [r["step"] for r in b["history"]]


def test_init_fine_tunes_from_a_checkpoint_and_refuses_one_that_does_not_fit(pool, tmp_path):
    torch.set_num_threads(1)
    first, tuned = tmp_path / "first", tmp_path / "tuned"
    train(settings(first, iterations=6, channels=(8, 12, 16, 24)), pool)
    start = read_checkpoint(first / "last.pt")["state_dict"]
    # Two steps at a tiny rate move the weights, but only a little: the run started from --init.
    train(settings(tuned, iterations=2, lr=1e-6, init=first / "last.pt"), pool)
    after = read_checkpoint(tuned / "last.pt")
    assert after["config"]["channels"] == [8, 12, 16, 24]  # widths come from the checkpoint
    assert after["step"] == 2
    changed = [k for k, v in start.items() if v.dtype.is_floating_point and not torch.equal(v, after["state_dict"][k])]
    assert changed, "fine-tuning should update the weights"
    drift = max((after["state_dict"][k] - start[k]).abs().max().item() for k in changed if "running" not in k)
    assert drift < 0.01, "the run must start from the --init weights, not from a fresh network"
    with pytest.raises(ValueError, match="does not fit --model single"):
        train(settings(tmp_path / "bad", model="single", iterations=1, init=first / "last.pt"), pool)
    with pytest.raises(ValueError, match="leave out --channels"):
        train(settings(tmp_path / "bad2", iterations=1, channels=(8, 8, 8, 8), init=first / "last.pt"), pool)


def test_single_gray_samples_match_the_engine_input(pool):
    from models.preprocess import normalise_image
    from training import composite
    samples = TrainSamples(pool, "single-gray", SMALL, seed=0, in_channels=1)
    image, mask = samples[5]
    expected = composite.single_sample(np.random.default_rng([0, 5]), pool, SMALL)
    assert image.shape == (1, *SMALL) and mask.shape == (1, *SMALL)
    assert torch.equal(image, torch.from_numpy(normalise_image(expected.image, 1)))
    assert torch.equal(mask[0] > 0.5, torch.from_numpy(expected.mask))


@pytest.fixture(scope="module")
def trained_plate(pool, tmp_path_factory):
    out = tmp_path_factory.mktemp("plate_run")
    torch.set_num_threads(1)
    train(settings(out, iterations=6, val_every=6), pool)
    return out / "best.pt"


def test_test_only_prints_engine_figures_for_a_checkpoint(trained_plate, sets_root, capsys):
    code = training_main(["--test-only", str(trained_plate), "--data", str(sets_root), "--val-sets", "4",
                          "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "engine at full resolution" in printed
    assert "IoU" in printed and "set4/" in printed and "false positives" in printed


def test_test_only_with_a_broken_checkpoint_is_a_clear_error(tmp_path, sets_root, capsys):
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"garbage")
    code = training_main(["--test-only", str(broken), "--data", str(sets_root), "--no-progress"])
    assert code == 2 and str(broken) in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "weights"])
def test_export_matches_pytorch_on_a_real_frame(trained_plate, tmp_path, fmt):
    from training.export import export, model_inputs, example_images
    output = export(trained_plate, fmt, tmp_path / f"plate.{fmt}", log=lambda message: None)
    assert output.stat().st_size > 0
    if fmt == "weights":
        payload = read_checkpoint(output)
        assert "optimizer" not in payload and "rng" not in payload  # the small, model-only file
        assert output.stat().st_size < (trained_plate.stat().st_size)
    if fmt == "onnx":  # dynamic height and width: a different size runs and matches too
        import onnxruntime
        model, _ = load_checkpoint(trained_plate)
        frame, plate, _ = example_images(True)
        frame, plate = frame[:352, :480], plate[:352, :480]
        inputs = model_inputs(model, frame, plate)
        session = onnxruntime.InferenceSession(str(output), providers=["CPUExecutionProvider"])
        got = session.run(["logits"], {"frame": inputs[0].numpy(), "plate": inputs[1].numpy()})[0]
        with torch.no_grad():
            want = model(*inputs).numpy()
        assert got.shape == want.shape == (1, 1, *inputs[0].shape[-2:])
        assert np.abs(torch.sigmoid(torch.from_numpy(got)) - torch.sigmoid(torch.from_numpy(want))).max() < 1e-3


def test_torchrun_trains_with_two_gloo_processes(sets_root, tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
               "-m", "training", "--device", "cpu", "--threads", "1", "-i", "4", "-b", "2", "--size", "128x96",
               "--data", str(sets_root), "--val-sets", "4", "--val-every", "4", "--out", str(out), "--no-progress"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("final validation") == 1  # only rank 0 reports
    payload = read_checkpoint(out / "last.pt")
    assert payload["step"] == 4
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "curves.png", "last.pt", "log.csv",
                                                     "val_overlays.png"]
