import threading
import time

import cv2
import numpy as np
import pytest

from app.frame_source import (CameraReader, FolderReader, SourceError, VideoReader, parse_source,
                              read_first_frame)
from app.workers import CaptureThread, LatestSlot, ModelWorker

PETS_FRAMES = 795


@pytest.fixture(scope="module")
def pets(shared):
    return shared("data", "videos", "pets2009_s2l1_vtest.avi")


def test_parse_source_kinds(tmp_path, pets):
    assert parse_source("0").kind == "camera" and parse_source(" 2 ").camera_index == 2
    assert parse_source(str(pets)).kind == "video"
    assert parse_source(str(tmp_path)).kind == "folder"
    with pytest.raises(SourceError, match="nope.avi"):
        parse_source(str(tmp_path / "nope.avi"))


class ClosedCapture:
    released = False

    def isOpened(self):
        return False

    def release(self):
        ClosedCapture.released = True


def test_missing_camera_names_the_index_and_suggests_a_file():
    with pytest.raises(SourceError) as info:
        CameraReader(7, open_capture=lambda index: ClosedCapture())
    message = str(info.value)
    assert "camera 7" in message and "--source FILE" in message and "\n" not in message
    assert ClosedCapture.released


def test_video_once_ends_and_loop_restarts(pets):
    once = VideoReader(pets, loop=False)
    assert once.native_fps == pytest.approx(10.0)
    first = once.read()
    count = 1
    while once.read() is not None:
        count += 1
    assert count == PETS_FRAMES
    once.release()

    looping = VideoReader(pets, loop=True)
    for _ in range(PETS_FRAMES):
        assert looping.read() is not None
    assert np.array_equal(looping.read(), first)  # back at the start
    looping.release()


def test_folder_plays_in_natural_order_and_skips_unreadable(tmp_path):
    for index in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"{index}.png"), np.full((8, 8, 3), index, np.uint8))
    (tmp_path / "3.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("ignored")
    reader = FolderReader(tmp_path, loop=False)
    values = []
    while (image := reader.read()) is not None:
        values.append(int(image[0, 0, 0]))
    assert values == [1, 2, 10]
    looping = FolderReader(tmp_path, loop=True)
    assert [int(looping.read()[0, 0, 0]) for _ in range(4)] == [1, 2, 10, 1]


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="has no images"):
        FolderReader(tmp_path, loop=True)


class FlakyCamera:
    """Live source that gives `good` frames and then fails forever, like an unplugged webcam."""
    is_live = True

    def __init__(self, good, value):
        self.good, self.value, self.released = good, value, False

    def read(self):
        if self.good <= 0:
            return None
        self.good -= 1
        time.sleep(0.002)
        return np.full((4, 4, 3), self.value, np.uint8)

    def release(self):
        self.released = True


def test_lost_camera_is_reported_and_reopened():
    first = FlakyCamera(good=3, value=1)
    reopened = []
    gate = threading.Event()

    def reopen():
        if not gate.is_set():
            raise RuntimeError("still unplugged")
        reopened.append(FlakyCamera(good=10 ** 6, value=2))
        return reopened[-1]

    capture = CaptureThread(first, reopen=reopen)
    capture.reconnect_delay_s = 0.02
    capture.start()
    try:
        deadline = time.time() + 5
        while not capture.lost and time.time() < deadline:
            time.sleep(0.01)
        assert capture.lost and first.released
        assert capture.frames.get()[1][0, 0, 0] == 1  # the last good frame stays on screen
        gate.set()
        while (capture.lost or capture.frames.get()[1][0, 0, 0] != 2) and time.time() < deadline:
            time.sleep(0.01)
        assert not capture.lost and capture.frames.get()[1][0, 0, 0] == 2
        assert capture.reconnects == 1
    finally:
        capture.stop()
    assert reopened[0].released  # stop() releases the camera


def test_finite_source_finishes_and_first_frame_check(pets):
    reader = VideoReader(pets, loop=False)
    assert read_first_frame(reader).shape == (360, 480, 3)
    capture = CaptureThread(reader)
    capture.start()
    capture.join(20)
    assert capture.finished and not capture.is_alive()


def test_model_worker_skips_to_the_newest_frame():
    slot = LatestSlot()
    seen = []

    def slow(value):
        seen.append(value)
        time.sleep(0.05)
        return value * 10

    worker = ModelWorker("test", slot, slow)
    worker.start()
    try:
        for value in range(1, 21):
            slot.put(value)
            time.sleep(0.005)
        deadline = time.time() + 5
        while (worker.results.get()[1] or (0, 0))[1] != 200 and time.time() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()
    assert worker.results.get()[1] == (20, 200)  # (input sequence, result) of the newest frame
    assert seen[-1] == 20 and len(seen) < 20  # frames that arrived while busy were dropped


def test_model_worker_stops_with_the_error():
    slot = LatestSlot()
    worker = ModelWorker("test", slot, lambda value: 1 / 0)
    worker.start()
    slot.put(1)
    worker.join(5)
    assert "ZeroDivisionError" in worker.error
