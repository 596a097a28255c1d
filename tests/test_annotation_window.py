"""The real annotation window, offscreen, driven by simulated mouse and keys; written files checked pixel-for-pixel."""
import json
import shutil

import cv2
import numpy as np
import pytest
from PyQt5.QtCore import QEvent, QPoint, QPointF, Qt
from PyQt5.QtGui import QMouseEvent, QWheelEvent
from PyQt5.QtWidgets import QApplication

from annotation.assist import Assist
from annotation.frames import choose_frames, open_capture_set
from annotation.geometry import Polygon
from annotation.raster import rasterise
from annotation.window import AnnotationWindow

SQUARE = [(100, 100), (200, 100), (200, 200), (100, 200)]
HOLE = [(130, 130), (170, 130), (170, 170), (130, 170)]


@pytest.fixture
def set_dir(tmp_path, shared):
    source = shared("data", "webcam_sets", "set1")
    target = tmp_path / "set1"
    target.mkdir()
    for name in ["bkg.png", "0.png", "1.png", "2.png"]:
        shutil.copy2(source / name, target / name)
    return target


def open_window(qtbot, set_dir, assist=None, all_frames=False):
    capture_set = open_capture_set(set_dir.parent, 1)
    frames, message = choose_frames(capture_set, all_frames)
    window = AnnotationWindow(capture_set, frames, assist or Assist(None, "no weights: train first"),
                              start_message=message)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # shortcuts only reach the active window
    window.canvas.set_view(1.0, (0, 0))  # 100 %: screen pixel (x, y) is image pixel (x, y)
    return window


def screen(canvas, point):
    """The screen pixel whose centre lies on the image point."""
    centre = canvas.image_to_screen(point)
    return QPoint(round(centre.x() - 0.5), round(centre.y() - 0.5))


def click(qtbot, canvas, point, modifier=Qt.NoModifier, button=Qt.LeftButton):
    qtbot.mouseClick(canvas, button, modifier, screen(canvas, point))


def move(canvas, position, buttons=Qt.NoButton):
    """A real mouse-move event (QTest's mouseMove only moves the cursor, which offscreen Qt ignores)."""
    event = QMouseEvent(QEvent.MouseMove, QPointF(position), Qt.NoButton, buttons, Qt.NoModifier)
    QApplication.sendEvent(canvas, event)


def draw(qtbot, canvas, points, modifier=Qt.NoModifier):
    for point in points:
        click(qtbot, canvas, point, modifier)


def saved_mask(set_dir, index=0):
    return cv2.imread(str(set_dir / f"{index}_mask.png"), cv2.IMREAD_UNCHANGED)


def expected(*polygons):
    return rasterise(list(polygons), (480, 640))


def test_square_closed_on_first_point_then_hole_then_undo_redo(qtbot, set_dir):
    window = open_window(qtbot, set_dir)
    canvas = window.canvas
    draw(qtbot, canvas, SQUARE)
    assert not (set_dir / "0_mask.png").exists()  # an open polygon is not saved
    click(qtbot, canvas, (104, 103))  # 5 px from the first point: closes it
    square = Polygon(SQUARE)
    assert np.array_equal(saved_mask(set_dir), expected(square))
    assert json.loads((set_dir / "0.json").read_text())["shapes"][0]["points"] == [list(p) for p in SQUARE]

    draw(qtbot, canvas, HOLE, Qt.ShiftModifier)
    qtbot.keyClick(canvas, Qt.Key_Return)
    hole = Polygon(HOLE, subtract=True)
    assert np.array_equal(saved_mask(set_dir), expected(square, hole))
    assert saved_mask(set_dir)[150, 150] == 0 and saved_mask(set_dir)[110, 110] == 255

    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)  # closing the hole undone: back to the draft
    assert np.array_equal(saved_mask(set_dir), expected(square))
    assert len(canvas.editor.draft) == 4
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert np.array_equal(saved_mask(set_dir), expected(square, hole))
    assert "8 vertices" in window.status_text()
    assert f"mask {100 * (101 * 101 - 41 * 41) / (640 * 480):.1f} %" in window.status_text()


def test_close_threshold_is_in_screen_pixels(qtbot, set_dir):
    window = open_window(qtbot, set_dir)
    canvas = window.canvas
    canvas.set_view(4.0, (-301.5, -301.5))  # zoomed in: 10 screen px = 2.5 image px
    triangle = [(100, 100), (140, 100), (120, 130)]
    draw(qtbot, canvas, triangle)
    click(qtbot, canvas, (103, 100))  # 3 image px = 12 screen px away: a new vertex, not a close
    assert len(canvas.editor.draft) == 4 and not canvas.editor.polygons
    qtbot.keyClick(canvas, Qt.Key_Backspace)
    click(qtbot, canvas, (102, 100))  # 8 screen px away: closes
    assert canvas.editor.polygons == (Polygon(triangle),)


def test_double_click_closes_and_escape_cancels(qtbot, set_dir):
    window = open_window(qtbot, set_dir)
    canvas = window.canvas
    draw(qtbot, canvas, [(300, 300), (360, 300), (330, 350)])
    qtbot.mouseDClick(canvas, Qt.LeftButton, Qt.NoModifier, QPoint(330, 350))
    # the press before the double-click adds the last vertex; the double-click only closes
    assert [p.points for p in canvas.editor.polygons] == [((300, 300), (360, 300), (330, 350))]
    draw(qtbot, canvas, [(10, 10), (50, 10)])
    qtbot.keyClick(canvas, Qt.Key_Escape)
    assert not canvas.editor.drawing and len(canvas.editor.polygons) == 1
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    assert canvas.editor.draft == ((10, 10), (50, 10))


def test_remove_last_point_is_undoable(qtbot, set_dir):
    canvas = open_window(qtbot, set_dir).canvas
    draw(qtbot, canvas, [(10, 10), (50, 10), (50, 50)])
    qtbot.keyClick(canvas, Qt.Key_Backspace)
    assert canvas.editor.draft == ((10, 10), (50, 10))
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    assert canvas.editor.draft == ((10, 10), (50, 10), (50, 50))


def test_drag_insert_and_delete_vertices_autosave(qtbot, set_dir):
    window = open_window(qtbot, set_dir)
    canvas = window.canvas
    draw(qtbot, canvas, SQUARE + [SQUARE[0]])
    # drag the (200, 200) corner to (240, 220)
    qtbot.mousePress(canvas, Qt.LeftButton, Qt.NoModifier, QPoint(201, 199))
    move(canvas, QPoint(220, 210), Qt.LeftButton)
    move(canvas, QPoint(240, 220), Qt.LeftButton)
    qtbot.mouseRelease(canvas, Qt.LeftButton, Qt.NoModifier, QPoint(240, 220))
    moved = Polygon([(100, 100), (200, 100), (240, 220), (100, 200)])
    assert canvas.editor.polygons == (moved,)
    assert np.array_equal(saved_mask(set_dir), expected(moved))
    # click on the top edge: a vertex is inserted there
    click(qtbot, canvas, (150, 102))
    inserted = Polygon([(100, 100), (150, 100), (200, 100), (240, 220), (100, 200)])
    assert canvas.editor.polygons == (inserted,)
    # right click on it deletes it again; undo brings it back, and the drag undoes in one step
    click(qtbot, canvas, (150, 100), button=Qt.RightButton)
    assert canvas.editor.polygons == (moved,)
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    qtbot.keyClick(canvas, Qt.Key_Z, Qt.ControlModifier)
    assert canvas.editor.polygons == (Polygon(SQUARE),)
    assert np.array_equal(saved_mask(set_dir), expected(Polygon(SQUARE)))
    # Delete over the polygon's inside removes it whole; the mask becomes empty
    move(canvas, QPoint(150, 150))
    qtbot.keyClick(canvas, Qt.Key_Delete)
    assert canvas.editor.polygons == () and not saved_mask(set_dir).any()


def test_wheel_zooms_around_the_cursor(qtbot, set_dir):
    canvas = open_window(qtbot, set_dir).canvas
    anchor = QPointF(300, 200)
    before = canvas.screen_to_image(anchor)
    event = QWheelEvent(anchor, canvas.mapToGlobal(anchor.toPoint()), QPoint(0, 0), QPoint(0, 240),
                        Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(canvas, event)
    assert canvas.scale == pytest.approx(1.25 ** 2)
    assert canvas.screen_to_image(anchor) == pytest.approx(before)
    qtbot.keyClick(canvas, Qt.Key_F)
    assert canvas.fit_mode and canvas.scale == pytest.approx(min(canvas.width() / 640, canvas.height() / 480))


def test_navigation_list_and_reopen(qtbot, set_dir):
    window = open_window(qtbot, set_dir)
    canvas = window.canvas
    draw(qtbot, canvas, SQUARE)
    qtbot.keyClick(canvas, Qt.Key_Return)
    assert "done" in window.frame_list.item(0).text() and "to do" in window.frame_list.item(1).text()
    qtbot.keyClick(canvas, Qt.Key_N)
    assert window.position == 1 and "frame 2/3 (1.png)" in window.status_text()
    qtbot.keyClick(canvas, Qt.Key_P)
    assert window.position == 0
    window.close()
    # frame 0 now has a mask: a new session starts at frame 1, and --all shows frame 0 with its polygon
    again = open_window(qtbot, set_dir)
    assert [f.index for f in again.frames] == [1, 2]
    everything = open_window(qtbot, set_dir, all_frames=True)
    assert everything.canvas.editor.polygons == (Polygon(SQUARE),) and everything.document.source == "json"


def test_assist_button_disabled_with_reason_when_no_engine(qtbot, set_dir):
    window = open_window(qtbot, set_dir, assist=Assist(None, "assist is off: default weights missing"))
    assert not window.actions["assist"].isEnabled()
    assert "default weights missing" in window.actions["assist"].toolTip()


class DiscSegmenter:
    has_plate_model = has_single_model = True

    def segment(self, frame, plate_bgr=None):
        assert plate_bgr is not None  # set1 has bkg.png: the plate model must be used
        probability = np.zeros(frame.shape[:2], np.float32)
        cv2.circle(probability, (320, 240), 100, 1.0, -1)
        return probability


def test_assist_proposes_polygons_saved_on_accept(qtbot, set_dir):
    window = open_window(qtbot, set_dir, assist=Assist(DiscSegmenter()))
    assert window.actions["assist"].isEnabled()
    qtbot.keyClick(window.canvas, Qt.Key_A)
    assert len(window.canvas.editor.polygons) == 1 and not (set_dir / "0_mask.png").exists()
    assert "assisted, not saved" in window.status_text()
    qtbot.keyClick(window.canvas, Qt.Key_S, Qt.ControlModifier)
    assert saved_mask(set_dir)[240, 320] == 255 and saved_mask(set_dir)[10, 10] == 0


def test_corrupt_json_and_unreadable_frame_show_messages(qtbot, set_dir):
    (set_dir / "0.json").write_text("{oops")
    (set_dir / "1.png").write_bytes(b"")
    window = open_window(qtbot, set_dir)
    assert "0.json.bad" in window.statusBar().currentMessage()
    assert (set_dir / "0.json.bad").read_text() == "{oops"
    window.next_frame()
    assert not window.document.editable and "1.png" in window.frame_list.item(1).toolTip()
    assert "unreadable" in window.frame_list.item(1).text()
    click(qtbot, window.canvas, (50, 50))  # ignored, no crash
    assert not (set_dir / "1_mask.png").exists()


def test_shortcuts_are_listed_in_the_window(qtbot, set_dir):
    window = open_window(qtbot, set_dir)
    help_menu = [m for m in window.menuBar().actions() if m.text() == "&Help"][0].menu()
    assert help_menu.actions()[0].shortcut().toString() == "F1"
    assert "Ctrl+Z" in window.actions["undo"].toolTip()
