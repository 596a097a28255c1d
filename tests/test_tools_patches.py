"""python -m tools.patches on a few real seconds of one_by_one_person_detection.mp4: patches, manifest, resume."""
import csv
import re

import cv2
import numpy as np
import pytest

from models.person_boxes import DEFAULT_MODE, MODES
from tools.patches import DETECTORS, MANIFEST_COLUMNS, main

CLIP_START, CLIP_FRAMES = 552, 30  # a woman standing at the table, seen from behind, at 10 fps: 3 seconds
COMMON = ["--runtime", "torch", "--no-progress", "--threads", "1"]


@pytest.fixture(scope="module")
def clip(shared, tmp_path_factory):
    """Frames 552..581 of the shared video, written as an mp4 in a temporary folder."""
    capture = cv2.VideoCapture(str(shared("data", "videos", "one_by_one_person_detection.mp4")))
    frames, index = [], -1
    while len(frames) < CLIP_FRAMES and capture.grab():
        index += 1
        if index >= CLIP_START:
            frames.append(capture.retrieve()[1])
    capture.release()
    path = tmp_path_factory.mktemp("clip") / "standing.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def read_manifest(out):
    with open(out / "manifest.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def keys(rows):
    return [(r["video"], r["frame"], r["person"]) for r in rows]


@pytest.fixture(scope="module")
def first_run(clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("patches")
    code = main([str(clip), "--out", str(out)] + COMMON)
    return out, code


def test_patches_of_the_person_at_each_checkpoint_and_the_second_before(first_run, clip, capfd):
    out, code = first_run
    assert code == 0
    rows = read_manifest(out)
    assert set(MANIFEST_COLUMNS) <= set(rows[0])
    # Checkpoints 0 and 24; at 10 fps the second before a checkpoint holds frames 14..23, 4 of them checked.
    frames = sorted({int(r["frame"]) for r in rows})
    assert frames[0] == 0 and frames[-1] == 24
    extra = frames[1:-1]
    assert len(extra) == 4 and all(14 <= f < 24 for f in extra)
    assert len(rows) == len(set(keys(rows)))
    for row in rows:
        patch = cv2.imread(str(out / row["path"]))
        assert patch.shape == (256, 256, 3)
        x, y, side = int(row["x"]), int(row["y"]), int(row["side"])
        box = [float(row[k]) for k in ("box_x0", "box_y0", "box_x1", "box_y1")]
        assert x <= box[0] and y <= box[1] and box[2] <= x + side and box[3] <= y + side
        assert float(row["score"]) >= 0.2
    # The woman stands with her back to the camera, full length, in every frame.
    views = [r["view"] for r in rows]
    assert views.count("FULL-BODY-BACK") >= 0.8 * len(views)
    # One woman: one patch per frame, her box over the same spot of the frame.
    assert all(r["person"] == "0" for r in rows)
    centres = np.array([[(float(r["box_x0"]) + float(r["box_x1"])) / 2 for r in rows]])
    assert np.ptp(centres) < 100


def test_rerun_adds_nothing_and_resumes_a_stopped_run_without_duplicates(first_run, clip, capfd):
    out, _ = first_run
    before = keys(read_manifest(out))
    capfd.readouterr()
    assert main([str(clip), "--out", str(out)] + COMMON) == 0
    assert "patches=0" in capfd.readouterr().out
    assert keys(read_manifest(out)) == before

    # A run stopped during checkpoint 24: its rows half written (a torn last line), not marked finished.
    progress = (out / "checkpoints.csv").read_text().splitlines(keepends=True)
    kept = [line for line in progress if not re.match(r".*,(24|done),", line)]
    (out / "checkpoints.csv").write_text("".join(kept))
    manifest = (out / "manifest.csv").read_text()
    (out / "manifest.csv").write_text(manifest + manifest.splitlines()[-1][:20])
    capfd.readouterr()
    assert main([str(clip), "--out", str(out)] + COMMON) == 0
    summary = capfd.readouterr().out
    assert "frames_analysed=5" in summary  # checkpoint 24 and its 4 frames, nothing before
    after = keys(read_manifest(out))
    assert sorted(after) == sorted(before) and len(after) == len(set(after))
    assert (out / "manifest.csv").read_text().endswith("\n")


def test_unreadable_video_is_named_and_skipped(first_run, clip, tmp_path, capfd):
    out, _ = first_run
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video" * 100)
    capfd.readouterr()
    code = main([str(broken), str(clip), "--out", str(out)] + COMMON)
    err = capfd.readouterr().err
    assert code == 1
    assert "broken.mp4" in err and "Traceback" not in err
    assert all("broken" not in r["video"] for r in read_manifest(out))


def test_bad_arguments_exit_2_with_one_line(clip, tmp_path, capfd):
    assert main([str(clip), "--out", str(tmp_path / "o"), "--detector", "maskrcnn"]) == 2
    err = capfd.readouterr().err.strip()
    assert "--weights" in err and len(err.splitlines()) == 1
    with pytest.raises(SystemExit) as stop:
        main([str(clip), "--out", str(tmp_path / "o"), "--every", "0"])
    assert stop.value.code == 2
    assert set(DETECTORS) == set(MODES) | {"maskrcnn"} and DETECTORS[0] == DEFAULT_MODE


def test_jobs_spread_a_folder_and_a_video_over_processes(shared, clip, tmp_path, capfd):
    photos = tmp_path / "photos"
    photos.mkdir()
    capture_set = shared("data", "webcam_sets", "set4")
    for name in ("2.png", "2_mask.png", "bkg.png"):  # the mask is not a picture of a person: left out
        (photos / name).write_bytes((capture_set / name).read_bytes())
    out = tmp_path / "out"
    code = main([str(photos), str(clip), "--out", str(out), "--jobs", "2", "--every", "100"] + COMMON[:3])
    assert code == 0
    rows = read_manifest(out)
    assert len(rows) == len(set(keys(rows)))
    assert {r["frame"] for r in rows if r["video"] == str(photos.resolve())} == {"2.png"}
    assert {r["frame"] for r in rows if r["video"] == str(clip.resolve())} == {"0"}
    finished = (out / "checkpoints.csv").read_text()
    assert finished.count(",done,") == 1  # the video; a folder stays open for images added later
