"""LiveSession driven step by step with a fake clock and a capture thread that is never started (and, for the
sinks, running on the pets video)."""
import threading
import time
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
    shown = session.step()
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


@pytest.fixture(scope="module")
def engine():
    from models.segmenter import Segmenter
    return Segmenter.load("default", device="cpu", precision="fp32", runtime="torch")  # nothing to measure


def run_segmentation(session, frame):
    """What the segmentation worker does with one frame, published as the worker would."""
    result = session.segmentation_worker.fn(frame)
    session.segmentation_worker.results.put((1, result))
    return result


def test_single_model_before_a_plate_then_plate_model(tmp_path, pets_frames, engine):
    clock = FakeClock()
    session = make_session(tmp_path, pets_frames[0], clock, segmenter=engine, bkg_seconds=0.2, view=View.CUTOUT)
    heard = []
    session.add_segmentation_listener(lambda frame, plate, result: heard.append((frame, plate, result.mode)))
    result = run_segmentation(session, pets_frames[0])
    assert result.mode == "single" and result.mask.shape == pets_frames[0].shape[:2]
    shown = session.step()
    background = result.mask < 0.01
    assert background.mean() > 0.5  # mostly street: shown as the flat colour there
    shown_background = shown[background & (np.arange(shown.shape[1]) < 300)[None, :]].astype(int)
    assert np.abs(shown_background - (80, 180, 0)).max() <= 3
    assert f"model {result.latency_ms:.0f} ms (single)" in session.status_text()
    session.press("bkg")
    advance(session, clock, 0.3)
    assert run_segmentation(session, pets_frames[1]).mode == "plate"
    assert [(frame is f, plate is None, mode) for (frame, plate, mode), f in zip(heard, pets_frames)] == \
        [(True, True, "single"), (True, False, "plate")]
    assert np.array_equal(heard[1][1], pets_frames[0])  # the plate Bkg saved
    # A restart finds set1/bkg.png and goes straight to the plate model.
    restarted = make_session(tmp_path, pets_frames[0], clock, segmenter=engine)
    assert restarted.segmentation_worker.fn(pets_frames[0]).mode == "plate"
    # The raw view skips the model entirely.
    restarted.set_view(View.RAW)
    assert restarted.segmentation_worker.fn(pets_frames[0]).mask is None
    assert "segmentation idle (raw view)" in restarted.status_text()


def test_a_plate_that_no_longer_fits_the_camera_falls_back_to_the_single_model(tmp_path, pets_frames, engine):
    (tmp_path / "set1").mkdir()
    cv2.imwrite(str(tmp_path / "set1" / "bkg.png"), cv2.resize(pets_frames[0], (320, 240)))  # an older camera
    session = make_session(tmp_path, pets_frames[0], FakeClock(), segmenter=engine)
    first = run_segmentation(session, pets_frames[0])
    assert first.mask is None and "press Bkg" in first.note
    assert "press Bkg for a new plate" in session.status_text()
    assert run_segmentation(session, pets_frames[1]).mode == "single"


def test_unreadable_plate_is_named_in_the_status(tmp_path, pets_frames, engine):
    (tmp_path / "set1").mkdir()
    (tmp_path / "set1" / "bkg.png").write_bytes(b"not a png")
    session = make_session(tmp_path, pets_frames[0], FakeClock(), segmenter=engine)
    assert "cannot read plate" in session.status_text() and "bkg.png" in session.status_text()
    assert run_segmentation(session, pets_frames[0]).mode == "single"


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
    assert session.palms.dwell.seen[-1] == [(pytest.approx(cx), pytest.approx(cy))]
    assert session.scheduler.is_active("bkg")
    radius = max(4, int(min(shown.shape[:2]) * 0.03))  # palm ring drawn in red around the point
    assert tuple(shown[int(round(cy)), int(round(cx)) + radius]) == (0, 0, 255)
    # A stalled tracker's old point stops pressing.
    clock.t += 2.0
    session.step()
    assert session.palms.dwell.seen[-1] == []


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


def test_view_sinks_get_every_composited_view_off_the_ui_thread_without_buttons(tmp_path, shared, engine):
    from app.frame_source import VideoReader
    capture = CaptureThread(VideoReader(shared("data", "videos", "pets2009_s2l1_vtest.avi"), loop=True),
                            pace_fps=10)
    session = LiveSession(capture, CaptureStorage(tmp_path), SessionOptions(mirror=True, view=View.CUTOUT),
                          segmenter=engine)
    views, raws = {}, {}

    def view_sink(image, timestamp):
        views[timestamp] = (image, threading.current_thread())

    def broken_sink(image, timestamp):
        raise RuntimeError("disk full")

    session.add_view_sink(view_sink)
    session.add_view_sink(broken_sink)
    session.add_raw_sink(lambda image, timestamp: raws.__setitem__(timestamp, image))
    session.start()
    try:
        deadline = time.monotonic() + 60
        while session.segmentation_worker.results.get()[0] == 0 and time.monotonic() < deadline:
            session.step()  # until the model's first mask: from then on the cut-out view is composited
            time.sleep(0.03)
        views.clear()
        first_seq = capture.frames.get()[0]
        while len(views) < 24 and time.monotonic() < deadline:
            if len(views) >= 12:
                session.set_view(View.RAW)  # the second half: views that must equal the raw frames exactly
            shown = session.step()  # the UI ticks meanwhile, and draws buttons on its own copy
            time.sleep(0.03)
        delivered = capture.frames.get()[0] - first_seq
    finally:
        session.close()
    assert len(views) >= 24 and len(views) >= 0.8 * delivered  # at the source's rate
    assert all(thread is not threading.main_thread() for _, thread in views.values())
    assert session.message == "broken_sink stopped: RuntimeError: disk full"
    kinds = []
    for timestamp, (view, _) in views.items():
        raw = raws[timestamp]  # the same frame, handed to both kinds of sink together
        assert not view.flags.writeable and view.shape == raw.shape
        if np.array_equal(view, raw[:, ::-1]):
            kinds.append("raw")  # mirrored like the display, and no buttons drawn
        else:
            assert np.all(view == (80, 180, 0), axis=2).mean() > 0.3  # a cut-out on the flat colour
            kinds.append("cutout")
    assert kinds.count("cutout") >= 8 and kinds.count("raw") >= 8, kinds
    assert not np.array_equal(shown, raws[max(raws)][:, ::-1])  # what the window shows does have the buttons


def test_standing_notices_show_until_cleared(tmp_path, pets_frames):
    session = make_session(tmp_path, pets_frames[0], FakeClock())
    plain = session.step()
    session.set_notice("recording", "recording to out.mkv")
    session.set_notice("stale-plate", "the plate no longer matches the scene: press Bkg", on_screen=True)
    status = session.status_text()
    assert status.endswith("recording to out.mkv | the plate no longer matches the scene: press Bkg")
    banner = session.step()
    assert not np.array_equal(banner[-30:], plain[-30:])  # drawn over the bottom of the video
    session.set_notice("stale-plate", None)
    assert "plate no longer matches" not in session.status_text() and "recording to" in session.status_text()
    assert np.array_equal(session.step(), plain)


def test_press_rules_alone_without_a_session():
    from app.overlay import OverlayState
    from app.presses import PressController
    shown = []
    presses = PressController(bkg_seconds=1.0, sav_seconds=0.5, has_set=lambda: False, notify=shown.append)
    assert presses.press("sav", 0.0) == "refused" and "Bkg comes first" in shown[-1]
    assert presses.press("bkg", 0.0) == "started"
    assert presses.press("sav", 0.2) == "started"  # may follow a Bkg that is still counting down
    presses.advance(0.8, 0.8)
    assert presses.take_due() == [] and presses.busy
    state = OverlayState()
    presses.describe(state, 0.8)
    assert state.waiting_text == "Sav waits for Bkg to finish"
    assert state.countdown_seconds == ("Bkg", pytest.approx(0.2)) and state.countdown_progress["sav"] == 1.0
    presses.advance(1.0, 1.0)
    assert presses.take_due() == ["bkg", "sav"] and not presses.busy
    presses.schedule("ext", 2.0)
    presses.advance(1.5, 1.5)
    assert not presses.quit_requested
    presses.advance(2.0, 2.0)
    assert presses.quit_requested


def test_messages_expire_and_notices_stay():
    from app.notices import Notices
    clock, logged = FakeClock(), []
    notices = Notices(clock, logged.append, message_seconds=3.0)
    notices.show("Saved set1/0.png")
    notices.set("recording", "recording to out.mkv")
    notices.set("recording", "recording to out.mkv")  # unchanged: logged once
    clock.t += 2.9
    assert notices.message() == "Saved set1/0.png"
    clock.t += 0.2
    assert notices.message() is None and notices.standing() == ["recording to out.mkv"]
    assert notices.standing(on_screen_only=True) == []
    assert logged == ["Saved set1/0.png", "recording to out.mkv"]
