"""The app's worker threads: result stamps (how old a shown mask is), the palm worker's rate cap, model workers
taking turns, and an unpaced file source yielding the CPU to the models."""
import os
import sys
import threading
import time

import pytest

from app.frame_source import VideoReader
from app.workers import UNPACED_READER_NICENESS, CaptureThread, LatestSlot, ModelWorker


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_a_result_carries_the_stamp_of_the_frame_it_came_from():
    frames = LatestSlot()
    worker = ModelWorker("test", frames, lambda value: value * 2, turns=None)
    worker.start()
    try:
        frames.put(21, stamp=123.5)
        assert wait_until(lambda: worker.results.get()[0] >= 1)
    finally:
        worker.stop()
    seq, (input_seq, result), stamp = worker.results.get_stamped()
    assert (input_seq, result, stamp) == (1, 42, 123.5)
    frames.put(1)
    assert abs(frames.get_stamped()[2] - time.monotonic()) < 1.0  # unstamped puts take the time they happened


def test_the_palm_worker_runs_no_faster_than_its_cap():
    frames = LatestSlot()
    calls = []
    worker = ModelWorker("palms", frames, calls.append, max_rate_hz=5.0, turns=None)
    worker.start()
    try:
        start = time.monotonic()
        while time.monotonic() - start < 1.0:
            frames.put(object())
            time.sleep(0.005)
    finally:
        worker.stop()
    assert 2 <= len(calls) <= 6  # about 5 in a second, although 150 frames came


def test_model_workers_sharing_turns_never_run_at_once():
    frames, turns = LatestSlot(), threading.Lock()
    running, overlaps, done = [], [], []

    def model(value):
        running.append(1)
        overlaps.append(len(running) > 1)
        time.sleep(0.01)
        running.pop()
        done.append(value)

    workers = [ModelWorker(name, frames, model, turns=turns) for name in ("segmentation", "palms")]
    for worker in workers:
        worker.start()
    try:
        for value in range(40):
            frames.put(value)
            time.sleep(0.004)
        assert wait_until(lambda: len(done) >= 10)
    finally:
        for worker in workers:
            worker.stop()
    assert not any(overlaps) and all(worker.error is None for worker in workers)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_an_unpaced_file_source_reads_at_a_lower_priority(shared):
    base = os.getpriority(os.PRIO_PROCESS, 0)
    unpaced = CaptureThread(VideoReader(shared("data", "videos", "pets2009_s2l1_vtest.avi"), loop=True))
    paced = CaptureThread(VideoReader(shared("data", "videos", "pets2009_s2l1_vtest.avi"), loop=True), pace_fps=30)
    for capture in (unpaced, paced):
        capture.start()
    try:
        assert wait_until(lambda: unpaced.frames.get()[0] > 0 and paced.frames.get()[0] > 0)
        assert os.getpriority(os.PRIO_PROCESS, unpaced.native_id) == min(19, base + UNPACED_READER_NICENESS)
        assert os.getpriority(os.PRIO_PROCESS, paced.native_id) == base  # a paced source keeps its priority
    finally:
        for capture in (unpaced, paced):
            capture.stop()
