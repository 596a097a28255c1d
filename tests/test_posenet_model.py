"""PoseNet with the real converted TF.js weights on real full-body photos (../shared)."""
import json

import cv2
import numpy as np
import pytest
import torch

from models.posenet import PoseNet, PoseNetWeightsError, build_from_state_dict, load_network
from models.posenet.__main__ import main as posenet_cli

PHOTO_IDS = [f"{i:04d}" for i in range(7, 1003, 25)]  # 40 photos spread over the set


@pytest.fixture(scope="module")
def weights(shared):
    return shared("models", "posenet_mobilenet_v1_050.pth")


@pytest.fixture(scope="module")
def posenet(weights):
    return PoseNet.load(weights)


@pytest.fixture(scope="module")
def photos(shared):
    root = shared("data", "portraits", "ccp")
    result = []
    for photo_id in PHOTO_IDS:
        image = cv2.imread(str(root / "images" / f"{photo_id}.jpg"))
        mask = cv2.imread(str(root / "masks" / f"{photo_id}.png"), cv2.IMREAD_GRAYSCALE)
        assert image is not None and mask is not None, photo_id
        result.append((photo_id, image, (mask > 127).astype(np.uint8)))
    return result


def main_person(poses):
    """The photo's subject: the person with the largest keypoint bounding box."""
    return max(poses, key=lambda p: float(np.prod(np.ptp(p.keypoints, axis=0))))


@pytest.fixture(scope="module")
def subjects(posenet, photos):
    return [(photo_id, mask, main_person(posenet.estimate(image))) for photo_id, image, mask in photos]


def test_weights_load_strictly_and_a_missing_or_extra_key_is_refused(weights, tmp_path):
    state = torch.load(weights, map_location="cpu", weights_only=True)
    build_from_state_dict(state)  # strict=True inside
    missing = dict(state)
    del missing["displacement_bwd.bias"]
    extra = dict(state, **{"features.conv14.pointwise.weight": torch.zeros(1)})
    for name, bad in (("missing", missing), ("extra", extra)):
        path = tmp_path / f"{name}.pth"
        torch.save(bad, path)
        with pytest.raises(PoseNetWeightsError, match=str(path.name)):
            load_network(path)


def test_keypoints_of_the_subject_fall_inside_the_person_mask(subjects):
    inside = []
    for photo_id, mask, pose in subjects:
        grown = cv2.dilate(mask, np.ones((31, 31), np.uint8))
        h, w = mask.shape
        for x, y in pose.keypoints:
            xi, yi = int(round(x)), int(round(y))
            inside.append(0 <= xi < w and 0 <= yi < h and bool(grown[yi, xi]))
    assert np.mean(inside) >= 0.97, f"only {np.mean(inside):.1%} of keypoints inside the dilated masks"


def test_wrists_sit_at_the_ends_of_the_arms(subjects):
    beyond_elbow, boundary_distance, torso_depth = [], [], []
    for photo_id, mask, pose in subjects:
        inside_distance = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
        torso = np.mean([pose.point(k)[:2] for k in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")],
                        axis=0)
        torso_depth.append(inside_distance[int(torso[1]), int(torso[0])])
        for side in ("left", "right"):
            shoulder = np.array(pose.point(f"{side}_shoulder")[:2])
            elbow = np.array(pose.point(f"{side}_elbow")[:2])
            *wrist, wrist_score = pose.point(f"{side}_wrist")
            if min(wrist_score, pose.point(f"{side}_elbow")[2]) < 0.5:
                continue
            wrist = np.array(wrist)
            arm = (elbow - shoulder) / np.linalg.norm(elbow - shoulder)
            beyond_elbow.append((wrist - shoulder) @ arm > (elbow - shoulder) @ arm)
            xi = int(np.clip(round(wrist[0]), 0, mask.shape[1] - 1))
            yi = int(np.clip(round(wrist[1]), 0, mask.shape[0] - 1))
            boundary_distance.append(inside_distance[yi, xi])
    assert len(beyond_elbow) >= 50
    assert np.mean(beyond_elbow) >= 0.85, f"wrist beyond the elbow on only {np.mean(beyond_elbow):.0%} of arms"
    # Hands are at the silhouette's edge, the torso centre deep inside it.
    assert np.median(boundary_distance) < 0.3 * np.median(torso_depth)
    assert np.mean(np.array(boundary_distance) <= 40) >= 0.8


def test_rgb_in_minus_one_to_one_is_the_input_these_weights_expect(posenet, photos, monkeypatch):
    """The chosen preprocessing scores the subjects higher than BGR order or a [0, 1] range."""
    import models.posenet.estimator as estimator

    def mean_subject_score():
        return np.mean([main_person(posenet.estimate(image)).score for _, image, _ in photos[:15]])

    ours = mean_subject_score()
    original = estimator.preprocess
    monkeypatch.setattr(estimator, "preprocess", lambda f, s: original(f, s).flip(1))
    bgr = mean_subject_score()
    monkeypatch.setattr(estimator, "preprocess", lambda f, s: (original(f, s) + 1) / 2)
    unit_range = mean_subject_score()
    assert ours > bgr + 0.03 and ours > unit_range + 0.01, (ours, bgr, unit_range)


def test_onnx_runtime_finds_the_same_people_as_pytorch_at_any_frame_size(weights, photos, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("BACKPLATE_CACHE_DIR", str(tmp_path))
    eager = PoseNet.load(weights, runtime="torch")
    compiled = PoseNet.load(weights, runtime="onnxruntime")
    assert (eager.runtime, compiled.runtime) == ("torch", "onnxruntime")
    assert list(tmp_path.glob("graphs/posenet-*.onnx")), "the exported graph is cached"
    for _, image, _ in photos[:4]:
        for frame in (image, cv2.resize(image, (640, 480)), cv2.resize(image, (1920, 1080))):
            expected, got = eager.estimate(frame), compiled.estimate(frame)
            assert len(got) == len(expected) > 0
            for a, b in zip(expected, got):
                assert abs(a.score - b.score) < 1e-3
                assert np.abs(a.keypoints - b.keypoints).max() < 0.5  # pixels


def test_cli_prints_people_as_json(weights, shared, capsys):
    image = shared("data", "portraits", "ccp", "images", "0002.jpg")
    assert posenet_cli([str(image), "--weights", str(weights), "--json"]) == 0
    people = json.loads(capsys.readouterr().out)
    assert len(people) >= 1
    assert [k["name"] for k in people[0]["keypoints"]][:3] == ["nose", "left_eye", "right_eye"]
    nose = people[0]["keypoints"][0]
    assert 0 < nose["x"] < 550 and 0 < nose["y"] < 300 and nose["score"] > 0.5


def test_cli_explains_a_missing_image_or_weights_file(weights, shared, capsys, tmp_path):
    assert posenet_cli([str(tmp_path / "none.jpg"), "--weights", str(weights)]) == 2
    assert "cannot read image" in capsys.readouterr().err
    image = shared("data", "portraits", "ccp", "images", "0002.jpg")
    assert posenet_cli([str(image), "--weights", str(tmp_path / "w.pth")]) == 2
    assert "w.pth" in capsys.readouterr().err


def test_shipped_weights_are_the_licensed_file_and_need_no_flag(weights, shared, capsys):
    """The project ships Google's PoseNet 0.50 unchanged, with its Apache-2.0 notice, and finds it by itself."""
    import hashlib

    from models.posenet.weights import SHIPPED_WEIGHTS
    digest = hashlib.sha256(SHIPPED_WEIGHTS.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(weights.read_bytes()).hexdigest()
    notice = SHIPPED_WEIGHTS.with_name(SHIPPED_WEIGHTS.stem + ".LICENSE.txt").read_text()
    assert digest in notice and "Apache License" in notice and "Version 2.0, January 2004" in notice
    assert "tfjs-models" in notice and "TERMS AND CONDITIONS" in notice
    image = shared("data", "portraits", "ccp", "images", "0002.jpg")
    assert posenet_cli([str(image)]) == 0
    assert f"weights {SHIPPED_WEIGHTS}" in capsys.readouterr().out
