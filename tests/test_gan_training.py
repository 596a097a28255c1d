"""Short real pix2pix and cycleGAN runs on real try-on pairs: L1 falls, outputs are written, resume is exact."""
import os

import numpy as np
import pytest
import torch

from models.checkpoint import load_checkpoint, read_checkpoint
from models.gan.tryon import is_held_out
from training.__main__ import main as training_main
from training.gan.data import load_paired, load_unpaired
from training.gan.trainer import GanSettings, linear_decay, train_cyclegan, train_pix2pix

PAIRS = 40


@pytest.fixture(scope="module")
def tryon(shared, tmp_path_factory):
    """The first PAIRS pairs of the shared try-on folder, linked into a folder of the same layout."""
    source = shared("data", "tryon")
    root = tmp_path_factory.mktemp("tryon")
    people = sorted((source / "image").iterdir())[:PAIRS]
    for part in ("image", "image-parse", "cloth", "cloth-mask"):
        (root / part).mkdir()
    for person in people:
        pair = person.stem[:-2]
        os.symlink(person, root / "image" / person.name)
        os.symlink(source / "image-parse" / f"{pair}_0.png", root / "image-parse" / f"{pair}_0.png")
        os.symlink(source / "cloth" / f"{pair}_1.jpg", root / "cloth" / f"{pair}_1.jpg")
        os.symlink(source / "cloth-mask" / f"{pair}_1.png", root / "cloth-mask" / f"{pair}_1.png")
    return root


def tiny(out, **changes) -> GanSettings:
    values = dict(model="pix2pix", iterations=6, batch_size=2, size=(64, 48), width=8, depth=4, critic_width=8,
                  val_every=3, val_limit=2, log_every=1, device="cpu", out=out, progress=False)
    values.update(changes)
    return GanSettings(**values)


def test_held_out_pairs_are_chosen_by_id_and_never_trained_on(tryon):
    data = load_paired([tryon])
    assert data.layout == "tryon" and data.input_channels == 4
    train_ids = {e.name for e in data.train}
    val_ids = {e.name for e in data.val}
    assert not train_ids & val_ids and len(train_ids | val_ids) == PAIRS
    assert val_ids == {pair for pair in train_ids | val_ids if is_held_out(pair)}
    source, garment, product, product_mask = data.train[0].load()
    assert source.shape == product.shape == (256, 192, 3)
    assert garment.dtype == bool and 0.05 < garment.mean() < 0.6  # the worn top, from parse labels 5, 6, 7
    assert product_mask is not None and product_mask.shape == (256, 192)


def test_a_short_pix2pix_run_lowers_l1_and_writes_its_outputs(tryon, tmp_path):
    torch.set_num_threads(1)
    out = tmp_path / "run"
    code = training_main(["--model", "pix2pix", "--data", str(tryon), "--size", "48x64", "--width", "8",
                          "--depth", "4", "--critic-width", "8", "-i", "40", "-b", "4", "--val-every", "20",
                          "--val-limit", "3", "--lr", "1e-3", "--threads", "1", "--no-progress", "--out", str(out)])
    assert code == 0
    payload = read_checkpoint(out / "last.pt")
    l1 = [row["loss_l1"] for row in payload["history"] if row.get("loss_l1") is not None]
    assert len(l1) == 4  # logged every 10 steps
    assert l1[-1] < 0.7 * l1[0]
    assert "critic" in payload["networks"] and payload["layout"] == "tryon"
    for name in ("best.pt", "last.pt", "log.csv", "curves.png", "val_grid.png"):
        assert (out / name).stat().st_size > 0
    header = (out / "log.csv").read_text().splitlines()[0]
    assert header.startswith("step,loss,loss_d,loss_l1")
    generator, _ = load_checkpoint(out / "last.pt")  # the engine's loader reads the training checkpoint
    assert generator.ARCH == "unet_generator" and generator.config.in_channels == 4


def test_the_learning_rate_holds_for_half_the_run_then_falls_linearly_to_zero():
    assert [linear_decay(step, 100) for step in (0, 49, 50, 75, 100)] == [1.0, 1.0, 1.0, 0.5, 0.0]


def _states(path):
    payload = read_checkpoint(path)
    states = {"primary": payload["state_dict"]}
    states.update({name: record["state_dict"] for name, record in payload["networks"].items()})
    return payload, states


def _assert_same(first, second):
    assert first.keys() == second.keys()
    for name in first:
        for key in first[name]:
            assert torch.equal(first[name][key], second[name][key]), f"{name}.{key} differs"


def test_a_stopped_and_resumed_pix2pix_run_ends_exactly_where_an_uninterrupted_one_does(tryon, tmp_path):
    torch.set_num_threads(1)
    data = load_paired([tryon])
    train_pix2pix(tiny(tmp_path / "whole"), data)
    train_pix2pix(tiny(tmp_path / "parts", stop_after=4), data)
    assert read_checkpoint(tmp_path / "parts" / "last.pt")["step"] == 4
    train_pix2pix(tiny(tmp_path / "parts", resume=tmp_path / "parts" / "last.pt"), data)
    whole, whole_states = _states(tmp_path / "whole" / "last.pt")
    parts, parts_states = _states(tmp_path / "parts" / "last.pt")
    assert whole["step"] == parts["step"] == 6
    _assert_same(whole_states, parts_states)
    losses = lambda p: [r["loss"] for r in p["history"] if r.get("loss") is not None]  # noqa: E731
    assert losses(whole) == losses(parts)


def test_a_resumed_cyclegan_run_replays_its_history_pool_exactly(tryon, tmp_path):
    torch.set_num_threads(1)
    data = load_unpaired([tryon / "image"], [tryon / "cloth"], 0.1)
    settings = dict(model="cyclegan", generator="resnet", blocks=1, size=(32, 32), pool_size=3, iterations=5)
    train_cyclegan(tiny(tmp_path / "whole", **settings), data)
    train_cyclegan(tiny(tmp_path / "parts", stop_after=3, **settings), data)
    train_cyclegan(tiny(tmp_path / "parts", resume=tmp_path / "parts" / "last.pt", **settings), data)
    whole, whole_states = _states(tmp_path / "whole" / "last.pt")
    parts, parts_states = _states(tmp_path / "parts" / "last.pt")
    assert set(whole["networks"]) == {"generator_b_to_a", "critic_a", "critic_b"}
    _assert_same(whole_states, parts_states)
    assert torch.equal(whole["pools"]["fake_a"], parts["pools"]["fake_a"])
    assert whole["pools"]["fake_b"].shape == (3, 3, 32, 32)  # full: older fakes were swapped in
    assert np.isfinite(whole["metrics"]["val_cycle_l1"])


def test_resuming_with_another_model_kind_is_refused(tryon, tmp_path):
    data = load_paired([tryon])
    train_pix2pix(tiny(tmp_path, iterations=2, val_every=2), data)
    with pytest.raises(ValueError, match="--l1-only"):
        train_pix2pix(tiny(tmp_path, l1_only=True, resume=tmp_path / "last.pt"), data)


def two_capture_sets(shared, tmp_path):
    sets = tmp_path / "sets"
    sets.mkdir()
    for number in (1, 2):
        os.symlink(shared("data", "webcam_sets", f"set{number}"), sets / f"set{number}")
    return load_paired([sets], val_sets={2})


def test_a_gated_generator_trains_on_cut_outs_and_its_checkpoint_keeps_the_gate(shared, tmp_path):
    data = two_capture_sets(shared, tmp_path)
    train_pix2pix(tiny(tmp_path / "run", input_gate=True, iterations=2, val_every=2), data)
    generator, payload = load_checkpoint(tmp_path / "run" / "last.pt")
    assert generator.config.input_gate and payload["layout"] == "cutout"
    with torch.no_grad():
        output = generator.eval()(torch.rand(1, 3, 64, 48) * 2 - 1)
    assert output.shape == (1, 3, 64, 48) and output.abs().max() <= 1.0


def test_the_gate_loss_teaches_the_gate_the_true_silhouette(shared, tmp_path):
    torch.set_num_threads(1)
    data = two_capture_sets(shared, tmp_path)
    settings = tiny(tmp_path / "run", input_gate=True, lambda_gate=1.0, lambda_l1=0.0, l1_only=True, lr=2e-3,
                    iterations=40, val_every=40, log_every=10, batch_size=4)
    train_pix2pix(settings, data)
    rows = [row for row in read_checkpoint(tmp_path / "run" / "last.pt")["history"] if "loss_gate" in row]
    assert len(rows) == 4
    assert rows[-1]["loss_gate"] < 0.75 * rows[0]["loss_gate"]


@pytest.mark.parametrize("global_gate", [False, True])
def test_a_white_gate_learns_the_product_silhouette_of_try_on_pairs(tryon, tmp_path, global_gate):
    torch.set_num_threads(1)
    settings = tiny(tmp_path / "run", white_gate=True, global_gate=global_gate, lambda_gate=1.0, lambda_l1=0.0,
                    l1_only=True, lr=2e-3, iterations=40, val_every=40, log_every=10, batch_size=4)
    train_pix2pix(settings, load_paired([tryon]))
    rows = [row for row in read_checkpoint(tmp_path / "run" / "last.pt")["history"] if "loss_gate" in row]
    assert len(rows) == 4
    assert rows[-1]["loss_gate"] < 0.75 * rows[0]["loss_gate"]
    generator, _ = load_checkpoint(tmp_path / "run" / "last.pt")
    assert generator.config.white_gate and not generator.config.input_gate
    assert generator.config.global_gate == global_gate


def test_the_gate_loss_is_refused_without_a_gate(shared, tmp_path):
    with pytest.raises(ValueError, match="--lambda-gate needs --input-gate or --white-gate"):
        train_pix2pix(tiny(tmp_path / "run", lambda_gate=1.0), two_capture_sets(shared, tmp_path))


def test_a_mask_hint_is_only_for_cut_out_data(tryon):
    from training.gan.data import GanDataError
    with pytest.raises(GanDataError, match="--mask-hint needs cut-out data"):
        load_paired([tryon], mask_hint=lambda image: np.ones(image.shape[:2], bool))


@pytest.mark.parametrize("gate", ["input_gate", "white_gate"])
def test_only_the_unet_takes_a_gate(tmp_path, gate):
    from training.gan.trainer import make_generator
    with pytest.raises(ValueError, match="need the U-Net generator"):
        make_generator(tiny(tmp_path, generator="resnet", **{gate: True}), 3)
