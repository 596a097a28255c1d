"""main.py as a user runs it: headless scripted runs on the pets video, and the error paths."""
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

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
                 "--posenet-weights", "--headless", "--press", "--duration"):
        assert flag in result.stdout


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
