"""main.py as a user runs it: headless scripted runs on the pets video, and the error paths."""
import platform
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from tests.video_files import read_video

REPO = Path(__file__).resolve().parent.parent


def run_main(*args, timeout=60):
    return subprocess.run([sys.executable, str(REPO / "main.py"), *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_headless_script_makes_set1_then_set2(shared, tmp_path):
    video = shared("data", "videos", "pets2009_s2l1_vtest.avi")
    # The example at a smaller time scale: Sav is pressed exactly when Bkg's countdown ends.
    # No model: its load time (weights may exist or not) would only slow the test; presses count from start.
    script = ["--source", video, "--images", tmp_path, "--headless", "--palm", "none", "--no-segmentation",
              "--press", "bkg@0",
              "--press", "sav@0.5", "--duration", "1.6", "-b", "0.5", "-s", "0.5"]
    first = run_main(*script)
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in (tmp_path / "set1").iterdir()) == ["0.png", "bkg.png"]
    assert cv2.imread(str(tmp_path / "set1" / "bkg.png")).shape == (360, 480, 3)
    second = run_main(*script)
    assert second.returncode == 0, second.stderr
    assert "current set: set1" in second.stdout
    assert sorted(p.name for p in (tmp_path / "set2").iterdir()) == ["0.png", "bkg.png"]
    assert sorted(p.name for p in (tmp_path / "set1").iterdir()) == ["0.png", "bkg.png"]  # untouched


def test_once_stops_at_the_end_of_an_image_folder(tmp_path, shared):
    sets = shared("data", "webcam_sets")
    frames = tmp_path / "frames"
    frames.mkdir()
    for path in sorted((sets / "set1").glob("[0-9].png"))[:3]:
        (frames / path.name).symlink_to(path)
    result = run_main("--source", frames, "--once", "--fps", "20", "--headless", "--palm", "none",
                      "--no-segmentation", "--images", tmp_path / "cap", "--duration", "20")
    assert result.returncode == 0, result.stderr
    assert "source ended" in result.stdout


def test_missing_camera_is_one_line_and_non_zero(tmp_path):
    result = run_main("--source", "7", "--headless", "--palm", "none", "--images", tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "camera 7" in lines[0] and "--source FILE" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args,expected", [
    (["--replace", "nowhere.png"], "--replace nowhere.png"),
    (["--press", "jump@1"], "NAME@SECONDS"),
    (["-b", "-3"], "0 or more seconds"),
])
def test_bad_input_names_the_value(shared, tmp_path, args, expected):
    video = shared("data", "videos", "pets2009_s2l1_vtest.avi")
    result = run_main("--source", video, "--headless", "--palm", "none", "--images", tmp_path, *args)
    assert result.returncode != 0 and expected in result.stderr and "Traceback" not in result.stderr


def test_help_explains_every_flag():
    result = run_main("--help")
    assert result.returncode == 0
    for flag in ("--source", "--once", "--fps", "--mirror", "--images", "--background-timer", "--save-timer",
                 "--weights", "--no-segmentation", "--device", "--precision", "--view", "--replace", "--palm", "--dwell",
                 "--posenet-weights", "--headless", "--press", "--duration", "--record", "--record-raw",
                 "--virtual-camera", "--no-person-gate"):
        assert flag in result.stdout


def test_single_frame_masks_go_through_the_person_gate_unless_turned_off(tmp_path):
    from app.cli import build_parser, load_segmenter
    notes = {}
    for flags in ((), ("--no-person-gate",)):
        args = build_parser().parse_args(["--images", str(tmp_path), "--headless", *flags])
        segmenter, notes[flags] = load_segmenter(args)
        assert segmenter.has_single_model and (segmenter.person_gate is None) == bool(flags)
    assert "person gate" in notes[()] and "person gate" not in notes[("--no-person-gate",)]


def test_palm_none_imports_nothing_palm_related(shared, tmp_path):
    video = shared("data", "videos", "pets2009_s2l1_vtest.avi")
    probe = (
        "import sys\n"
        "from app.cli import build_parser, build_session\n"
        f"args = build_parser().parse_args(['--source', {str(video)!r}, '--images', {str(tmp_path)!r}, "
        "'--palm', 'none', '--no-segmentation', '--headless'])\n"
        "session, _ = build_session(args)\n"
        "session.close()\n"
        "print(sorted(m for m in sys.modules if 'palm' in m or 'dwell' in m or 'mediapipe' in m "
        "or 'posenet' in m or m == 'torch'))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_headless_record_writes_a_playable_file_and_never_overwrites(shared, tmp_path):
    video = shared("data", "videos", "one_by_one_person_detection.mp4")
    out = tmp_path / "clip.avi"
    args = ["--source", video, "--headless", "--palm", "none", "--no-segmentation", "--images", tmp_path / "cap",
            "--record", out, "--duration", "3"]
    first = run_main(*args)
    assert first.returncode == 0, first.stderr
    assert f"Saved recording {out}" in first.stdout
    recorded, fps = read_video(out)
    assert fps == pytest.approx(10.0)  # the video's own rate
    assert len(recorded) >= 15 and all(frame.shape == (432, 768, 3) for frame in recorded)
    # The view without buttons: each recorded frame is a source frame, button corners included.
    sources, _ = read_video(video, limit=len(recorded) + 40)
    for frame in recorded[::5]:
        assert max(cv2.PSNR(frame, source) for source in sources) > 30
    second = run_main(*args)
    assert second.returncode == 0, second.stderr
    assert f"Saved recording {tmp_path / 'clip-1.avi'}" in second.stdout
    assert read_video(out)[0][0].tobytes() == recorded[0].tobytes()  # the first file is untouched
    assert len(read_video(tmp_path / "clip-1.avi")[0]) >= 15


def test_record_raw_keeps_frames_unmirrored(shared, tmp_path):
    video = shared("data", "videos", "pets2009_s2l1_vtest.avi")
    result = run_main("--source", video, "--headless", "--palm", "none", "--no-segmentation", "--mirror",
                      "--images", tmp_path / "cap", "--record", tmp_path / "raw", "--record-raw", "--duration", "1.5")
    assert result.returncode == 0, result.stderr
    recorded, _ = read_video(tmp_path / "raw.avi")
    sources, _ = read_video(video, limit=len(recorded) + 30)
    assert recorded
    for frame in recorded[::3]:
        assert max(cv2.PSNR(frame, source) for source in sources) > 30
        assert max(cv2.PSNR(frame, source[:, ::-1]) for source in sources) < 30


def test_record_to_another_container_is_one_line(shared, tmp_path):
    video = shared("data", "videos", "pets2009_s2l1_vtest.avi")
    result = run_main("--source", video, "--headless", "--palm", "none", "--images", tmp_path,
                      "--record", tmp_path / "clip.mp4")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "clip.avi" in lines[0]
    assert not (tmp_path / "clip.mp4").exists()


@pytest.mark.skipif(platform.system() != "Linux", reason="names a v4l2loopback device path")
def test_virtual_camera_without_a_device_says_how_to_get_one_and_runs_on(shared, tmp_path):
    video = shared("data", "videos", "pets2009_s2l1_vtest.avi")
    result = run_main("--source", video, "--headless", "--palm", "none", "--no-segmentation", "--images", tmp_path,
                      "--virtual-camera", "/dev/backplate-no-such-camera", "--press", "bkg@0.3", "-b", "0",
                      "--duration", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "virtual camera off" in lines[0] and "modprobe v4l2loopback" in lines[0]
    assert (tmp_path / "set1" / "bkg.png").exists()  # the app kept running


def test_a_moved_camera_shows_the_stale_plate_warning(shared, tmp_path):
    """End to end: the plate saved in set1 no longer matches a camera knocked by a few pixels."""
    folder = shared("data", "webcam_sets", "set4")
    (tmp_path / "cap" / "set1").mkdir(parents=True)
    (tmp_path / "cap" / "set1" / "bkg.png").symlink_to(folder / "bkg.png")
    knocked = tmp_path / "knocked"
    knocked.mkdir()
    warp = cv2.getRotationMatrix2D((320, 240), 0.5, 1.0)
    warp[:, 2] += (3, 2)
    for path in [folder / "bkg.png", *sorted(folder.glob("[0-9].png"))]:
        cv2.imwrite(str(knocked / path.name), cv2.warpAffine(cv2.imread(str(path)), warp, (640, 480),
                                                             borderMode=cv2.BORDER_REFLECT))
    result = run_main("--source", knocked, "--fps", "5", "--headless", "--palm", "none", "--precision", "fp32",
                      "--images", tmp_path / "cap", "--duration", "8", timeout=180)
    assert result.returncode == 0, result.stderr
    assert "the plate no longer matches the scene: press Bkg" in result.stdout
