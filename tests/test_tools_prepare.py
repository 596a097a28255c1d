"""tools.prepare on real images: A|B pairs the trainer reads back, seeded splits, downsampled copies, errors."""
import shutil

import cv2
import numpy as np
import pytest

from fileio.capture_sets import read_image
from tools.prepare import main as prepare

NAMES = ["000020", "000028", "000038", "000048", "000057", "000074"]


@pytest.fixture(scope="module")
def a_and_b(shared, tmp_path_factory):
    """Person photos as A and their product photos as B, under the same names."""
    root = tmp_path_factory.mktemp("pairs")
    tryon = shared("data", "tryon")
    for name in NAMES:
        (root / "A").mkdir(exist_ok=True)
        (root / "B").mkdir(exist_ok=True)
        shutil.copy(tryon / "image" / f"{name}_0.jpg", root / "A" / f"{name}.jpg")
        shutil.copy(tryon / "cloth" / f"{name}_1.jpg", root / "B" / f"{name}.jpg")
    return root


def test_combine_puts_a_and_b_side_by_side_and_the_trainer_reads_them_back(a_and_b, tmp_path):
    from training.gan.data import load_paired

    (a_and_b / "A" / "lonely.jpg").write_bytes((a_and_b / "A" / "000020.jpg").read_bytes())  # no partner in B
    try:
        assert prepare(["combine", "--a", str(a_and_b / "A"), "--b", str(a_and_b / "B"), "--out",
                        str(tmp_path / "ab")]) == 0
    finally:
        (a_and_b / "A" / "lonely.jpg").unlink()
    written = sorted(p.name for p in (tmp_path / "ab").iterdir())
    assert written == [f"{name}.png" for name in NAMES]
    both = read_image(tmp_path / "ab" / "000028.png")
    assert both.shape == (256, 384, 3)
    assert np.array_equal(both[:, :192], read_image(a_and_b / "A" / "000028.jpg"))  # PNG keeps every pixel
    assert np.array_equal(both[:, 192:], read_image(a_and_b / "B" / "000028.jpg"))
    data = load_paired([tmp_path / "ab"], val_fraction=0.0)
    assert data.layout == "ab" and len(data.train) == len(NAMES)
    source, _, target, _ = next(e for e in data.train if e.name == "000028").load()
    assert np.array_equal(source, both[:, :192]) and np.array_equal(target, both[:, 192:])


def test_combine_keeps_existing_files_unless_forced(a_and_b, tmp_path, capsys):
    arguments = ["combine", "--a", str(a_and_b / "A"), "--b", str(a_and_b / "B"), "--out", str(tmp_path)]
    assert prepare(arguments) == 0
    (tmp_path / "000020.png").write_bytes(b"mine")
    assert prepare(arguments) == 0
    assert (tmp_path / "000020.png").read_bytes() == b"mine"
    assert "existing kept" in capsys.readouterr().out
    assert prepare(arguments + ["--force"]) == 0
    assert read_image(tmp_path / "000020.png").shape == (256, 384, 3)


def test_split_is_seeded_disjoint_and_moves_a_and_b_together(a_and_b, tmp_path):
    assert prepare(["split", str(a_and_b), "--val", "0.34", "--seed", "3", "--out", str(tmp_path / "one")]) == 0
    assert prepare(["split", str(a_and_b), "--val", "0.34", "--seed", "3", "--out", str(tmp_path / "two")]) == 0
    names = lambda folder: sorted(p.stem for p in folder.iterdir())  # noqa: E731
    train, val = names(tmp_path / "one" / "train" / "A"), names(tmp_path / "one" / "val" / "A")
    assert len(val) == 2 and len(train) == 4 and sorted(train + val) == NAMES
    assert names(tmp_path / "one" / "val" / "B") == val
    assert names(tmp_path / "two" / "val" / "A") == val  # same seed, same split
    assert prepare(["split", str(a_and_b), "--val", "0.34", "--seed", "4", "--out", str(tmp_path / "other")]) == 0
    # and the trainer takes the split as it is
    from training.gan.data import load_paired
    data = load_paired([tmp_path / "one"])
    assert data.layout == "paired" and sorted(e.name for e in data.val) == val


def test_downsample_writes_n_files_at_the_asked_size(shared, tmp_path):
    source = shared("data", "backgrounds")
    assert prepare(["downsample", str(source), "-f", "3", "-s", "128", "--out", str(tmp_path / "long")]) == 0
    written = sorted((tmp_path / "long").iterdir())
    assert len(written) == 3
    assert all(max(read_image(p).shape[:2]) == 128 for p in written)
    assert read_image(written[0]).shape == (72, 128, 3)  # 854x480 keeps its aspect
    assert prepare(["downsample", str(source), "-f", "2", "-s", "64x48", "--out", str(tmp_path / "exact"),
                    "--random-seed", "1"]) == 0
    assert [read_image(p).shape for p in sorted((tmp_path / "exact").iterdir())] == [(48, 64, 3)] * 2


def test_an_unreadable_image_is_named_and_skipped_and_the_exit_code_says_so(a_and_b, tmp_path, capsys):
    broken = tmp_path / "in"
    broken.mkdir()
    shutil.copy(a_and_b / "A" / "000020.jpg", broken / "good.jpg")
    (broken / "bad.jpg").write_bytes(b"not a picture")
    assert prepare(["downsample", str(broken), "-f", "5", "-s", "64", "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert "bad.jpg" in error and "Traceback" not in error
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good.jpg"]


def test_bad_arguments_get_one_clear_line_and_exit_2(tmp_path, capsys):
    assert prepare(["split", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert prepare(["combine", "--a", str(tmp_path), "--b", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "partner" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        prepare(["downsample", str(tmp_path), "-f", "2", "-s", "big", "--out", str(tmp_path / "o")])
    assert exit_info.value.code == 2


def test_tryon_masks_writes_a_portrait_folder_without_the_held_out_pairs(shared, tmp_path):
    from models.gan.imaging import read_labels
    from models.gan.tryon import is_held_out
    import os

    tryon = shared("data", "tryon")
    subset = tmp_path / "tryon"
    for part in ("image", "image-parse"):
        (subset / part).mkdir(parents=True)
    people = sorted((tryon / "image").iterdir())[:30]
    for person in people:
        os.symlink(person, subset / "image" / person.name)
        os.symlink(tryon / "image-parse" / f"{person.stem}.png", subset / "image-parse" / f"{person.stem}.png")
    assert prepare(["tryon-masks", "--data", str(subset), "--out", str(tmp_path / "seg")]) == 0
    kept = sorted(p.stem for p in (tmp_path / "seg" / "masks").iterdir())
    assert kept == sorted(p.stem for p in people if not is_held_out(p.stem[:-2]))
    assert len(kept) < len(people)
    mask = cv2.imread(str(tmp_path / "seg" / "masks" / f"{kept[0]}.png"), cv2.IMREAD_GRAYSCALE)
    labels = read_labels(tryon / "image-parse" / f"{kept[0]}.png")
    assert set(np.unique(mask)) <= {0, 255}
    assert np.array_equal(mask == 255, np.isin(labels, (5, 6, 7)))
