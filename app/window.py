"""The PyQt5 window: shows LiveSession's frames at their native aspect ratio and forwards clicks and keys."""
import sys
from typing import Optional

import numpy as np
from PyQt5.QtCore import QPointF, QRectF, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QImage, QKeySequence, QPainter
from PyQt5.QtWidgets import QAction, QActionGroup, QApplication, QLabel, QMainWindow, QSizePolicy, QWidget

from app.buttons import BUTTON_KEYS
from app.letterbox import fit_rect, widget_to_frame
from app.recorder import DEFAULT_NAME, RecordingControl
from app.session import LiveSession
from app.views import View

TICK_MS = 30
STATUS_EVERY_MS = 250
STARTUP_NOTE_MS = 8000
MIN_VIDEO_WIDTH = 800
RECORD_KEY = "R"
KEY_PRESSES = {QKeySequence(key)[0]: name for key, name in BUTTON_KEYS}


class VideoWidget(QWidget):
    """Paints the newest frame letterboxed; reports clicks in frame pixel coordinates."""
    frame_clicked = pyqtSignal(float, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._image: Optional[QImage] = None
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(160, 120)

    def set_frame(self, frame_bgr: np.ndarray) -> None:
        rgb = np.ascontiguousarray(frame_bgr[:, :, ::-1])
        height, width = rgb.shape[:2]
        self._image = QImage(rgb.data, width, height, 3 * width, QImage.Format_RGB888).copy()
        self.update()

    def image_rect(self) -> Optional[QRectF]:
        if self._image is None:
            return None
        return QRectF(*fit_rect(self._image.width(), self._image.height(), self.width(), self.height()))

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.black)
        rect = self.image_rect()
        if rect is not None:
            painter.setRenderHint(QPainter.SmoothPixmapTransform)
            painter.drawImage(rect, self._image)
        painter.end()

    def mousePressEvent(self, event):
        rect = self.image_rect()
        if rect is None or event.button() != Qt.LeftButton:
            return
        point = widget_to_frame(event.x(), event.y(), (rect.x(), rect.y(), rect.width(), rect.height()),
                                self._image.width(), self._image.height())
        if point is not None:
            self.frame_clicked.emit(*point)

    def frame_to_widget(self, x: float, y: float) -> QPointF:
        """Widget position of a frame pixel (tests click buttons with it)."""
        rect = self.image_rect()
        return QPointF(rect.x() + x * rect.width() / self._image.width(),
                       rect.y() + y * rect.height() / self._image.height())


class MainWindow(QMainWindow):
    """recording: what R and the Rec button start and stop (default: the view, to IMAGES/recordings/)."""

    def __init__(self, session: LiveSession, duration: Optional[float] = None, source_name: str = "",
                 recording: Optional[RecordingControl] = None):
        super().__init__()
        self.session = session
        self.duration = duration
        self.recording = recording or RecordingControl(session, session.storage.root / "recordings" / DEFAULT_NAME)
        self.setWindowTitle(f"Backplate — {source_name}" if source_name else "Backplate")
        self.video = VideoWidget(self)
        self.video.frame_clicked.connect(self._clicked)
        self.setCentralWidget(self.video)
        self._build_toolbar()
        self._closed = False
        self._status_ticks = 0
        self._startup_ticks_left = STARTUP_NOTE_MS // TICK_MS
        # A wrapping label rather than showMessage(): the status is long and must not be cut off.
        self.status_label = QLabel(session.startup_note(), self)
        self.status_label.setWordWrap(True)
        self.statusBar().addWidget(self.status_label, 1)

        _, first = session.capture.frames.get()
        if first is not None:
            self._size_for(first.shape[1], first.shape[0])
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.tick)

    def _build_toolbar(self) -> None:
        toolbar = self.addToolBar("View")
        toolbar.setMovable(False)
        group = QActionGroup(self)
        self.view_actions = {}
        for view in View:
            action = QAction(f"{view.title} ({view.shortcut})", self, checkable=True)
            action.setShortcut(QKeySequence(view.shortcut))
            action.setToolTip(view.description)
            action.triggered.connect(lambda checked, v=view: self.set_view(v))
            if view is View.REPLACE and self.session.options.replacement is None:
                action.setToolTip("start with --replace IMG to use this view")
            group.addAction(action)
            toolbar.addAction(action)
            self.view_actions[view] = action
        self.view_actions[self.session.view].setChecked(True)
        toolbar.addSeparator()
        self.record_action = QAction(f"Rec ({RECORD_KEY})", self, checkable=True)
        self.record_action.setShortcut(QKeySequence(RECORD_KEY))
        self.record_action.setToolTip("start or stop recording what the video shows (without buttons)")
        self.record_action.triggered.connect(lambda checked: self.toggle_recording())
        self.record_action.setChecked(self.recording.active)
        toolbar.addAction(self.record_action)

    def _size_for(self, frame_w: int, frame_h: int) -> None:
        screen = QApplication.primaryScreen()
        available = screen.availableGeometry() if screen is not None else None
        scale = max(1.0, MIN_VIDEO_WIDTH / frame_w)  # small videos are shown larger
        if available is not None:
            scale = min(scale, 0.85 * available.width() / frame_w, 0.8 * available.height() / frame_h)
        self.resize(int(frame_w * scale), int(frame_h * scale) + 80)

    def set_view(self, view: View) -> None:
        self.session.set_view(view)
        self.view_actions[self.session.view].setChecked(True)

    def toggle_recording(self) -> None:
        self.recording.toggle()
        self.record_action.setChecked(self.recording.active)

    def start(self) -> None:
        self.session.start()
        self.timer.start(TICK_MS)

    def press(self, name: str) -> None:
        self.session.press(name)
        if self.session.quit_requested:
            self.close()

    def _clicked(self, x: float, y: float) -> None:
        layout = self.session.layout
        name = layout.hit_test(x, y) if layout is not None else None
        if name is not None:
            self.press(name)

    def keyPressEvent(self, event):
        name = KEY_PRESSES.get(event.key())
        if name is not None and not event.isAutoRepeat():
            self.press(name)
            return
        super().keyPressEvent(event)

    def tick(self) -> None:
        frame = self.session.step()
        if frame is not None:
            self.video.set_frame(frame)
        elapsed = self.session.clock() - self.session.started_at
        if self.session.quit_requested or self.session.finished or (
                self.duration is not None and elapsed >= self.duration):
            self.close()
            return
        if self.record_action.isChecked() != self.recording.active:  # a failed recording stops itself
            self.record_action.setChecked(self.recording.active)
        self._status_ticks += 1
        if self._startup_ticks_left > 0:
            self._startup_ticks_left -= 1
        if self._status_ticks * TICK_MS >= STATUS_EVERY_MS:
            self._status_ticks = 0
            status = self.session.status_text()
            if self._startup_ticks_left > 0:
                status = f"{self.session.startup_note()} | {status}"
            self.status_label.setText(status)

    def closeEvent(self, event):
        if not self._closed:
            self._closed = True
            self.timer.stop()
            self.session.close()  # releases the camera
            self.recording.close()  # after the session: no frame comes any more, the file is finalised
        super().closeEvent(event)


def run_window(session: LiveSession, duration: Optional[float] = None, source_name: str = "",
               recording: Optional[RecordingControl] = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(session, duration, source_name, recording)
    window.show()
    window.start()
    app.exec_()
    return 0
