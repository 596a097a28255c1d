"""The drawing surface: shows a frame with its polygons and turns mouse gestures into editor calls.

View maths: image coordinates put pixel centres on integers (as labelme/OpenCV do); a screen pixel is taken at its
centre, so at 100 % zoom a click on screen pixel (x, y) over image pixel (x, y) gives exactly (x, y).
"""
from typing import Optional, Tuple

import numpy as np
from PyQt5.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PyQt5.QtWidgets import QWidget

from annotation.frames import FrameDocument
from annotation.geometry import Point, distance, nearest_edge, nearest_vertex, polygon_under

CLOSE_RADIUS_PX = 10  # the original tool's gesture: a click this close to the first point closes the polygon
VERTEX_PICK_PX = 7
EDGE_PICK_PX = 5
ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 0.05, 40.0
ADD_COLOUR = QColor(60, 220, 90)
HOLE_COLOUR = QColor(255, 70, 70)
DRAFT_COLOUR = QColor(255, 220, 0)
OVERLAY_RGB = (0, 160, 255)


class Canvas(QWidget):
    edited = pyqtSignal()  # polygons or draft changed: the window autosaves and refreshes
    view_changed = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMinimumSize(320, 240)
        self.document: Optional[FrameDocument] = None
        self.scale = 1.0
        self.offset = QPointF(0, 0)
        self.fit_mode = True
        self.subtract_mode = False
        self.overlay_visible = True
        self.overlay_opacity = 0.4
        self._qimage: Optional[QImage] = None
        self._overlay: Optional[QImage] = None
        self._overlay_key = None
        self._cursor: Optional[Point] = None  # image coordinates of the mouse
        self._dragged_vertex: Optional[Tuple[int, int]] = None
        self._pan_from: Optional[QPointF] = None
        self._space_held = False

    # ---- document -----------------------------------------------------------------------------------------
    def set_document(self, document: Optional[FrameDocument]) -> None:
        self.document = document
        self._qimage = None
        self._overlay_key = None
        self._dragged_vertex = None
        if document is not None and document.editable:
            rgb = np.ascontiguousarray(document.image[:, :, ::-1])
            height, width = rgb.shape[:2]
            self._qimage = QImage(rgb.data, width, height, 3 * width, QImage.Format_RGB888).copy()
        if self.fit_mode:
            self.fit()
        self.update()

    @property
    def editor(self):
        return self.document.editor if self.document is not None and self.document.editable else None

    # ---- view ---------------------------------------------------------------------------------------------
    def image_to_screen(self, point: Point) -> QPointF:
        return QPointF((point[0] + 0.5) * self.scale + self.offset.x(), (point[1] + 0.5) * self.scale + self.offset.y())

    def screen_to_image(self, position) -> Point:
        x, y = position.x() + 0.5, position.y() + 0.5  # centre of the screen pixel
        return ((x - self.offset.x()) / self.scale - 0.5, (y - self.offset.y()) / self.scale - 0.5)

    def set_view(self, scale: float, offset: Tuple[float, float]) -> None:
        self.scale = min(MAX_SCALE, max(MIN_SCALE, scale))
        self.offset = QPointF(*offset)
        self.fit_mode = False
        self.update()
        self.view_changed.emit()

    def fit(self) -> None:
        self.fit_mode = True
        if self._qimage is None:
            return
        width, height = self._qimage.width(), self._qimage.height()
        self.scale = max(MIN_SCALE, min(self.width() / width, self.height() / height))
        self.offset = QPointF((self.width() - width * self.scale) / 2, (self.height() - height * self.scale) / 2)
        self.update()
        self.view_changed.emit()

    def zoom_at(self, factor: float, anchor: QPointF) -> None:
        """Zooms keeping the image point under screen pixel `anchor` where it is."""
        anchor = anchor + QPointF(0.5, 0.5)
        new_scale = min(MAX_SCALE, max(MIN_SCALE, self.scale * factor))
        factor = new_scale / self.scale
        self.set_view(new_scale, (anchor.x() - (anchor.x() - self.offset.x()) * factor,
                                  anchor.y() - (anchor.y() - self.offset.y()) * factor))

    def zoom_by(self, factor: float) -> None:
        self.zoom_at(factor, QPointF(self.width() / 2, self.height() / 2))

    def actual_size(self) -> None:
        centre = self.screen_to_image(QPointF(self.width() / 2, self.height() / 2))
        self.set_view(1.0, (self.width() / 2 - centre[0] - 0.5, self.height() / 2 - centre[1] - 0.5))

    def resizeEvent(self, event):
        if self.fit_mode:
            self.fit()
        super().resizeEvent(event)

    def wheelEvent(self, event):
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_at(ZOOM_STEP ** steps, QPointF(event.pos()))

    # ---- edits (also driven by the window's actions) ------------------------------------------------------
    def _edited(self) -> None:
        self.update()
        self.edited.emit()

    def close_polygon(self) -> bool:
        if self.editor and self.editor.close():
            self._edited()
            return True
        return False

    def cancel_polygon(self) -> bool:
        if self.editor and self.editor.drawing and self.editor.cancel_draft():
            self._edited()
            return True
        return False

    def remove_last_point(self) -> bool:
        if self.editor and self.editor.remove_last_point():
            self._edited()
            return True
        return False

    def undo(self) -> bool:
        if self.editor and self.editor.undo():
            self._dragged_vertex = None
            self._edited()
            return True
        return False

    def redo(self) -> bool:
        if self.editor and self.editor.redo():
            self._edited()
            return True
        return False

    def _tolerance(self, pixels: float) -> float:
        return pixels / self.scale

    def delete_at(self, point: Point) -> bool:
        """Deletes the vertex at `point`, else the topmost polygon containing it."""
        editor = self.editor
        if editor is None or editor.drawing:
            return False
        vertex = nearest_vertex(editor.polygons, point, self._tolerance(VERTEX_PICK_PX))
        if vertex is not None:
            changed = editor.delete_vertex(*vertex)
        else:
            index = polygon_under(editor.polygons, point)
            changed = index is not None and editor.delete_polygon(index)
        if changed:
            self._edited()
        return changed

    def delete_under_cursor(self) -> bool:
        return self._cursor is not None and self.delete_at(self._cursor)

    def toggle_hole_under_cursor(self) -> bool:
        editor = self.editor
        if editor is None or self._cursor is None:
            return False
        index = polygon_under(editor.polygons, self._cursor)
        if index is None:
            return False
        editor.set_subtract(index, not editor.polygons[index].subtract)
        self._edited()
        return True

    # ---- mouse --------------------------------------------------------------------------------------------
    def mousePressEvent(self, event):
        self.setFocus()
        position = QPointF(event.pos())
        if event.button() == Qt.MiddleButton or (event.button() == Qt.LeftButton and self._space_held):
            self._pan_from = position
            return
        editor = self.editor
        if editor is None:
            return
        point = self.screen_to_image(position)
        if event.button() == Qt.RightButton:
            if editor.drawing:
                self.remove_last_point()
            else:
                self.delete_at(point)
            return
        if event.button() != Qt.LeftButton:
            return
        if editor.drawing:
            editor.add_point(point, close_tolerance=self._tolerance(CLOSE_RADIUS_PX),
                             duplicate_tolerance=self._tolerance(1))
            self._edited()
            return
        vertex = nearest_vertex(editor.polygons, point, self._tolerance(VERTEX_PICK_PX))
        if vertex is None:
            edge = nearest_edge(editor.polygons, point, self._tolerance(EDGE_PICK_PX))
            if edge is not None:
                polygon_index, start, foot = edge
                vertex = (polygon_index, editor.insert_vertex(polygon_index, start, foot))
                self._edited()
        if vertex is not None:
            editor.begin_drag()
            self._dragged_vertex = vertex
            return
        subtract = self.subtract_mode or bool(event.modifiers() & Qt.ShiftModifier)
        editor.add_point(point, subtract=subtract)
        self._edited()

    def mouseMoveEvent(self, event):
        position = QPointF(event.pos())
        if self._pan_from is not None:
            delta = position - self._pan_from
            self._pan_from = position
            self.set_view(self.scale, (self.offset.x() + delta.x(), self.offset.y() + delta.y()))
            return
        self._cursor = self.screen_to_image(position)
        if self._dragged_vertex is not None and self.editor is not None:
            self.editor.drag_vertex(*self._dragged_vertex, self._cursor)
        self.update()

    def mouseReleaseEvent(self, event):
        if self._pan_from is not None and event.button() in (Qt.MiddleButton, Qt.LeftButton):
            self._pan_from = None
            return
        if event.button() == Qt.LeftButton and self._dragged_vertex is not None:
            self._dragged_vertex = None
            if self.editor is not None and self.editor.end_drag():
                self._edited()

    def mouseDoubleClickEvent(self, event):
        # Qt sends press, release, double-click, release: the press normally placed this point already, and
        # add_point() ignores the repeat; where no press came first, the point is added here.
        editor = self.editor
        if event.button() != Qt.LeftButton or editor is None or not editor.drawing:
            return
        point = self.screen_to_image(QPointF(event.pos()))
        if editor.add_point(point, close_tolerance=self._tolerance(CLOSE_RADIUS_PX),
                            duplicate_tolerance=self._tolerance(3)) != "closed":
            editor.close()
        self._edited()

    def keyPressEvent(self, event):
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.setCursor(Qt.OpenHandCursor)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event):
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.unsetCursor()
            return
        super().keyReleaseEvent(event)

    def leaveEvent(self, event):
        self._cursor = None
        self.update()

    # ---- painting -----------------------------------------------------------------------------------------
    def _overlay_image(self) -> Optional[QImage]:
        key = self.editor.polygons
        if key != self._overlay_key or self._overlay is None:
            mask = self.document.mask() > 0
            rgba = np.zeros(mask.shape + (4,), np.uint8)
            rgba[mask] = OVERLAY_RGB + (255,)
            height, width = mask.shape
            self._overlay = QImage(rgba.data, width, height, 4 * width, QImage.Format_RGBA8888).copy()
            self._overlay_key = key
        return self._overlay

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(40, 40, 40))
        if self.document is None:
            return
        if not self.document.editable:
            painter.setPen(QColor(255, 120, 120))
            painter.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.document.error or "")
            return
        target = QRectF(self.offset.x(), self.offset.y(), self._qimage.width() * self.scale,
                        self._qimage.height() * self.scale)
        painter.setRenderHint(QPainter.SmoothPixmapTransform, self.scale < 1.0)
        painter.drawImage(target, self._qimage)
        if self.overlay_visible and self.overlay_opacity > 0:
            painter.setOpacity(self.overlay_opacity)
            painter.drawImage(target, self._overlay_image())
            painter.setOpacity(1.0)
        painter.setRenderHint(QPainter.Antialiasing, True)
        self._paint_polygons(painter)
        self._paint_draft(painter)

    def _paint_polygons(self, painter: QPainter) -> None:
        editor = self.editor
        hovered_vertex = None
        if self._cursor is not None and not editor.drawing:
            hovered_vertex = nearest_vertex(editor.polygons, self._cursor, self._tolerance(VERTEX_PICK_PX))
        for polygon_index, polygon in enumerate(editor.polygons):
            colour = HOLE_COLOUR if polygon.subtract else ADD_COLOUR
            pen = QPen(colour, 2)
            if polygon.subtract:
                pen.setStyle(Qt.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.NoBrush)
            painter.drawPolygon(QPolygonF([self.image_to_screen(p) for p in polygon.points]))
            painter.setBrush(colour)
            for vertex_index, point in enumerate(polygon.points):
                radius = 5 if hovered_vertex == (polygon_index, vertex_index) else 3
                painter.drawEllipse(self.image_to_screen(point), radius, radius)

    def _paint_draft(self, painter: QPainter) -> None:
        draft = self.editor.draft
        if not draft:
            return
        colour = HOLE_COLOUR if self.editor.state.draft_subtract else DRAFT_COLOUR
        painter.setPen(QPen(colour, 2))
        screen = [self.image_to_screen(p) for p in draft]
        if self._cursor is not None:
            screen.append(self.image_to_screen(self._cursor))
        painter.drawPolyline(QPolygonF(screen))
        painter.setBrush(colour)
        for point in screen[:len(draft)]:
            painter.drawEllipse(point, 3, 3)
        near_first = (self._cursor is not None and len(draft) >= 3
                      and distance(self._cursor, draft[0]) <= self._tolerance(CLOSE_RADIUS_PX))
        painter.setBrush(Qt.NoBrush)
        painter.setPen(QPen(colour, 3 if near_first else 1))
        painter.drawEllipse(screen[0], CLOSE_RADIUS_PX, CLOSE_RADIUS_PX)
