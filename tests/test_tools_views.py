"""python -m tools.views on hand-labelled patches re-cut from the shared photos and renders."""
import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.person_boxes import cut_square
from models.view_classes import UNKNOWN, VIEWS
from tools.views import main

LABELS = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "view_labels.csv"
PER_VIEW = 6


@pytest.fixture(scope="module")
def labelled(shared, tmp_path_factory):
    """PER_VIEW hand-labelled patches of each view (evenly spaced through the photo and render labels), and a
    people-free photo; returns the folder and each file's label."""
    with open(LABELS, newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r["frame"] == ""]  # photos and renders, no video decoding
    folder = tmp_path_factory.mktemp("labelled")
    truth = {}
    for view in VIEWS:
        of_view = [r for r in rows if r["view"] == view]
        for n in np.linspace(0, len(of_view) - 1, PER_VIEW).round().astype(int):
            row = of_view[n]
            image = cv2.imread(str(shared(*Path(row["source"]).parts)))
            patch = cut_square(image, int(row["x"]), int(row["y"]), int(row["side"]), 256)
            name = f"{view.lower()}_{n:03d}.png"
            cv2.imwrite(str(folder / name), patch)
            truth[name] = view
    background = cv2.imread(str(shared("data", "backgrounds", "boat_00000.jpg")))
    cv2.imwrite(str(folder / "no_person.png"), cv2.resize(background[:, :480], (256, 256)))
    truth["no_person.png"] = UNKNOWN
    return folder, truth


@pytest.fixture(scope="module")
def classified(shared, labelled, tmp_path_factory):
    folder, truth = labelled
    out = tmp_path_factory.mktemp("views")
    code = main([str(folder), "--out", str(out / "views.csv"), "--sort", str(out / "sorted"), "--sheet",
                 str(out / "sheet.png"), "--no-progress", "--posenet-weights",
                 str(shared("models", "posenet_mobilenet_v1_050.pth"))])
    with open(out / "views.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    return code, out, {Path(r["path"]).name: r["view"] for r in rows}, rows


def test_views_agree_with_our_hand_labels(labelled, classified):
    _, truth = labelled
    code, _, predicted, rows = classified
    assert code == 0
    assert list(rows[0]) == ["path", "view"] and len(rows) == len(truth)
    assert predicted["no_person.png"] == UNKNOWN
    right = {view: sum(predicted[name] == view for name, t in truth.items() if t == view) for view in VIEWS}
    # Measured on these 24: 19 right, back views the weakest (benchmarks.patches prints the full matrix).
    assert sum(right.values()) >= 18, right
    assert all(count >= PER_VIEW // 2 for count in right.values()), right


def test_sort_copies_each_image_into_its_view_folder(labelled, classified):
    folder, truth = labelled
    _, out, predicted, _ = classified
    for name, view in predicted.items():
        copy = out / "sorted" / view / name
        assert copy.read_bytes() == (folder / name).read_bytes()
    assert len(list(folder.iterdir())) == len(truth)  # the originals stay
    sheet = cv2.imread(str(out / "sheet.png"))
    assert sheet is not None and sheet.shape[0] > 160 and sheet.shape[1] > 160


def test_existing_output_needs_force_and_a_missing_folder_is_named(labelled, classified, tmp_path, capfd):
    folder, _ = labelled
    _, out, _, _ = classified
    capfd.readouterr()
    assert main([str(folder), "--out", str(out / "views.csv")]) == 2
    assert "--force" in capfd.readouterr().err
    assert main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "v.csv")]) == 2
    err = capfd.readouterr().err
    assert "nowhere" in err and len(err.strip().splitlines()) == 1
