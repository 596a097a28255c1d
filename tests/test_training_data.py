"""The trainer's data loading: real layouts, held-out splits, and clear messages for bad data."""
import os
import shutil

import cv2
import pytest

from fileio.capture_sets import list_pictures, list_sequences, read_mask, sequence_name, split_pictures
from fileio.shared_data import REPO_ROOT
from metrics.mask_metrics import iou
from training.__main__ import main as training_main
from training.data import DataError, classify_folder, load_pool, parse_val_sequences, parse_val_sets


def link_sets(shared, tmp_path, numbers):
    root = tmp_path / "sets"
    root.mkdir()
    for number in numbers:
        os.symlink(shared("data", "webcam_sets", f"set{number}"), root / f"set{number}")
    return root


def test_split_is_by_set_and_uses_every_annotated_frame(shared, tmp_path):
    root = link_sets(shared, tmp_path, [1, 2, 4, 9])
    warnings = []
    pool = load_pool([root], val_sets={4, 9}, warn=warnings.append)
    assert warnings == []
    assert {p.set_number for p in pool.train_pairs} == {1, 2}
    assert {p.set_number for p in pool.val_pairs} == {4, 9}
    frames = sum(len([f for f in os.listdir(root / f"set{n}") if f[:-4].isdigit()]) for n in (1, 2, 4, 9))
    assert len(pool.train_pairs) + len(pool.val_pairs) == frames
    assert len(pool.train_plates) == 2 and len(pool.val_plates) == 2
    assert all(not c.name.startswith(("set4/", "set9/")) for c in pool.webcam_cutouts)
    pair = pool.train_pairs[0]
    assert pair.frame.shape == pair.plate.shape == (480, 640, 3) and pair.mask.shape == (480, 640)


@pytest.fixture
def twenty_portraits(shared, tmp_path):
    folder = tmp_path / "portraits"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    source = shared("data", "portraits", "ccp")
    for name in sorted(os.listdir(source / "images"))[:20]:
        os.symlink(source / "images" / name, folder / "images" / name)
        stem = name.rsplit(".", 1)[0]
        os.symlink(source / "masks" / f"{stem}.png", folder / "masks" / f"{stem}.png")
    return folder


def test_portraits_split_by_photo_seeded_and_disjoint(twenty_portraits):
    folder = twenty_portraits
    first = load_pool([folder], val_fraction=0.25, seed=3)
    again = load_pool([folder], val_fraction=0.25, seed=3)
    other = load_pool([folder], val_fraction=0.25, seed=4)
    names = lambda photos: {p.name for p in photos}  # noqa: E731
    assert len(first.val_photos) == 5 and len(first.train_photos) == 15
    assert not names(first.val_photos) & names(first.train_photos)
    assert names(first.val_photos) == names(again.val_photos) != names(other.val_photos)
    assert len(first.portrait_cutouts) == 15  # cut-outs come from training photos only
    assert max(first.train_photos[0].image.shape[:2]) <= 400  # cached downscaled


def test_held_out_photos_follow_split_seed_not_the_training_seed(twenty_portraits, capsys):
    # A fine-tune with a new --seed must not train on photos that the first run held out.
    def held_out_report(*seeds):
        code = training_main(["--test-only", str(REPO_ROOT / "models" / "weights" / "single.pt"),
                              "--data", str(twenty_portraits), "--val-fraction", "0.25", "--no-progress", *seeds])
        assert code == 0
        return [line for line in capsys.readouterr().out.splitlines() if "over 5 frames" in line]

    first = held_out_report("--seed", "0")
    assert len(first) == 1
    assert held_out_report("--seed", "9") == first
    assert held_out_report("--seed", "0", "--split-seed", "9") != first


def test_unreadable_frames_and_mismatched_masks_are_skipped_with_the_file_named(shared, tmp_path):
    source = shared("data", "webcam_sets", "set1")
    broken = tmp_path / "captures" / "set1"
    shutil.copytree(source, broken)
    (broken / "0.png").write_bytes(b"not a png")
    mask = cv2.imread(str(broken / "1_mask.png"))
    cv2.imwrite(str(broken / "1_mask.png"), cv2.resize(mask, (320, 300)))  # another aspect ratio: skipped
    scaled = cv2.imread(str(broken / "2_mask.png"))
    cv2.imwrite(str(broken / "2_mask.png"), cv2.resize(scaled, (320, 240), interpolation=cv2.INTER_NEAREST))
    warnings = []
    pool = load_pool([tmp_path / "captures"], val_sets=set(), warn=warnings.append)
    assert any(str(broken / "0.png") in w for w in warnings)
    assert any(str(broken / "1_mask.png") in w and "320x300" in w for w in warnings)
    assert not any("2_mask.png" in w for w in warnings)
    good = len([f for f in os.listdir(source) if f[:-4].isdigit()]) - 2
    assert len(pool.train_pairs) == good
    # The half-size mask of the same aspect is scaled back to its frame, as the accuracy benchmark does.
    resized = next(p for p in pool.train_pairs if p.name == "set1/2")
    original = read_mask(source / "2_mask.png")
    assert resized.mask.shape == original.shape and iou(resized.mask, original) > 0.97


def test_sequence_folders_hold_out_whole_sequences(shared):
    motion = shared("data", "motion")
    assert classify_folder(motion) == "sequences"
    assert classify_folder(shared("data", "portraits", "ccp")) == "portraits"
    warnings = []
    pool = load_pool([motion], val_sequences={"hike", "tennis", "nosuch"}, warn=warnings.append)
    sequences = list_sequences(motion)
    assert pool.val_sequences == ["motion/hike", "motion/tennis"]
    assert sorted(pool.train_sequences) == sorted(f"motion/{n}" for n in sequences if n not in ("hike", "tennis"))
    train_names = {sequence_name(p.path) for p in pool.train_photos}
    val_names = {sequence_name(p.path) for p in pool.val_photos}
    assert val_names == {"hike", "tennis"} and not train_names & val_names
    assert len(pool.val_photos) == len(sequences["hike"]) + len(sequences["tennis"])
    assert len(pool.portrait_cutouts) == len(pool.train_photos)  # the training people also feed composites
    assert any("nosuch" in w for w in warnings)
    # By default every fifth sequence is held out; with four sequences that keeps them all for training.
    assert load_pool([motion], warn=lambda m: None).val_sequences == []
    assert parse_val_sequences("hike, dance-twirl") == {"hike", "dance-twirl"}
    assert parse_val_sequences("none") == set() and parse_val_sequences(None) is None


def test_held_out_backgrounds_stay_out_of_training(shared):
    backgrounds = shared("data", "backgrounds")
    sets = shared("data", "webcam_sets")
    everything = load_pool([sets / "set1"], [backgrounds], val_sets=set(), warn=lambda m: None)
    pool = load_pool([sets / "set1"], [backgrounds], val_sets=set(), val_backgrounds=0.15, seed=0,
                     warn=lambda m: None)
    pictures = list_pictures(backgrounds)
    assert len(pool.val_backgrounds) == round(0.15 * len(pictures))
    assert len(pool.train_plates) == len(everything.train_plates) - len(pool.val_backgrounds)
    assert pool.val_backgrounds == split_pictures(pictures, 0.15, 0)[1]
    assert pool.val_backgrounds != split_pictures(pictures, 0.15, 1)[1]


def test_empty_data_stops_with_the_searched_folders_named(tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError) as error:
        load_pool([tmp_path / "nothing", tmp_path / "missing"], warn=lambda message: None)
    assert str(tmp_path / "nothing") in str(error.value) and str(tmp_path / "missing") in str(error.value)
    assert "setK" in str(error.value) and "images/" in str(error.value)


def test_cli_reports_empty_data_without_a_traceback(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = training_main(["--data", str(tmp_path / "empty"), "-i", "1", "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2
    assert "error: no usable training data" in captured.err and str(tmp_path / "empty") in captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()


def test_plate_model_without_plates_is_a_clear_error(shared, tmp_path):
    folder = tmp_path / "portraits"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    source = shared("data", "portraits", "ccp")
    os.symlink(source / "images" / "0001.jpg", folder / "images" / "0001.jpg")
    os.symlink(source / "masks" / "0001.png", folder / "masks" / "0001.png")
    with pytest.raises(DataError, match="--backgrounds"):
        load_pool([folder], val_fraction=0.0, need_plates=True)


def test_val_sets_parsing():
    assert parse_val_sets("4,9,16,20") == {4, 9, 16, 20}
    assert parse_val_sets("none") == set()
    assert parse_val_sets(None) is None
    with pytest.raises(DataError, match="4,9,16,20"):
        parse_val_sets("four")


def test_step_batches_give_each_rank_its_own_samples_and_resume_where_they_stopped():
    from training.loop import StepBatches
    rank0 = list(StepBatches(0, 3, batch_size=2, rank=0, world=2))
    rank1 = list(StepBatches(0, 3, batch_size=2, rank=1, world=2))
    numbers = [n for batch in rank0 + rank1 for n in batch]
    assert sorted(numbers) == list(range(12))
    assert list(StepBatches(1, 3, batch_size=2, rank=0, world=2)) == rank0[1:]


def test_help_explains_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        training_main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--val-sets", "--val-fraction", "--backgrounds", "--resume", "--test-only", "torchrun",
                   "--val-sequences", "--val-backgrounds", "--motion-composites", "--empty-scenes", "--hard-weight",
                   "--guided-weight"):
        assert option in text
