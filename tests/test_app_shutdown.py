"""Closing a running session on the pets video with real palm trackers and the real engine: every thread ends
within a bound, and the palm tracker is closed only after the worker that uses it has ended."""
import threading
import time

import pytest

from app.cli import build_parser, build_session
from app.headless import run_headless
from app.session import SHUTDOWN_TIMEOUT_S


def open_session(shared, tmp_path, palm, *extra):
    video = shared("data", "videos", "pets2009_s2l1_vtest.avi")
    args = build_parser().parse_args(["--source", str(video), "--images", str(tmp_path / "cap"), "--headless",
                                      "--palm", palm, *extra])
    session, _ = build_session(args)
    assert session.palm_tracker is not None and session.palm_tracker.name == palm
    return session


def record_tracker_close(session):
    """Replaces the tracker's close() with one that notes which threads were still running when it ran."""
    tracker, calls = session.palm_tracker, []
    real_close = tracker.close

    def close():
        calls.append({"palm worker alive": session.palm_worker.is_alive(),
                      "capture alive": session.capture.is_alive(), "at": time.monotonic()})
        real_close()

    tracker.close = close
    return calls


def session_threads(session):
    return [session.capture, session.compositor.thread, session.segmentation_worker, session.palm_worker]


@pytest.mark.parametrize("palm", ["posenet", "mediapipe"])
def test_a_running_headless_session_stops_in_order_within_the_bound(palm, shared, tmp_path, capsys):
    session = open_session(shared, tmp_path, palm, "--device", "cpu", "--precision", "fp32")
    closes = record_tracker_close(session)
    duration = 3.0
    started = time.monotonic()
    assert run_headless(session, duration) == 0
    stopped = time.monotonic()
    # The workers really ran the models on the video before the stop.
    assert session.palm_worker.results.get()[0] >= 1 and session.segmentation_worker.results.get()[0] >= 1
    assert session.palm_worker.error is None and session.segmentation_worker.error is None
    assert stopped - started < duration + SHUTDOWN_TIMEOUT_S + 1.0
    assert not any(thread.is_alive() for thread in session_threads(session))
    assert len(closes) == 1 and not closes[0]["palm worker alive"] and not closes[0]["capture alive"]
    assert "palms:" in capsys.readouterr().out  # the final status line was printed before closing
    session.close()  # a second close does nothing
    assert len(closes) == 1


def test_a_tracker_busy_past_the_deadline_is_closed_only_after_its_worker_ends(shared, tmp_path):
    session = open_session(shared, tmp_path, "posenet", "--no-segmentation")
    closes = record_tracker_close(session)
    inside, release = threading.Event(), threading.Event()
    real_update = session.palm_worker.fn

    def slow_update(frame):  # a model call that outlasts the shutdown deadline
        inside.set()
        release.wait(30)
        return real_update(frame)

    session.palm_worker.fn = slow_update
    session.start()
    assert inside.wait(30)
    started = time.monotonic()
    session.close(timeout_s=0.5)
    assert time.monotonic() - started < 1.5  # bounded: close() does not wait for the busy worker
    assert not session.capture.is_alive()
    assert session.palm_worker.is_alive() and closes == []  # the tracker is still in use: not closed under it
    release.set()
    session.palm_worker.join(30)
    deadline = time.monotonic() + 10
    while not closes and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(closes) == 1 and not closes[0]["palm worker alive"]
