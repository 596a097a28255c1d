"""The real window, offscreen, on the pets video: clicks and keys write real files."""
import cv2
import numpy as np
import pytest
from PyQt5.QtCore import Qt

from app.cli import build_parser, build_session
from app.views import View
from app.window import MainWindow


@pytest.fixture
def open_window(qtbot, shared, tmp_path):
    windows = []

    def make(*extra):
        video = shared("data", "videos", "pets2009_s2l1_vtest.avi")
        args = build_parser().parse_args(["--source", str(video), "--images", str(tmp_path / "cap"),
                                          "--palm", "none", "--no-segmentation", *extra])
        session, spec = build_session(args)
        window = MainWindow(session, source_name=spec.describe())
        qtbot.addWidget(window)
        window.show()
        window.start()
        windows.append(window)
        qtbot.waitUntil(lambda: window.video.image_rect() is not None, timeout=3000)
        return window

    yield make
    for window in windows:
        window.close()


def click_button(qtbot, window, name):
    x, y = window.session.layout.button(name).centre
    qtbot.mouseClick(window.video, Qt.LeftButton, pos=window.video.frame_to_widget(x, y).toPoint())


def test_clicking_bkg_then_sav_writes_raw_frames(open_window, qtbot, tmp_path):
    window = open_window("-b", "0.3", "-s", "0.3", "--mirror")
    set1 = tmp_path / "cap" / "set1"
    click_button(qtbot, window, "sav")
    assert "press Bkg first" in window.session.message
    click_button(qtbot, window, "bkg")
    assert window.session.scheduler.is_active("bkg")
    qtbot.waitUntil(lambda: (set1 / "bkg.png").exists(), timeout=3000)
    click_button(qtbot, window, "sav")
    qtbot.waitUntil(lambda: (set1 / "0.png").exists(), timeout=3000)
    saved = cv2.imread(str(set1 / "0.png"))
    assert "set1: 1 frames" in window.session.status_text()
    # Raw camera pixels: exactly one of the video's early frames, not mirrored, no buttons drawn.
    video = cv2.VideoCapture(str(window.session.capture.reader.path))
    early = [video.read()[1] for _ in range(80)]
    video.release()
    assert any(np.array_equal(saved, frame) for frame in early)


def test_keys_cancel_and_ext_closes_and_releases(open_window, qtbot, tmp_path):
    window = open_window("-b", "0.5")
    qtbot.keyClick(window, Qt.Key_B)
    assert window.session.scheduler.is_active("bkg")
    qtbot.keyClick(window, Qt.Key_B)  # second press cancels
    assert not window.session.scheduler.is_active("bkg")
    qtbot.wait(700)
    assert not (tmp_path / "cap" / "set1").exists()
    click_button(qtbot, window, "ext")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)
    assert not window.session.capture.is_alive()


def test_view_toolbar_and_status_bar(open_window, qtbot, tmp_path):
    (tmp_path / "cap" / "set3").mkdir(parents=True)
    window = open_window()
    assert "current set: set3" in window.status_label.text()
    window.view_actions[View.BLUR].trigger()
    assert window.session.view is View.BLUR
    qtbot.keyClick(window, Qt.Key_5)
    assert window.session.view is View.RAW
    qtbot.waitUntil(lambda: "fps" in window.status_label.text(), timeout=2000)
    message = window.status_label.text()
    assert "segmentation off" in message and "set3: 0 frames" in message and "current set: set3" in message
    rect = window.video.image_rect()
    assert rect.width() / rect.height() == pytest.approx(480 / 360, rel=0.01)  # native aspect ratio


def test_segmentation_switches_from_single_to_plate_model_after_bkg(qtbot, shared, tmp_path):
    from models.checkpoint import save_checkpoint
    from models.plate_net import PlateNet
    from models.unet import LikeUnet
    # Untrained networks of the shipped architectures: this checks the wiring, not mask quality.
    save_checkpoint(tmp_path / "single.pt", LikeUnet())
    save_checkpoint(tmp_path / "plate.pt", PlateNet())
    video = shared("data", "videos", "pets2009_s2l1_vtest.avi")
    args = build_parser().parse_args(["--source", str(video), "--images", str(tmp_path / "cap"), "--palm", "none",
                                      "--weights", str(tmp_path / "plate.pt"), str(tmp_path / "single.pt"),
                                      "--device", "cpu", "--precision", "fp32", "-b", "0.2", "--view", "cutout"])
    session, _ = build_session(args)
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    window.start()
    try:
        qtbot.waitUntil(lambda: "(single)" in session.status_text(), timeout=15000)
        qtbot.waitUntil(lambda: session.layout is not None, timeout=3000)
        click_button(qtbot, window, "bkg")
        qtbot.waitUntil(lambda: "(plate)" in session.status_text(), timeout=15000)
        assert (tmp_path / "cap" / "set1" / "bkg.png").exists()
    finally:
        window.close()
    assert not session.segmentation_worker.is_alive()


def test_r_and_the_rec_button_start_and_stop_recordings(open_window, qtbot, tmp_path):
    window = open_window()
    recordings = tmp_path / "cap" / "recordings"
    qtbot.keyClick(window, Qt.Key_R)
    assert window.recording.active and window.record_action.isChecked()
    assert "recording the view to" in " ".join(window.session.notices.standing())
    qtbot.wait(1200)
    qtbot.keyClick(window, Qt.Key_R)
    assert not window.recording.active and not window.record_action.isChecked()
    assert "Saved recording" in window.session.message
    window.record_action.trigger()  # the toolbar button: a second recording beside the first
    assert window.recording.active
    qtbot.wait(800)
    window.close()  # closing the window finalises the running recording
    assert sorted(p.name for p in recordings.iterdir()) == ["recording-1.avi", "recording.avi"]
    for name in ("recording.avi", "recording-1.avi"):
        capture = cv2.VideoCapture(str(recordings / name))
        ok, frame = capture.read()
        assert ok and frame.shape == (360, 480, 3)
        assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)  # the video's own rate
        capture.release()
