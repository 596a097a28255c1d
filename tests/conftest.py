import os

# Qt widgets must run without a display, in CI and here.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The engine caches per-machine measurements; keep the user's cache out of test runs.
import shutil
import tempfile
TEST_CACHE_DIR = tempfile.mkdtemp(prefix="backplate-test-cache-")
os.environ["BACKPLATE_CACHE_DIR"] = TEST_CACHE_DIR

import cv2
import pytest

from fileio.shared_data import SharedDataMissing, shared_path


def pytest_unconfigure(config):
    # The cache holds engine graphs of every test run: without this, each run would leave them behind in /tmp.
    shutil.rmtree(TEST_CACHE_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def shared():
    """Returns a function shared('data', 'webcam_sets') -> Path that fails the test clearly when data is missing."""
    def locate(*parts):
        try:
            return shared_path(*parts)
        except SharedDataMissing as exc:
            pytest.fail(str(exc), pytrace=False)
    return locate


@pytest.fixture(scope="session")
def one_by_one_frames(shared):
    """Frames of the one-by-one video: 0 (the empty room) and 696 (only the legs of someone walking out at the
    right edge)."""
    video = shared("data", "videos", "one_by_one_person_detection.mp4")
    capture = cv2.VideoCapture(str(video))
    frames, index = {}, -1
    while len(frames) < 2 and capture.grab():
        index += 1
        if index in (0, 696):
            frames[index] = capture.retrieve()[1]
    capture.release()
    assert len(frames) == 2, f"{video} is shorter than 697 frames"
    return frames
