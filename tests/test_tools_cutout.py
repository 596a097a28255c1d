"""python -m tools.cutout on real photos, a folder with a corrupt file and a real video clip."""
import shutil

import cv2
import numpy as np
import pytest

from fileio.capture_sets import read_mask
from metrics.mask_metrics import iou
from tools import cutout

PERSON_FRAME = ("data", "webcam_sets", "set4", "1.png")  # one person in front of a plain room
PERSON_MASK = ("data", "webcam_sets", "set4", "1_mask.png")
PLATE = ("data", "webcam_sets", "set4", "bkg.png")


def run_tool(capsys, *args):
    """(exit code, stderr) of the tool run in this process; argparse's own errors exit through SystemExit."""
    try:
        code = cutout.main([str(a) for a in args] + ["--no-progress"])
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def read_unchanged(path):
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"{path} was not written or is not an image"
    return image


def inner(mask: np.ndarray, pixels: int = 7) -> np.ndarray:
    """The mask minus a border, where a soft model edge cannot disagree with the ground truth."""
    return cv2.erode(mask.astype(np.uint8), np.ones((2 * pixels + 1,) * 2, np.uint8)) > 0


@pytest.fixture(scope="module")
def frame_and_truth(shared):
    return shared(*PERSON_FRAME), read_mask(shared(*PERSON_MASK))


def test_mask_of_a_webcam_photo_matches_its_ground_truth(capsys, tmp_path, frame_and_truth):
    frame_path, truth = frame_and_truth
    code, err = run_tool(capsys, frame_path, "--format", "mask", "--out", tmp_path)
    assert code == 0, err
    mask = read_unchanged(tmp_path / "1.png")
    assert mask.dtype == np.uint8 and mask.shape == truth.shape
    assert iou(mask > 127, truth) > 0.8


def test_rgba_alpha_is_the_mask_and_colour_is_the_photo(capsys, tmp_path, frame_and_truth):
    frame_path, _ = frame_and_truth
    assert run_tool(capsys, frame_path, "--format", "mask", "--out", tmp_path / "mask")[0] == 0
    assert run_tool(capsys, frame_path, "--format", "rgba", "--out", tmp_path / "rgba")[0] == 0
    rgba = read_unchanged(tmp_path / "rgba" / "1.png")
    assert rgba.shape[2] == 4
    np.testing.assert_array_equal(rgba[:, :, 3], read_unchanged(tmp_path / "mask" / "1.png"))
    np.testing.assert_array_equal(rgba[:, :, :3], cv2.imread(str(frame_path)))


def test_composite_over_a_flat_colour_keeps_the_person(capsys, tmp_path, frame_and_truth):
    frame_path, truth = frame_and_truth
    code, err = run_tool(capsys, frame_path, "--color", "255,0,255", "--out", tmp_path)  # --color implies composite
    assert code == 0, err
    frame = cv2.imread(str(frame_path)).astype(np.int16)
    composite = read_unchanged(tmp_path / "1.png").astype(np.int16)
    person, background = inner(truth), inner(~truth)
    assert np.abs(composite[person] - frame[person]).mean() < 8  # the person's own pixels, barely touched
    magenta = np.array([255, 0, 255], np.int16)  # BGR of R,G,B 255,0,255
    assert np.median(np.abs(composite[background] - magenta)) < 8


def test_plate_runs_the_plate_model(capsys, tmp_path, shared, frame_and_truth):
    frame_path, truth = frame_and_truth
    code, err = run_tool(capsys, frame_path, "--plate", shared(*PLATE), "--format", "mask", "--out", tmp_path / "a")
    assert code == 0, err
    assert iou(read_unchanged(tmp_path / "a" / "1.png") > 127, truth) > 0.9
    # The frame as its own plate: the plate model sees no change, hence no person (the single model would).
    code, err = run_tool(capsys, frame_path, "--plate", frame_path, "--format", "mask", "--out", tmp_path / "b")
    assert code == 0, err
    assert (read_unchanged(tmp_path / "b" / "1.png") > 127).mean() < 0.2 * truth.mean()


def test_a_plate_of_another_size_is_one_clear_error(capsys, tmp_path, shared, frame_and_truth):
    frame_path, _ = frame_and_truth
    other = shared("data", "portraits", "ccp", "images", "0001.jpg")
    code, err = run_tool(capsys, frame_path, "--plate", other, "--out", tmp_path)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "640x480" in err and "same size" in err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_folder_with_a_corrupt_file_names_it_skips_it_and_exits_1(capsys, tmp_path, shared):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("0001.jpg", "0002.jpg"):
        shutil.copy(shared("data", "portraits", "ccp", "images", name), photos / name)
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)  # a truncated PNG
    code, err = run_tool(capsys, photos, "--out", tmp_path / "out")
    assert code == 1
    assert "broken.png" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0001.png", "0002.png"]
    for name in ("0001", "0002"):
        truth = read_mask(shared("data", "portraits", "ccp", "masks", f"{name}.png"))
        alpha = read_unchanged(tmp_path / "out" / f"{name}.png")[:, :, 3]
        assert iou(alpha > 127, truth) > 0.7


def test_existing_outputs_are_kept_unless_force(capsys, tmp_path, frame_and_truth):
    frame_path, _ = frame_and_truth
    output = tmp_path / "1.png"
    output.write_bytes(b"the user's own file")
    code, err = run_tool(capsys, frame_path, "--out", tmp_path)
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert output.read_bytes() == b"the user's own file"
    code, err = run_tool(capsys, frame_path, "--out", tmp_path, "--force")
    assert code == 0, err
    assert read_unchanged(output).shape == (480, 640, 4)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind


@pytest.fixture(scope="module")
def short_clip(shared, tmp_path_factory):
    """The first 6 frames of the real pets video, cut into a temporary AVI."""
    source = cv2.VideoCapture(str(shared("data", "videos", "pets2009_s2l1_vtest.avi")))
    path = tmp_path_factory.mktemp("clip") / "pets.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (480, 360))
    frames = []
    for _ in range(6):
        ok, frame = source.read()
        assert ok
        writer.write(frame)
        frames.append(frame)
    writer.release()
    source.release()
    return path, frames


def test_video_composite_is_a_video_of_the_same_frames(capsys, tmp_path, short_clip):
    clip, _ = short_clip
    code, err = run_tool(capsys, clip, "--blur", "--out", tmp_path)
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir()] == ["pets.mp4"]
    video = cv2.VideoCapture(str(tmp_path / "pets.mp4"))
    assert video.get(cv2.CAP_PROP_FPS) == pytest.approx(10, abs=0.1)
    frames = []
    while True:
        ok, frame = video.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 6 and frames[0].shape == (360, 480, 3)


def test_video_masks_are_one_png_per_frame(capsys, tmp_path, short_clip):
    clip, source_frames = short_clip
    code, err = run_tool(capsys, clip, "--format", "mask", "--out", tmp_path)
    assert code == 0, err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"pets_{i:06d}.png" for i in range(6)]
    masks = [read_unchanged(tmp_path / name) for name in names]
    assert all(m.shape == source_frames[0].shape[:2] and m.dtype == np.uint8 for m in masks)


def test_gray_model_ignores_colour(capsys, tmp_path, frame_and_truth):
    frame_path, truth = frame_and_truth
    assert cutout.GRAY_WEIGHTS.is_file(), "models/weights/single_gray.pt is not shipped"
    gray_copy = tmp_path / "gray" / "1.png"
    gray_copy.parent.mkdir()
    frame = cv2.imread(str(frame_path))
    cv2.imwrite(str(gray_copy), cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
    for name, source in (("colour", frame_path), ("desaturated", gray_copy)):
        for model in ("--gray", None):
            args = [source, "--format", "mask", "--out", tmp_path / f"{name}{model or ''}"] + ([model] if model else [])
            assert run_tool(capsys, *args)[0] == 0
    gray_on_colour = read_unchanged(tmp_path / "colour--gray" / "1.png")
    assert iou(gray_on_colour > 127, truth) > 0.8
    # Only rounding may differ: colour channels are shrunk before the grey conversion, and the guided filter's
    # small windows turn a one-level grey difference into a few levels of mask.
    gray_change = np.abs(gray_on_colour.astype(int) - read_unchanged(tmp_path / "desaturated--gray" / "1.png"))
    assert gray_change.max() <= 8
    # The RGB model does see the colour, so the same two inputs differ there: --gray did pick another model.
    rgb_change = np.abs(read_unchanged(tmp_path / "colour" / "1.png").astype(int)
                        - read_unchanged(tmp_path / "desaturated" / "1.png"))
    assert rgb_change.max() > 32


@pytest.mark.parametrize("args, words", [
    (["--format", "mask", "--blur"], "--format composite"),
    (["--gray", "--plate", "x.png"], "one of them"),
    (["--replace", "/nonexistent/beach.jpg"], "beach.jpg"),
    (["--color", "300,0,0"], "0..255"),
    (["--format", "jpeg"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, tmp_path, frame_and_truth, args, words):
    frame_path, _ = frame_and_truth
    code, err = run_tool(capsys, frame_path, "--out", tmp_path, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and words in err


def test_missing_input_and_camera(capsys, tmp_path):
    code, err = run_tool(capsys, tmp_path / "nowhere.jpg", "--out", tmp_path / "out")
    assert code == 2 and "nowhere.jpg" in err
    code, err = run_tool(capsys, "97", "--frames", "2", "--out", tmp_path / "out")  # no camera 97 on any test host
    assert code == 1 and "camera 97" in err



def test_an_empty_room_stays_empty_unless_the_person_gate_is_turned_off(capsys, tmp_path, shared):
    """Frame 0 of the one-by-one video is an empty room whose floor the single-frame model alone paints."""
    capture = cv2.VideoCapture(str(shared("data", "videos", "one_by_one_person_detection.mp4")))
    ok, room = capture.read()
    capture.release()
    assert ok, "cannot read frame 0 of the one-by-one video"
    picture = tmp_path / "room.png"
    cv2.imwrite(str(picture), room)
    painted = {}
    for flags, folder in (((), "gated"), (("--no-person-gate",), "plain")):
        code, err = run_tool(capsys, picture, "--format", "mask", "--out", tmp_path / folder, *flags)
        assert code == 0, err
        painted[folder] = (read_unchanged(tmp_path / folder / "room.png") > 127).mean()
    assert painted["plain"] > 0.02, "the single-frame model alone no longer paints this floor"
    assert painted["gated"] < 0.005
