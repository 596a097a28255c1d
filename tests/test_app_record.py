"""app.recorder on real video frames: order, size and rate of what is written, crash survival, numbered names."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.recorder import FrameResampler, RecordingError, VideoRecorder, claim_free_path, recording_path
from tests.video_files import read_video

REPO = Path(__file__).resolve().parent.parent
VIDEO = ("data", "videos", "one_by_one_person_detection.mp4")
STRIDE = 12  # source frames this far apart differ clearly, so each written frame can be told from its neighbours


@pytest.fixture(scope="module")
def people_frames(shared):
    """Frames of the one_by_one video while people walk in, STRIDE apart."""
    capture = cv2.VideoCapture(str(shared(*VIDEO)))
    frames = []
    index = 0
    while len(frames) < 40:
        assert capture.grab(), "the video ended early"
        if index >= 240 and index % STRIDE == 0:
            frames.append(capture.retrieve()[1])
        index += 1
    capture.release()
    return frames


def best_match(frame, sources):
    return int(np.argmax([cv2.PSNR(frame, source) for source in sources]))


def test_frames_arrive_in_order_at_the_right_size_and_rate(tmp_path, people_frames):
    rng = np.random.default_rng(0)
    recorder = VideoRecorder(tmp_path / "clip.avi", fps=10)
    t = 50.0
    for index, frame in enumerate(people_frames):
        seen_at = t + index / 10 + rng.uniform(-0.02, 0.02)  # camera and UI-timer jitter
        recorder.add(frame, seen_at)
        if index % 3 == 0:  # the mask updated between camera frames: the same frame composited again
            recorder.add(frame, seen_at + 0.004)
    path = recorder.close()
    assert path == tmp_path / "clip.avi" and recorder.error is None
    written, fps = read_video(path)
    assert fps == pytest.approx(10.0)
    assert len(written) == len(people_frames)
    assert all(frame.shape == (432, 768, 3) for frame in written)
    assert [best_match(frame, people_frames) for frame in written] == list(range(len(people_frames)))
    assert min(cv2.PSNR(w, s) for w, s in zip(written, people_frames)) > 30


def test_a_pause_is_filled_so_the_recording_keeps_real_time(tmp_path, people_frames):
    recorder = VideoRecorder(tmp_path / "pause.avi", fps=10)
    recorder.add(people_frames[0], 0.0)
    recorder.add(people_frames[1], 0.1)
    recorder.add(people_frames[2], 0.6)  # the source stalled for half a second
    recorder.add(people_frames[3], 0.7)
    written, _ = read_video(recorder.close())
    assert [best_match(frame, people_frames[:4]) for frame in written] == [0, 1, 1, 1, 1, 1, 2, 3]


def test_frames_of_another_size_are_scaled_to_the_first(tmp_path, people_frames):
    recorder = VideoRecorder(tmp_path / "sizes.avi", fps=5)
    recorder.add(people_frames[0], 0.0)
    recorder.add(cv2.resize(people_frames[1], (384, 216)), 0.2)
    recorder.add(people_frames[2], 0.4)
    written, _ = read_video(recorder.close())
    assert [frame.shape for frame in written] == [(432, 768, 3)] * 3


def test_a_slow_disk_keeps_the_length_and_bounds_the_queue(tmp_path, people_frames):
    class SlowWriter:
        def __init__(self):
            self.frames = []

        def write(self, frame):
            time.sleep(0.02)
            self.frames.append(frame)

        def release(self):
            pass

    slow = SlowWriter()
    frame_bytes = people_frames[0].nbytes
    recorder = VideoRecorder(tmp_path / "slow.avi", fps=10, open_writer=lambda *args: slow,
                             max_queued_bytes=5 * frame_bytes)
    for index, frame in enumerate(people_frames[:30]):  # all at once: far faster than the writer
        recorder.add(frame, index / 10)
    recorder.close()
    assert len(slow.frames) == 30 and recorder.frames_written == 30
    assert recorder.frames_repeated_for_slow_disk > 0
    order = [best_match(frame, people_frames[:30]) for frame in slow.frames]
    assert order == sorted(order) and order[0] == 0 and order[-1] == 29


def test_resampler_takes_the_newest_frame_at_each_slot():
    resampler = FrameResampler(fps=4)
    frames = [np.full((2, 2, 3), value, np.uint8) for value in range(6)]
    out = []
    for frame, t in zip(frames, [0.0, 0.05, 0.27, 0.52, 0.70, 1.30]):
        out += resampler.push(frame, t)
    out += resampler.finish()
    # Slots are sampled at 0.125, 0.375, 0.625, 0.875, 1.125 s after the first frame; the last frame closes it.
    assert [(int(frame[0, 0, 0]), repeats) for frame, repeats in out] == [(1, 1), (2, 1), (3, 1), (4, 2), (5, 1)]


def test_an_existing_file_gets_a_numbered_sibling_and_is_never_touched(tmp_path, people_frames):
    users = tmp_path / "clip.avi"
    users.write_bytes(b"the user's own file")
    paths = []
    for _ in range(2):
        recorder = VideoRecorder(tmp_path / "clip.avi", fps=10)
        recorder.add(people_frames[0], 0.0)
        paths.append(recorder.close())
    assert [p.name for p in paths] == ["clip-1.avi", "clip-2.avi"]
    assert users.read_bytes() == b"the user's own file"
    assert all(len(read_video(p)[0]) == 1 for p in paths)
    assert claim_free_path(tmp_path / "clip.avi").name == "clip-3.avi"


def test_a_recording_with_no_frames_leaves_no_file(tmp_path):
    recorder = VideoRecorder(tmp_path / "empty.avi", fps=10)
    assert recorder.path.exists()  # the name is claimed at once
    assert recorder.close() is None
    assert not (tmp_path / "empty.avi").exists()


def test_record_path_must_be_avi(tmp_path):
    assert recording_path(tmp_path / "clip") == tmp_path / "clip.avi"
    assert recording_path(tmp_path / "clip.AVI") == tmp_path / "clip.AVI"
    with pytest.raises(RecordingError, match=r"clip\.avi"):
        recording_path(tmp_path / "clip.mp4")
    assert recording_path(tmp_path) == tmp_path / "recording.avi"


CHILD = """
import sys, time
import numpy as np
from app.recorder import VideoRecorder
frames = np.load(sys.argv[1])
recorder = VideoRecorder(sys.argv[2], fps=10)
print(recorder.path, flush=True)
for i in range(10 * len(frames)):
    recorder.add(frames[i % len(frames)], i / 10)
    time.sleep(0.02)
    print(recorder.frames_written, flush=True)
time.sleep(60)  # never closes: the parent kills it first
"""


def test_a_recording_killed_with_sigkill_stays_playable(tmp_path, people_frames):
    np.save(tmp_path / "frames.npy", np.stack(people_frames))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "frames.npy"), str(tmp_path / "killed.avi")],
                             cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        path = Path(child.stdout.readline().strip())
        written_at_kill = 0
        deadline = time.monotonic() + 40
        for line in child.stdout:
            written_at_kill = int(line)
            if written_at_kill >= 30 or time.monotonic() > deadline:
                break
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert path == tmp_path / "killed.avi" and written_at_kill >= 30
    readable, fps = read_video(path)
    assert fps == pytest.approx(10.0)
    # Everything but the last second or so survives, in order.
    print(f"written before the kill: {written_at_kill}, readable after it: {len(readable)}")
    assert len(readable) >= written_at_kill - 10
    count = len(people_frames)
    assert [best_match(frame, people_frames) for frame in readable] == [k % count for k in range(len(readable))]
