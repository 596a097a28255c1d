"""Translation between person domains on real images: the exported cycleGAN keeps both directions, tools.translate
writes, keeps and skips as it says, the shipped translator changes a real person, the colour-transfer baseline
moves colours towards the target domain, and tools.prepare keeps each source on one side of a split."""
import os
import re
import shutil

import cv2
import numpy as np
import pytest
import torch

from fileio.capture_sets import read_image
from models.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from models.gan.translation import DEFAULT_TRANSLATOR_WEIGHTS, DomainTranslator
from tools.prepare import main as prepare
from tools.translate import main as translate

RENDERS = ["rgb_100.jpg", "rgb_159.jpg", "rgb_2178.jpg", "rgb_5420.jpg"]
PORTRAITS = ["0001.jpg", "0002.jpg", "0003.jpg", "0004.jpg"]


@pytest.fixture(scope="module")
def domains(shared, tmp_path_factory):
    """Real portraits as domain A and game-engine renders as domain B, linked into two folders."""
    root = tmp_path_factory.mktemp("domains")
    for side, folder, names in (("A", shared("data", "portraits", "ccp", "images"), PORTRAITS),
                                ("B", shared("data", "domains", "game_renders"), RENDERS)):
        (root / side).mkdir()
        for name in names:
            os.symlink(folder / name, root / side / name)
    return root


@pytest.fixture(scope="module")
def cyclegan_run(domains, tmp_path_factory):
    """A three-step cycleGAN run on the real domains: its last.pt holds both generators, both critics and the
    optimizers."""
    from training.gan.data import load_unpaired
    from training.gan.trainer import GanSettings, train_cyclegan

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("cyclegan")
    settings = GanSettings(model="cyclegan", generator="resnet", blocks=1, width=8, critic_width=8, size=(32, 32),
                           iterations=3, batch_size=1, val_every=3, device="cpu", out=out, progress=False)
    train_cyclegan(settings, load_unpaired([domains / "A"], [domains / "B"], 0.0))
    return out / "last.pt"


@pytest.fixture(scope="module")
def exported(cyclegan_run, tmp_path_factory):
    from training.gan.export import export
    path = tmp_path_factory.mktemp("exported") / "translator.pt"
    export(cyclegan_run, path)
    return path


def test_the_export_keeps_both_generators_and_drops_the_critics_and_optimizers(cyclegan_run, exported):
    payload = read_checkpoint(exported)
    assert set(payload["networks"]) == {"generator_b_to_a"}
    assert "optimizers" not in payload and "pools" not in payload
    assert payload["model_option"] == "cyclegan" and payload["size"] == [32, 32]
    assert exported.stat().st_size < cyclegan_run.stat().st_size / 2


def test_the_exported_translator_gives_the_training_checkpoints_outputs_both_ways(shared, cyclegan_run, exported):
    photo = read_image(shared("data", "portraits", "ccp", "images", "0005.jpg"))
    render = read_image(shared("data", "domains", "game_renders", "rgb_392.jpg"))
    trained, shipped = DomainTranslator(cyclegan_run, "cpu"), DomainTranslator(exported, "cpu")
    assert shipped.directions == ("a2b", "b2a")
    for image, direction in ((photo, "a2b"), (render, "b2a"), (photo, "b2a")):
        assert np.array_equal(shipped.translate(image, direction), trained.translate(image, direction))
    # the two directions are two different networks
    assert not np.array_equal(shipped.translate(photo, "a2b"), shipped.translate(photo, "b2a"))


def test_a_one_way_checkpoint_refuses_the_other_direction_and_a_foreign_file_is_refused(
        shared, cyclegan_run, tmp_path):
    from models.checkpoint import load_checkpoint
    from models.plate_net import PlateNet

    generator, payload = load_checkpoint(cyclegan_run)
    save_checkpoint(tmp_path / "one_way.pt", generator, model_option="pix2pix", layout="ab", size=payload["size"])
    one_way = DomainTranslator(tmp_path / "one_way.pt", "cpu")
    photo = read_image(shared("data", "portraits", "ccp", "images", "0005.jpg"))
    assert one_way.translate(photo, "a2b").shape == photo.shape
    with pytest.raises(CheckpointError, match="only a2b, not b2a"):
        one_way.translate(photo, "b2a")
    save_checkpoint(tmp_path / "plate.pt", PlateNet())
    with pytest.raises(CheckpointError, match="not an image-to-image generator"):
        DomainTranslator(tmp_path / "plate.pt", "cpu")


def test_translate_writes_each_image_at_its_own_size_and_keeps_existing_outputs(domains, exported, tmp_path,
                                                                                  capsys):
    out = tmp_path / "out"
    assert translate([str(exported), str(domains / "A"), "--out", str(out), "--threads", "1"]) == 0
    for name in PORTRAITS:
        assert read_image(out / name.replace(".jpg", ".png")).shape == read_image(domains / "A" / name).shape
    first = out / "0001.png"
    first.write_bytes(b"mine")
    assert translate([str(exported), str(domains / "A" / "0001.jpg"), "--out", str(out)]) == 0
    assert first.read_bytes() == b"mine"
    assert "existing kept (use --force" in capsys.readouterr().out
    assert translate([str(exported), str(domains / "A" / "0001.jpg"), "--out", str(out), "--force",
                      "--direction", "b2a"]) == 0
    assert read_image(first).shape == read_image(domains / "A" / "0001.jpg").shape


def test_translate_names_and_skips_an_unreadable_image(domains, exported, tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    code = translate([str(exported), str(broken), str(domains / "B" / "rgb_100.jpg"), "--out", str(tmp_path / "o"),
                      "--direction", "b2a", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1
    assert str(broken) in captured.err and "Traceback" not in captured.err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["rgb_100.png"]


def test_translate_refuses_a_wrong_checkpoint_in_one_line_with_exit_2(domains, tmp_path, capsys):
    not_a_model = tmp_path / "notes.pt"
    not_a_model.write_text("not a checkpoint")
    assert translate([str(not_a_model), str(domains / "A"), "--out", str(tmp_path / "o")]) == 2
    error = capsys.readouterr().err
    assert str(not_a_model) in error and error.strip().count("\n") == 0
    assert not (tmp_path / "o").exists()


def test_the_shipped_translator_redraws_a_real_person_at_the_same_size(shared):
    assert DEFAULT_TRANSLATOR_WEIGHTS.is_file(), "models/weights/person_translator.pt is not shipped"
    assert DEFAULT_TRANSLATOR_WEIGHTS.stat().st_size <= 20e6
    translator = DomainTranslator(None, "cpu")
    assert translator.directions == ("a2b", "b2a")
    photo = read_image(shared("data", "portraits", "ccp", "images", "0007.jpg"))
    as_game = translator.translate(photo, "a2b")
    assert as_game.shape == photo.shape
    difference = np.abs(as_game.astype(float) - photo.astype(float)).mean() / 255
    assert difference > 0.03
    # still the same picture, not noise: the outputs follow the input's light and dark areas
    gray = lambda image: cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(float).ravel()  # noqa: E731
    assert np.corrcoef(gray(as_game), gray(photo))[0, 1] > 0.5


def test_colour_transfer_moves_a_real_photo_to_the_game_renders_colours(shared):
    from benchmarks.translation import colour_transfer, lab_statistics

    renders = [read_image(shared("data", "domains", "game_renders", name)) for name in RENDERS]
    target_mean, target_std = lab_statistics(renders)
    photo = read_image(shared("data", "portraits", "ccp", "images", "0008.jpg"))
    before_mean, before_std = lab_statistics([photo])
    after_mean, after_std = lab_statistics([colour_transfer(photo, (target_mean, target_std))])
    assert np.abs(after_mean - target_mean).sum() < 0.2 * np.abs(before_mean - target_mean).sum()
    assert np.abs(after_std - target_std).sum() < 0.3 * np.abs(before_std - target_std).sum()


def test_split_in_order_keeps_every_person_of_a_frame_together_and_puts_the_last_frames_in_test(shared,
                                                                                                 tmp_path):
    frames = sorted(shared("data", "webcam_sets", "set1").glob("[0-9].png"))
    source = tmp_path / "patches"
    for video in ("clip-one", "clip-two"):
        (source / video).mkdir(parents=True)
        for number in range(10):  # frames 000000..000090, two people each
            for person in (0, 1):
                shutil.copy(frames[(number + person) % len(frames)],
                            source / video / f"{number * 10:06d}_{person}.png")
    assert prepare(["split", str(source), "--recursive", "--in-order", "--group", "^(.+)_[0-9]+$",
                    "--parts", "train:0.6,classifier:0.2,test:0.2", "--out", str(tmp_path / "out")]) == 0
    parts = {part: sorted(p.name for p in (tmp_path / "out" / part).iterdir())
             for part in ("train", "classifier", "test")}
    assert sum(map(len, parts.values())) == 40
    frame = lambda name: int(re.search(r"__(\d+)_", name).group(1))  # noqa: E731
    for video in ("clip-one", "clip-two"):
        mine = {part: {frame(n) for n in names if n.startswith(video)} for part, names in parts.items()}
        assert mine == {"train": {0, 10, 20, 30, 40, 50}, "classifier": {60, 70}, "test": {80, 90}}
    for names in parts.values():  # both people of a frame on the same side
        assert all(name.replace("_0.png", "_1.png") in names for name in names if name.endswith("_0.png"))


def test_split_by_group_draws_whole_sources(shared, tmp_path):
    frames = sorted(shared("data", "webcam_sets", "set1").glob("[0-9].png"))
    source = tmp_path / "renders"
    source.mkdir()
    for render in range(10):
        for person in range(render % 3 + 1):
            shutil.copy(frames[person], source / f"rgb_{render}_{person}.png")
    assert prepare(["split", str(source), "--group", "^(.+)_[0-9]+$", "--parts", "train:0.5,test:0.5",
                    "--out", str(tmp_path / "out")]) == 0
    groups = {part: {name.rsplit("_", 1)[0] for name in os.listdir(tmp_path / "out" / part)}
              for part in ("train", "test")}
    assert len(groups["train"]) == len(groups["test"]) == 5
    assert not groups["train"] & groups["test"]


def test_combine_turns_a_pairs_csv_into_a_b_images_named_after_a(domains, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("a,b,view,similarity\n"
                     f"{domains / 'A' / '0001.jpg'},{domains / 'B' / 'rgb_100.jpg'},FULL-BODY-FRONT,0.95\n"
                     f"{domains / 'A' / '0002.jpg'},{domains / 'B' / 'rgb_100.jpg'},FULL-BODY-FRONT,0.93\n")
    assert prepare(["combine", "--pairs", str(pairs), "-s", "64x64", "--out", str(tmp_path / "ab")]) == 0
    assert sorted(os.listdir(tmp_path / "ab")) == ["0001.png", "0002.png"]
    both = read_image(tmp_path / "ab" / "0002.png")
    render = cv2.resize(read_image(domains / "B" / "rgb_100.jpg"), (64, 64), interpolation=cv2.INTER_AREA)
    assert both.shape == (64, 128, 3) and np.array_equal(both[:, 64:], render)
