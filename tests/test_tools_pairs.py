"""python -m tools.pairs and models.pose_similarity on real person patches."""
import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.person_boxes import cut_square
from models.pose_similarity import pose_similarity
from models.posenet import Pose, PoseNet
from models.view_classes import ViewClassifier
from tools.pairs import main

LABELS = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "view_labels.csv"


def labelled_rows(view=None):
    with open(LABELS, newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r["frame"] == ""]  # photos and renders
    return [r for r in rows if view is None or r["view"] == view]


def write_patch(shared, row, path):
    image = cv2.imread(str(shared(*Path(row["source"]).parts)))
    cv2.imwrite(str(path), cut_square(image, int(row["x"]), int(row["y"]), int(row["side"]), 256))


@pytest.fixture(scope="module")
def weights(shared):
    return str(shared("models", "posenet_mobilenet_v1_050.pth"))


@pytest.fixture(scope="module")
def folders(shared, tmp_path_factory):
    """A: 12 labelled patches of all views; B: the same files under other names, in another order."""
    rows = labelled_rows()
    picked = [rows[i] for i in np.linspace(0, len(rows) - 1, 12).round().astype(int)]
    a = tmp_path_factory.mktemp("a")
    b = tmp_path_factory.mktemp("b")
    for n, row in enumerate(picked):
        write_patch(shared, row, a / f"a{n:02d}.png")
    copies = {}
    for n, source in enumerate(sorted(a.iterdir(), reverse=True)):
        copy = b / f"copy_{(n * 7) % 12:02d}_{n}.png"
        shutil.copyfile(source, copy)
        copies[source.name] = copy.name
    return a, b, copies


def test_pairing_a_folder_with_a_renamed_copy_returns_each_images_own_copy(folders, weights, tmp_path):
    a, b, copies = folders
    out = tmp_path / "pairs.csv"
    assert main([str(a), str(b), "--out", str(out), "--min-similarity", "0.5", "--posenet-weights", weights,
                 "--no-progress"]) == 0
    with open(out, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["a", "b", "view", "similarity"]
    matched = {Path(r["a"]).name: Path(r["b"]).name for r in rows}
    assert len(matched) >= 10  # an image where PoseNet finds nobody pairs with nothing
    assert all(matched[name] == copies[name] for name in matched)
    assert all(float(r["similarity"]) > 0.999 for r in rows)
    similarities = [float(r["similarity"]) for r in rows]
    assert similarities == sorted(similarities, reverse=True)
    sheet = cv2.imread(str(tmp_path / "pairs.png"))
    assert sheet is not None and sheet.shape[1] > 2 * 160


def test_front_and_back_views_never_pair(shared, weights, tmp_path):
    front = labelled_rows("FULL-BODY-FRONT")[0]  # a street photo, facing the camera
    backs = labelled_rows("FULL-BODY-BACK")  # people walking away in street photos
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_patch(shared, front, tmp_path / "a" / "front.png")
    for n, row in enumerate(backs[-4:]):
        write_patch(shared, row, tmp_path / "b" / f"back{n}.png")
    out = tmp_path / "pairs.csv"
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out), "--min-similarity", "-1",
                 "--posenet-weights", weights, "--no-progress"]) == 0
    with open(out, newline="") as stream:
        assert list(csv.DictReader(stream)) == []


def test_similarity_ignores_position_and_size_but_not_the_pose(shared, weights):
    rows = labelled_rows("FULL-BODY-FRONT")
    image = cv2.imread(str(shared(*Path(rows[0]["source"]).parts)))
    row = rows[0]
    patch = cut_square(image, int(row["x"]), int(row["y"]), int(row["side"]), 256)
    pose = ViewClassifier(PoseNet.load(weights)).pose(patch)
    assert pose is not None
    moved = Pose(pose.score, pose.keypoints * 0.5 + np.array([40.0, -15.0]), pose.keypoint_scores)
    assert pose_similarity(pose, moved) == pytest.approx(1.0, abs=1e-9)
    # The same person with the arms raised above the head: the wrists and elbows move.
    raised = pose.keypoints.copy()
    for joint, shoulder in ((7, 5), (9, 5), (8, 6), (10, 6)):
        raised[joint, 1] = 2 * pose.keypoints[shoulder, 1] - pose.keypoints[joint, 1]
    arms_up = Pose(pose.score, raised, pose.keypoint_scores)
    assert pose_similarity(pose, arms_up) < pose_similarity(pose, moved) - 0.05
    # Keypoints PoseNet is unsure of (here the raised left arm) are left out of both vectors: what remains is the
    # same pose, weighted by the share of keypoints the two have in common.
    seen = pose.keypoint_scores >= 0.3
    assert seen[[7, 9]].all()
    unsure = pose.keypoint_scores.copy()
    unsure[[7, 9]] = 0.0
    left_arm_raised = pose.keypoints.copy()
    left_arm_raised[[7, 9]] = raised[[7, 9]]
    similarity = pose_similarity(pose, Pose(pose.score, left_arm_raised, unsure))
    assert similarity == pytest.approx((seen.sum() - 2) / seen.sum(), abs=1e-9)


def test_missing_folder_is_a_usage_error(folders, tmp_path, capfd):
    a, _, _ = folders
    assert main([str(a), str(tmp_path / "nowhere"), "--out", str(tmp_path / "p.csv")]) == 2
    err = capfd.readouterr().err
    assert "nowhere" in err and len(err.strip().splitlines()) == 1
