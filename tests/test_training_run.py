"""Short real training runs: the loss falls, a killed run resumes exactly, checkpoints evaluate and export."""
import os
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from models.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from models.preprocess import normalise_image
from models.segmenter import Segmenter
from fileio.capture_sets import read_image, read_set
from fileio.shared_data import REPO_ROOT
from training.__main__ import main as training_main
from training.data import load_pool
from training.loop import TrainSamples, TrainSettings, build_model, resumed_settings, starting_model, train

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


def test_the_guided_weight_adds_the_loss_of_the_engine_s_mask_to_the_same_first_step(pool, tmp_path):
    torch.set_num_threads(1)
    first_loss = {}
    for weight in (0.0, 1.0):
        out = tmp_path / f"guided{weight}"
        train(settings(out, iterations=1, val_every=1, guided_weight=weight), pool)
        history = read_checkpoint(out / "last.pt")["history"]
        first_loss[weight] = next(row["loss"] for row in history if row.get("loss") is not None)
    assert first_loss[1.0] > first_loss[0.0] + 0.01  # same init, same samples: only the guided term differs


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


def test_resume_with_other_flags_continues_with_the_checkpoint_s_own_and_says_which(pool, sets_root, tmp_path,
                                                                                     capsys):
    torch.set_num_threads(1)
    train(settings(tmp_path, iterations=3, val_every=2, stop_after=2, channels=(8, 12, 16, 24)), pool)
    capsys.readouterr()
    code = training_main(["--resume", "--out", str(tmp_path), "--data", str(sets_root), "--val-sets", "4",
                          "--channels", "16,24,48,64", "-b", "3", "--lr", "0.01", "--val-every", "2",
                          "--threads", "1", "--no-progress"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    (note,) = [line for line in printed.out.splitlines() if line.startswith("note:")]
    for expected in ("--channels 16,24,48,64 (checkpoint: 8,12,16,24)", "--batch-size 3 (checkpoint: 2)",
                     "--lr 0.01 (checkpoint: 0.002)", "--iterations 1000 (checkpoint: 3)",
                     "--size 320x240 (checkpoint: 128x96)", "continuing with the checkpoint's"):
        assert expected in note
    resumed = read_checkpoint(tmp_path / "last.pt")  # a network of the old widths, trained on to the old -i
    assert resumed["step"] == 3 and resumed["config"]["channels"] == [8, 12, 16, 24]
    stored = resumed["settings"]
    assert (stored["batch_size"], stored["lr"], stored["size"]) == (2, 0.002, [96, 128])
    assert stored["val_every"] == 2 and stored["resume"] == str(tmp_path / "last.pt")  # the user's own


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


def test_init_with_another_output_stride_keeps_every_shared_layer(pool, tmp_path):
    torch.set_num_threads(1)
    first, coarse = tmp_path / "first", tmp_path / "coarse"
    train(settings(first, iterations=2, channels=(8, 12, 16, 24)), pool)
    start = read_checkpoint(first / "last.pt")
    train(settings(coarse, iterations=1, lr=1e-9, output_stride=4, init=first / "last.pt"), pool)
    after = read_checkpoint(coarse / "last.pt")
    assert start["config"]["output_stride"] == 2 and after["config"]["output_stride"] == 4
    dropped = set(start["state_dict"]) - set(after["state_dict"])
    assert dropped and all(key.startswith(("fuse.0.", "refine.0.")) for key in dropped)
    for key, value in after["state_dict"].items():
        if value.dtype.is_floating_point and "running" not in key:
            assert torch.allclose(value, start["state_dict"][key], atol=1e-6), key


@pytest.mark.parametrize("kind", ["plate", "single", "single-gray"])
def test_training_samples_are_exactly_what_the_engine_feeds_the_network(pool, kind, monkeypatch):
    """The trainer's tensors for a sample equal the inputs the real engine (Segmenter) builds from the same
    pictures, caught on their way into the network."""
    from models.segmenter import Segmenter
    from training import composite
    drawn = []
    for name in ("plate_sample", "single_sample"):  # keep the pictures the trainer draws, as uint8 BGR
        real = getattr(composite, name)
        monkeypatch.setattr(composite, name, lambda *a, _real=real, **k: drawn.append(_real(*a, **k)) or drawn[-1])
    in_channels = 1 if kind == "single-gray" else 3
    *trainer_inputs, mask = TrainSamples(pool, kind, SMALL, seed=0, in_channels=in_channels)[5]
    (sample,) = drawn
    pictures = [sample.frame, sample.plate] if kind == "plate" else [sample.image]
    assert all(p.shape == (*SMALL, 3) and p.dtype == np.uint8 for p in pictures)

    # The network at the crop's own size, so the engine's resize leaves the pictures as they are.
    network = build_model(kind, long_side=max(SMALL))
    seen = []
    hooked = network.encoder if kind == "plate" else network.stem
    hooked.register_forward_pre_hook(lambda _module, args: seen.append(args[0].detach().clone()))
    # Eager PyTorch runs the engine's own graphs, so the hook sees what every runtime computes.
    engine = Segmenter(plate_model=network, device="cpu", precision="fp32", runtime="torch") if kind == "plate" \
        else Segmenter(single_model=network, device="cpu", precision="fp32", runtime="torch")
    engine.segment(*pictures)
    assert len(seen) == len(trainer_inputs) == len(pictures)
    if kind == "plate":
        seen.reverse()  # the engine encodes (and caches) the plate before it runs the frame against it
    for engine_input, trainer_input in zip(seen, trainer_inputs):
        assert engine_input.shape == (1, in_channels, *SMALL)
        assert torch.equal(engine_input[0], trainer_input)
    assert mask.shape == (1, *SMALL) and torch.equal(mask[0] > 0.5, torch.from_numpy(sample.mask))


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


@pytest.fixture(scope="module")
def real_frame_files(shared):
    capture_set = read_set(shared("data", "webcam_sets", "set1"))
    return capture_set.frames[0].image_path, capture_set.plate_path


@pytest.fixture(scope="module")
def exports(trained_plate, real_frame_files, tmp_path_factory):
    from training.export import SUFFIXES, export
    out = tmp_path_factory.mktemp("exports")
    frame, plate = real_frame_files
    return {fmt: export(trained_plate, fmt, out / f"plate{suffix}", frame, plate, log=lambda message: None)
            for fmt, suffix in SUFFIXES.items()}


def test_every_export_agrees_with_onnx_runtime_on_a_real_frame_at_two_sizes(exports, real_frame_files):
    """onnxruntime, a runtime apart from PyTorch, runs the exported graph; the weights file and the TorchScript file
    must give the same mask probabilities on a real frame and plate, at full size and at another size."""
    import onnxruntime
    from models.preprocess import prepare_input
    session = onnxruntime.InferenceSession(str(exports["onnx"]), providers=["CPUExecutionProvider"])
    weights_model, _ = load_checkpoint(exports["weights"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated but still exported
        scripted = torch.jit.load(str(exports["torchscript"]))
    frame, plate = (read_image(path) for path in real_frame_files)
    for height, width in [(480, 640), (352, 480)]:
        pictures = [frame[:height, :width], plate[:height, :width]]
        inputs = [torch.from_numpy(prepare_input(p, weights_model.config))[None] for p in pictures]
        reference = torch.sigmoid(torch.from_numpy(
            session.run(["logits"], {"frame": inputs[0].numpy(), "plate": inputs[1].numpy()})[0]))
        with torch.no_grad():
            for name, network in (("weights", weights_model), ("torchscript", scripted)):
                got = torch.sigmoid(network(*inputs))
                assert got.shape == reference.shape == (1, 1, *inputs[0].shape[-2:]), name
                assert (got - reference).abs().max() < 1e-3, name


def test_the_weights_export_is_the_checkpoint_model_without_the_training_state(trained_plate, exports):
    trained, exported = read_checkpoint(trained_plate), read_checkpoint(exports["weights"])
    assert "optimizer" not in exported and "rng" not in exported  # the small, model-only file
    assert exports["weights"].stat().st_size < trained_plate.stat().st_size
    assert exported["arch"] == trained["arch"] and exported["config"] == trained["config"]
    assert exported["state_dict"].keys() == trained["state_dict"].keys()
    for key, value in trained["state_dict"].items():
        assert torch.equal(exported["state_dict"][key], value), key


def test_export_without_a_frame_checks_on_its_own_test_card(trained_plate, tmp_path, capsys):
    from training.export import main as export_main
    output = tmp_path / "plate.onnx"
    assert export_main([str(trained_plate), "--format", "onnx", "-o", str(output)]) == 0
    assert output.stat().st_size > 0 and "synthetic test card" in capsys.readouterr().out


def test_torchrun_trains_with_two_gloo_processes(sets_root, tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
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


def test_init_adds_a_scene_context_block_that_starts_out_changing_nothing(pool, sets_root, tmp_path, capsys):
    torch.set_num_threads(1)
    first, context = tmp_path / "first", tmp_path / "context"
    train(settings(first, iterations=2, channels=(8, 12, 16, 24), output_stride=4), pool)
    start = read_checkpoint(first / "last.pt")
    train(settings(context, iterations=1, lr=1e-9, context_layers=2, init=first / "last.pt"), pool)
    after = read_checkpoint(context / "last.pt")
    assert after["config"]["context_layers"] == 2 and after["config"]["output_stride"] == 4
    added = set(after["state_dict"]) - set(start["state_dict"])
    assert added and all(key.startswith("context.") for key in added)
    assert set(start["state_dict"]) < set(after["state_dict"])
    # Before any step, the block's zero output projections leave a real frame's mask as the --init weights had it.
    save_checkpoint(tmp_path / "untrained.pt",
                    starting_model(settings(tmp_path, context_layers=2, init=first / "last.pt")).eval())
    frame, plate = read_image(sets_root / "set1" / "1.png"), read_image(sets_root / "set1" / "bkg.png")
    masks = [Segmenter.load(path, device="cpu", precision="fp32", runtime="torch").segment(frame, plate)
             for path in (first / "last.pt", tmp_path / "untrained.pt")]
    assert np.abs(masks[0] - masks[1]).max() < 1e-5
    # The single-frame models have no such block.
    assert training_main(["--model", "single", "--context-layers", "2", "--data", str(sets_root),
                          "--out", str(tmp_path / "bad")]) == 2
    assert "--context-layers applies to --model plate" in capsys.readouterr().err
    assert training_main(["--model", "single", "--real-pairs", "0.4", "--data", str(sets_root),
                          "--out", str(tmp_path / "bad")]) == 2
    assert "--real-pairs applies to --model plate" in capsys.readouterr().err


def test_init_with_the_lean_decoder_keeps_the_encoder_and_starts_the_decoder_fresh(pool, tmp_path):
    torch.set_num_threads(1)
    first, lean = tmp_path / "first", tmp_path / "lean"
    train(settings(first, model="single", iterations=2, channels=(8, 8, 12, 12, 16)), pool)
    start = read_checkpoint(first / "last.pt")
    train(settings(lean, model="single", iterations=1, lr=1e-9, output_stride=4, decoder_channels=8,
                   init=first / "last.pt"), pool)
    after = read_checkpoint(lean / "last.pt")
    assert after["config"]["decoder_channels"] == 8 and after["config"]["output_stride"] == 4
    encoder = [key for key in after["state_dict"] if key.startswith(("stem.", "down."))]
    assert encoder and all(key in start["state_dict"] for key in encoder)
    for key in encoder:
        if after["state_dict"][key].dtype.is_floating_point and "running" not in key:
            assert torch.allclose(after["state_dict"][key], start["state_dict"][key], atol=1e-6), key
    # The old decoder's 3x3 convolutions over concatenated skips are gone; the lean one has its own layers.
    assert any(key.startswith("lateral.") for key in after["state_dict"])
    assert after["state_dict"]["head.weight"].shape[1] == 8
    model, _ = load_checkpoint(lean / "last.pt")
    with torch.no_grad():
        logits = model.low_res_logits(torch.zeros(1, 3, 64, 96))
    assert logits.shape[-2:] == (16, 24)


def test_init_adds_a_narrow_finest_level_to_a_lean_decoder_and_keeps_its_coarser_levels(pool, tmp_path):
    torch.set_num_threads(1)
    coarse, fine = tmp_path / "coarse", tmp_path / "fine"
    train(settings(coarse, model="single", iterations=2, channels=(8, 8, 12, 12, 16), output_stride=4,
                   decoder_channels=8), pool)
    start = read_checkpoint(coarse / "last.pt")
    train(settings(fine, model="single", iterations=1, lr=1e-9, output_stride=2, finest_channels=4,
                   init=coarse / "last.pt"), pool)
    after = read_checkpoint(fine / "last.pt")
    assert after["config"]["output_stride"] == 2 and after["config"]["finest_decoder_channels"] == 4
    state = after["state_dict"]
    kept = [key for key in start["state_dict"] if key.startswith(("stem.", "down.", "bottleneck.", "lateral.", "up."))
            and key.endswith(".weight")]
    assert kept and all(torch.allclose(state[key], start["state_dict"][key], atol=1e-6) for key in kept)
    # The new level (index 3: level 0) is 4 wide, fed by a 1x1 narrowing of the 8-wide path.
    assert state["narrow.0.weight"].shape[:2] == (4, 8)
    assert state["up.3.0.weight"].shape[:2] == (4, 4) and state["head.weight"].shape[1] == 4
    model, _ = load_checkpoint(fine / "last.pt")
    with torch.no_grad():
        logits = model.low_res_logits(torch.zeros(1, 3, 64, 96))
    assert logits.shape[-2:] == (32, 48)


def test_a_teacher_pulls_the_student_towards_its_own_probabilities(pool, tmp_path, shared):
    torch.set_num_threads(1)
    # A teacher that sees nobody anywhere disagrees with every person label: a student taught by it must end up
    # seeing much less person than the same run without it.
    teacher = build_model("single", channels=(8, 8, 12, 12, 16))
    with torch.no_grad():
        teacher.head.weight.zero_()
        teacher.head.bias.fill_(-8.0)
    save_checkpoint(tmp_path / "nobody.pt", teacher)
    frame = read_image(shared("data", "webcam_sets", "set4", "1.png"))
    batch = torch.from_numpy(normalise_image(cv2.resize(frame, (128, 96), interpolation=cv2.INTER_AREA)))[None]

    def person_share(checkpoint) -> float:
        student, _ = load_checkpoint(checkpoint)
        student.train()  # batch statistics: forty steps leave the running ones far from settled
        with torch.no_grad():
            return torch.sigmoid(student(batch)).mean().item()

    tiny = dict(model="single", iterations=40, batch_size=2, channels=(8, 8, 12, 12, 16), lr=2e-2, val_every=40)
    train(settings(tmp_path / "alone", **tiny), pool)
    train(settings(tmp_path / "taught", teacher=tmp_path / "nobody.pt", distill_weight=10.0, **tiny), pool)
    alone, taught = person_share(tmp_path / "alone" / "last.pt"), person_share(tmp_path / "taught" / "last.pt")
    assert taught < 0.5 * alone, (taught, alone)
    assert read_checkpoint(tmp_path / "taught" / "last.pt")["settings"]["teacher"] == str(tmp_path / "nobody.pt")
    # Resuming with the same flags continues quietly and keeps the teacher.
    same = settings(tmp_path / "taught", teacher=tmp_path / "nobody.pt", distill_weight=10.0, **tiny)
    said = []
    resumed = resumed_settings(same, read_checkpoint(tmp_path / "taught" / "last.pt"), say=said.append)
    assert not said and Path(resumed.teacher) == tmp_path / "nobody.pt" and resumed.distill_weight == 10.0
    with pytest.raises(ValueError, match="cannot teach --model plate"):
        train(settings(tmp_path / "bad", iterations=1, teacher=tmp_path / "nobody.pt"), pool)
