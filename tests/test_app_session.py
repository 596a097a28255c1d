"""LiveSession driven step by step with a fake clock and a capture thread that is never started."""
from collections import namedtuple

import cv2
import numpy as np
import pytest

from app.capture_storage import CaptureStorage
from app.session import LiveSession, SessionOptions
from app.views import View
from app.workers import CaptureThread

Palm = namedtuple("Palm", "x y confidence")


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class StillCamera:
    is_live = True
    native_fps = None

    def read(self):
        return None

    def release(self):
        pass


@pytest.fixture(scope="module")
def pets_frames(shared):
    capture = cv2.VideoCapture(str(shared("data", "videos", "pets2009_s2l1_vtest.avi")))
    frames = [capture.read()[1] for _ in range(3)]
    capture.release()
    return frames


def make_session(root, frame, clock, **options):
    capture = CaptureThread(StillCamera())
    capture.frames.put(frame)
    extra = {k: options.pop(k) for k in list(options) if k in ("segmenter", "palm_tracker", "make_dwell")}
    session = LiveSession(capture, CaptureStorage(root), SessionOptions(**options), clock=clock, **extra)
    return session


def advance(session, clock, seconds, step=0.1):
    for _ in range(int(round(seconds / step))):
        clock.t += step
        session.step()


def test_sav_without_a_set_is_refused_with_a_message(tmp_path, pets_frames):
    clock = FakeClock()
    session = make_session(tmp_path, pets_frames[0], clock, sav_seconds=0.5)
    assert session.press("sav") == "refused"
    assert "press Bkg first" in session.message
    advance(session, clock, 1.0)
    assert list(tmp_path.iterdir()) == []


def test_bkg_then_sav_save_raw_unmirrored_frames(tmp_path, pets_frames):
    clock = FakeClock()
    session = make_session(tmp_path, pets_frames[0], clock, bkg_seconds=1.0, sav_seconds=0.5, mirror=True)
    assert session.press("bkg") == "started"
    advance(session, clock, 0.5)
    assert not (tmp_path / "set1").exists()
    shown = session.last_display
    advance(session, clock, 0.6)
    plate = cv2.imread(str(tmp_path / "set1" / "bkg.png"))
    assert np.array_equal(plate, pets_frames[0])  # no overlay, not mirrored
    assert not np.array_equal(shown[:, ::-1], pets_frames[0])  # what was shown had the overlay
    session.capture.frames.put(pets_frames[1])
    session.press("sav")
    advance(session, clock, 0.6)
    assert np.array_equal(cv2.imread(str(tmp_path / "set1" / "0.png")), pets_frames[1])
    assert "set1: 1 frames" in session.status_text() and "saved this run: 2" in session.status_text()


def test_sav_during_bkg_countdown_goes_into_the_new_set_after_restart(tmp_path, pets_frames):
    (tmp_path / "set1").mkdir()
    cv2.imwrite(str(tmp_path / "set1" / "bkg.png"), pets_frames[2])
    clock = FakeClock()
    session = make_session(tmp_path, pets_frames[0], clock, bkg_seconds=3.0, sav_seconds=1.0)
    assert "set1" in session.startup_note() and "Sav adds to it" in session.startup_note()
    session.press("bkg")
    advance(session, clock, 0.5)
    session.press("sav")  # would finish at 1.5 s, before Bkg at 3 s
    advance(session, clock, 1.5)
    assert session.scheduler.is_waiting("sav", clock.t)
    assert sorted(p.name for p in (tmp_path / "set1").iterdir()) == ["bkg.png"]
    advance(session, clock, 1.2)
    assert sorted(p.name for p in (tmp_path / "set2").iterdir()) == ["0.png", "bkg.png"]


def test_second_press_cancels_and_ext_quits(tmp_path, pets_frames):
    clock = FakeClock()
    session = make_session(tmp_path, pets_frames[0], clock, bkg_seconds=1.0)
    session.press("bkg")
    advance(session, clock, 0.3)
    assert session.press("bkg") == "cancelled"
    advance(session, clock, 2.0)
    assert not tmp_path.joinpath("set1").exists()
    assert session.press("ext") == "quit" and session.quit_requested


def test_scripted_presses_fire_at_their_times(tmp_path, pets_frames):
    clock = FakeClock()
    session = make_session(tmp_path, pets_frames[0], clock, bkg_seconds=1.0, sav_seconds=1.0)
    session.schedule_press("sav", 1.0)
    session.schedule_press("bkg", 0.0)
    advance(session, clock, 2.5)
    assert sorted(p.name for p in (tmp_path / "set1").iterdir()) == ["0.png", "bkg.png"]


class FakeSegmenter:
    has_plate_model = True
    has_single_model = True
    last_latency_ms = 12.5

    def __init__(self):
        self.calls = []

    def segment(self, frame, plate_bgr=None):
        self.calls.append("plate" if plate_bgr is not None else "single")
        mask = np.zeros(frame.shape[:2], np.float32)
        mask[:, : frame.shape[1] // 2] = 1
        return mask


def test_single_model_before_a_plate_then_plate_model(tmp_path, pets_frames):
    clock = FakeClock()
    seg = FakeSegmenter()
    session = make_session(tmp_path, pets_frames[0], clock, segmenter=seg, bkg_seconds=0.2, view=View.CUTOUT)
    segment = session.segmentation_worker.fn
    session.segmentation_worker.results.put((1, segment(pets_frames[0])))
    shown = session.step()
    assert (shown[200, 300] == (80, 180, 0)).all()  # right half became the flat colour
    assert "model 12 ms (single)" in session.status_text()
    session.press("bkg")
    advance(session, clock, 0.3)
    segment(pets_frames[1])
    assert seg.calls == ["single", "plate"]
    # A restart finds set1/bkg.png and goes straight to the plate model.
    restarted = make_session(tmp_path, pets_frames[0], clock, segmenter=FakeSegmenter())
    restarted.segmentation_worker.fn(pets_frames[0])
    assert restarted.segmenter.calls == ["plate"]
    # The raw view skips the model entirely.
    restarted.set_view(View.RAW)
    assert restarted.segmentation_worker.fn(pets_frames[0]).mask is None


def test_replace_view_needs_an_image(tmp_path, pets_frames):
    session = make_session(tmp_path, pets_frames[0], FakeClock())
    session.set_view(View.REPLACE)
    assert session.view is View.TINT and "--replace" in session.message


def test_without_engine_the_status_says_why(tmp_path, pets_frames):
    capture = CaptureThread(StillCamera())
    capture.frames.put(pets_frames[0])
    session = LiveSession(capture, CaptureStorage(tmp_path), SessionOptions(),
                          segmentation_note="default weights missing: models/weights/plate.pt")
    assert np.array_equal(session.step()[300:, :200], pets_frames[0][300:, :200])  # raw frame shown
    assert "segmentation off: default weights missing" in session.status_text()
    capture.lost = True
    assert session.message == "camera lost, retrying" and "camera lost, retrying" in session.status_text()


class FakeDwell:
    def __init__(self, hit_test):
        self.hit_test = hit_test
        self.seen = []

    def update(self, points, now):
        self.seen.append(points)
        return [n for n in (self.hit_test(x, y) for x, y in points) if n]

    def progress(self):
        return {}


class FakeTracker:
    name = "fake"

    def update(self, frame):
        return []

    def close(self):
        pass


def test_palms_are_mirrored_into_display_coordinates_and_press(tmp_path, pets_frames):
    clock = FakeClock()
    session = make_session(tmp_path, pets_frames[0], clock, mirror=True, bkg_seconds=5,
                           palm_tracker=FakeTracker(), make_dwell=FakeDwell)
    session.step()
    bkg = session.layout.button("bkg")
    cx, cy = bkg.centre
    width = pets_frames[0].shape[1]
    raw_x = width - 1 - cx  # where the palm is in the unmirrored camera frame
    session.palm_worker.results.put((1, [Palm(raw_x, cy, 0.9)]))
    clock.t += 0.05
    shown = session.step()
    assert session.dwell.seen[-1] == [(pytest.approx(cx), pytest.approx(cy))]
    assert session.scheduler.is_active("bkg")
    radius = max(4, int(min(shown.shape[:2]) * 0.03))  # palm ring drawn in red around the point
    assert tuple(shown[int(round(cy)), int(round(cx)) + radius]) == (0, 0, 255)
    # A stalled tracker's old point stops pressing.
    clock.t += 2.0
    session.step()
    assert session.dwell.seen[-1] == []


def test_real_dwell_presser_presses_bkg_once_per_visit(tmp_path, pets_frames):
    from app.dwell import DwellPresser
    clock = FakeClock()
    session = make_session(tmp_path, pets_frames[0], clock, bkg_seconds=30, palm_tracker=FakeTracker(),
                           make_dwell=lambda hit_test: DwellPresser(hit_test, dwell_s=0.6))
    session.step()
    cx, cy = session.layout.button("bkg").centre
    for i in range(1, 20):  # palm held on Bkg for ~1 s: one press, not a press and a cancel
        session.palm_worker.results.put((i, [Palm(cx, cy, 0.9)]))
        clock.t += 0.05
        session.step()
    assert session.scheduler.is_active("bkg")
