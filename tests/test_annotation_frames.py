"""Set/frame documents on disk (autosave, reopen, bad input) and the assist wiring, without Qt."""
import json
import shutil

import cv2
import numpy as np
import pytest

from annotation.assist import Assist, AssistError, polygons_from_probability
from annotation.frames import (FrameDocument, SetError, choose_frames, is_done, json_path, mask_path,
                               open_capture_set)
from annotation.geometry import Polygon
from annotation.raster import rasterise
from fileio.capture_sets import read_set


def square(x0, y0, x1, y1, subtract=False):
    return Polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), subtract)


@pytest.fixture
def capture(tmp_path, shared):
    """A copy of real set1 in tmp_path: frames 0-2 without masks, frame 3 with its original mask."""
    source = shared("data", "webcam_sets", "set1")
    target = tmp_path / "set1"
    target.mkdir()
    for name in ["bkg.png", "0.png", "1.png", "2.png", "3.png", "3_mask.png"]:
        shutil.copy2(source / name, target / name)
    return tmp_path


def test_missing_set_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SetError, match="set7 does not exist.*--images"):
        open_capture_set(tmp_path, 7)
    (tmp_path / "set8").mkdir()
    with pytest.raises(SetError, match="no frames"):
        open_capture_set(tmp_path, 8)


def test_choose_frames_defaults_to_frames_without_mask(capture):
    capture_set = open_capture_set(capture, 1)
    frames, message = choose_frames(capture_set, all_frames=False)
    assert [f.index for f in frames] == [0, 1, 2] and message == ""
    frames, _ = choose_frames(capture_set, all_frames=True)
    assert [f.index for f in frames] == [0, 1, 2, 3]
    for index in (0, 1, 2):
        shutil.copy2(capture / "set1" / "3_mask.png", capture / "set1" / f"{index}_mask.png")
    frames, message = choose_frames(open_capture_set(capture, 1), all_frames=False)
    assert len(frames) == 4 and "every frame" in message


def test_edits_autosave_mask_and_json_and_reopen_restores(capture):
    frame = open_capture_set(capture, 1).frames[0]
    document = FrameDocument(frame)
    assert document.source == "none" and not is_done(frame)
    document.editor.replace_polygons([square(100, 100, 300, 400), square(150, 150, 200, 200, True)])
    assert document.autosave()
    assert not document.autosave()  # nothing new to write
    written = cv2.imread(str(mask_path(frame)), cv2.IMREAD_UNCHANGED)
    assert written.shape == (480, 640) and written.dtype == np.uint8
    assert np.array_equal(written, rasterise(document.editor.polygons, (480, 640)))
    data = json.loads(json_path(frame).read_text())
    assert data["imagePath"] == "0.png" and data["imageData"] is None
    reopened = FrameDocument(frame)
    assert reopened.source == "json" and reopened.editor.polygons == document.editor.polygons
    leftovers = [p.name for p in (capture / "set1").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_drafts_are_not_saved(capture):
    frame = open_capture_set(capture, 1).frames[0]
    document = FrameDocument(frame)
    document.editor.add_point((1, 1))
    document.editor.add_point((50, 1))
    assert not document.autosave() and not mask_path(frame).exists()


def test_frame_with_only_a_mask_opens_with_traced_polygons(capture):
    frame = [f for f in open_capture_set(capture, 1).frames if f.index == 3][0]
    document = FrameDocument(frame)
    assert document.source == "mask" and document.editor.polygons
    assert not document.unsaved and not json_path(frame).exists()  # opening writes nothing


def test_corrupt_json_is_kept_as_bad_and_not_overwritten(capture):
    frame = open_capture_set(capture, 1).frames[1]
    json_path(frame).write_text('{"shapes": [')
    document = FrameDocument(frame)
    bad = capture / "set1" / "1.json.bad"
    assert bad.read_text() == '{"shapes": [' and not json_path(frame).exists()
    assert any("1.json" in m and "1.json.bad" in m for m in document.messages)
    document.editor.replace_polygons([square(10, 10, 50, 50)])
    document.autosave()
    assert bad.read_text() == '{"shapes": [' and json_path(frame).exists()
    json_path(frame).write_text("garbage")
    FrameDocument(frame)
    assert (capture / "set1" / "1.json.bad.1").read_text() == "garbage"


def test_unreadable_frame_gives_a_message_and_is_not_editable(capture):
    (capture / "set1" / "2.png").write_bytes(b"not a png")
    document = FrameDocument(open_capture_set(capture, 1).frames[2])
    assert not document.editable and "2.png" in document.error and "cannot read image" in document.error
    assert not document.autosave()


def test_assisted_polygons_wait_until_edited_or_accepted(capture):
    frame = open_capture_set(capture, 1).frames[0]
    document = FrameDocument(frame)
    document.propose([square(10, 10, 100, 100)])
    assert not document.autosave() and not mask_path(frame).exists()
    document.editor.insert_vertex(0, 0, (50, 5))
    assert document.autosave() and mask_path(frame).exists()
    other = FrameDocument(open_capture_set(capture, 1).frames[1])
    other.propose([square(10, 10, 100, 100)])
    other.save()  # accept as is
    assert is_done(other.frame)


# ---- assist -----------------------------------------------------------------------------------------------
class FakeSegmenter:
    """Records which model the assist asked for; returns a disc with a hole."""

    def __init__(self, plate=True, single=True):
        self.has_plate_model, self.has_single_model = plate, single
        self.calls = []

    def segment(self, frame, plate_bgr=None):
        self.calls.append("plate" if plate_bgr is not None else "single")
        probability = np.zeros(frame.shape[:2], np.float32)
        cv2.circle(probability, (320, 240), 150, 0.9, -1)
        cv2.circle(probability, (320, 240), 40, 0.1, -1)
        probability[5:8, 5:8] = 1.0  # speck: dropped as noise
        return probability


def test_assist_uses_the_plate_model_when_the_set_has_a_plate():
    frame, plate = np.zeros((480, 640, 3), np.uint8), np.ones((480, 640, 3), np.uint8)
    segmenter = FakeSegmenter()
    polygons = Assist(segmenter).polygons(frame, plate)
    assert segmenter.calls == ["plate"]
    assert [p.subtract for p in polygons] == [False, True]
    assert all(len(p.points) <= 80 for p in polygons)
    Assist(segmenter).polygons(frame, None)
    assert segmenter.calls[-1] == "single"
    with pytest.raises(AssistError, match="no bkg.png"):
        Assist(FakeSegmenter(single=False)).polygons(frame, None)


def test_probability_to_polygons_keeps_the_hole():
    probability = FakeSegmenter().segment(np.zeros((480, 640, 3), np.uint8))
    mask = rasterise(polygons_from_probability(probability), (480, 640))
    expected = (probability >= 0.5).astype(np.uint8) * 255
    expected[5:8, 5:8] = 0
    inter = np.count_nonzero(mask & expected)
    assert inter / np.count_nonzero(mask | expected) > 0.98


def test_assist_without_weights_is_unavailable_with_the_reason(tmp_path):
    assist = Assist.load(tmp_path / "missing.pt")
    assert not assist.available and "missing.pt" in assist.unavailable_reason
    with pytest.raises(AssistError):
        assist.polygons(np.zeros((4, 4, 3), np.uint8))


def test_assist_runs_a_real_checkpoint_on_a_real_frame(tmp_path, capture):
    from models.checkpoint import save_checkpoint
    from models.plate_net import PlateNet
    from fileio.capture_sets import read_image
    save_checkpoint(tmp_path / "plate.pt", PlateNet())
    assist = Assist.load(tmp_path / "plate.pt", device="cpu")
    assert assist.available and assist.segmenter.has_plate_model
    capture_set = read_set(capture / "set1")
    probability = assist.predict(read_image(capture_set.frames[0].image_path), read_image(capture_set.plate_path))
    assert probability.shape == (480, 640) and 0 <= probability.min() <= probability.max() <= 1
    polygons = polygons_from_probability(probability)  # untrained: any shapes, but valid ones
    assert all(len(p.points) >= 3 for p in polygons)


def test_a_failed_write_leaves_the_previous_files_whole(capture, monkeypatch):
    import annotation.files as files
    frame = open_capture_set(capture, 1).frames[0]
    document = FrameDocument(frame)
    document.editor.replace_polygons([square(10, 10, 100, 100)])
    document.autosave()
    before = mask_path(frame).read_bytes(), json_path(frame).read_bytes()

    def killed(*_args):
        raise KeyboardInterrupt  # stands in for a kill between writing the temp file and renaming it
    monkeypatch.setattr(files.os, "replace", killed)
    document.editor.replace_polygons([square(10, 10, 300, 300)])
    with pytest.raises(KeyboardInterrupt):
        document.autosave()
    assert (mask_path(frame).read_bytes(), json_path(frame).read_bytes()) == before
    assert not [p for p in (capture / "set1").iterdir() if p.name.endswith(".tmp")]


def test_cli_reports_a_missing_set_without_a_traceback(tmp_path, capsys):
    from annotation.__main__ import main
    assert main(["-s", "42", "--images", str(tmp_path)]) == 2
    assert "set42 does not exist" in capsys.readouterr().err
