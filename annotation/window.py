"""The annotation window: frame list, canvas, toolbar and menus around the pure document/editor logic."""
from typing import Dict, List, Optional

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QBrush, QColor, QKeySequence
from PyQt5.QtWidgets import (QAction, QApplication, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                             QMessageBox, QSlider, QSplitter, QToolBar)

from annotation.assist import Assist, AssistError
from annotation.canvas import Canvas
from annotation.frames import FrameDocument, is_done
from annotation.labelme_io import DEFAULT_LABEL
from annotation.raster import mask_area_percent
from annotation.shortcuts import KEYS, shortcuts_text
from fileio.capture_sets import CaptureFrame, CaptureSet, read_image

DONE_COLOUR = QColor(40, 150, 60)
TODO_COLOUR = QColor(120, 120, 120)
ERROR_COLOUR = QColor(200, 50, 50)


class AnnotationWindow(QMainWindow):
    def __init__(self, capture_set: CaptureSet, frames: List[CaptureFrame], assist: Optional[Assist] = None,
                 auto_assist: bool = False, start_message: str = "", label: str = DEFAULT_LABEL):
        super().__init__()
        self.capture_set = capture_set
        self.label = label
        self.frames = frames
        self.assist = assist or Assist(None, "assist was not loaded")
        self.auto_assist = auto_assist
        self.documents: Dict[int, FrameDocument] = {}
        self.position = -1
        self._plate = None
        self.setWindowTitle(f"Backplate annotation - set {capture_set.number} ({capture_set.path})")

        self.canvas = Canvas()
        self.canvas.edited.connect(self._on_edited)
        self.canvas.view_changed.connect(self._refresh_status)
        self.frame_list = QListWidget()
        self.frame_list.setMaximumWidth(220)
        for frame in frames:
            self.frame_list.addItem(QListWidgetItem())
        self.frame_list.currentRowChanged.connect(self._on_row_changed)
        splitter = QSplitter()
        splitter.addWidget(self.frame_list)
        splitter.addWidget(self.canvas)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)

        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)
        self.actions = self._build_actions()
        self._build_menus_and_toolbar()
        self._refresh_frame_list()
        self.resize(1100, 720)
        self.go_to(0)
        if start_message:
            self.show_message(start_message)

    # ---- actions ------------------------------------------------------------------------------------------
    def _build_actions(self) -> Dict[str, QAction]:
        handlers = {
            "close_polygon": self.canvas.close_polygon,
            "cancel_polygon": self.canvas.cancel_polygon,
            "remove_point": self.canvas.remove_last_point,
            "delete": self.canvas.delete_under_cursor,
            "toggle_hole": self.canvas.toggle_hole_under_cursor,
            "subtract_mode": self._on_subtract_mode,
            "undo": self.canvas.undo,
            "redo": self.canvas.redo,
            "accept": self.accept_frame,
            "assist": self.run_assist,
            "next_frame": self.next_frame,
            "previous_frame": self.previous_frame,
            "fit": self.canvas.fit,
            "actual_size": self.canvas.actual_size,
            "zoom_in": lambda: self.canvas.zoom_by(1.25),
            "zoom_out": lambda: self.canvas.zoom_by(0.8),
            "overlay": self._on_overlay_toggled,
            "opacity_up": lambda: self.opacity_slider.setValue(self.opacity_slider.value() + 10),
            "opacity_down": lambda: self.opacity_slider.setValue(self.opacity_slider.value() - 10),
            "help": self.show_shortcuts,
        }
        labels = {"close_polygon": "Close polygon", "cancel_polygon": "Cancel polygon",
                  "remove_point": "Remove last point", "delete": "Delete vertex/polygon",
                  "toggle_hole": "Toggle hole", "subtract_mode": "Hole mode", "undo": "Undo", "redo": "Redo",
                  "accept": "Save / accept", "assist": "Assist", "next_frame": "Next", "previous_frame": "Previous",
                  "fit": "Fit", "actual_size": "100 %", "zoom_in": "Zoom in", "zoom_out": "Zoom out",
                  "overlay": "Overlay", "opacity_up": "Overlay more opaque", "opacity_down": "Overlay more transparent",
                  "help": "Keyboard shortcuts"}
        actions = {}
        for name, keys, description in KEYS:
            action = QAction(labels[name], self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.WindowShortcut)
            action.setToolTip(f"{description} ({' / '.join(keys)})")
            action.setStatusTip(description)
            handler = handlers[name]
            action.triggered.connect(lambda _checked=False, h=handler: h())
            self.addAction(action)
            actions[name] = action
        for name in ("subtract_mode", "overlay"):
            actions[name].setCheckable(True)
        actions["overlay"].setChecked(True)
        if not self.assist.available:
            actions["assist"].setEnabled(False)
            actions["assist"].setToolTip(self.assist.unavailable_reason)
        return actions

    def _build_menus_and_toolbar(self) -> None:
        menus = {
            "&File": ["accept"],
            "&Edit": ["undo", "redo", None, "close_polygon", "cancel_polygon", "remove_point", "delete",
                      "toggle_hole", "subtract_mode", None, "assist"],
            "&View": ["fit", "actual_size", "zoom_in", "zoom_out", None, "overlay", "opacity_up", "opacity_down"],
            "&Go": ["previous_frame", "next_frame"],
            "&Help": ["help"],
        }
        for title, names in menus.items():
            menu = self.menuBar().addMenu(title)
            for name in names:
                menu.addSeparator() if name is None else menu.addAction(self.actions[name])
        toolbar = QToolBar("Tools")
        self.addToolBar(toolbar)
        for name in ("previous_frame", "next_frame", None, "undo", "redo", None, "subtract_mode", "assist",
                     "accept", None, "fit", "actual_size", None, "overlay"):
            toolbar.addSeparator() if name is None else toolbar.addAction(self.actions[name])
        self.opacity_slider = QSlider(Qt.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(int(self.canvas.overlay_opacity * 100))
        self.opacity_slider.setMaximumWidth(120)
        self.opacity_slider.setToolTip("mask overlay opacity ([ and ])")
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        toolbar.addWidget(self.opacity_slider)
        toolbar.addSeparator()
        toolbar.addAction(self.actions["help"])

    # ---- frames -------------------------------------------------------------------------------------------
    @property
    def document(self) -> FrameDocument:
        return self.documents[self.position]

    def document_at(self, position: int) -> FrameDocument:
        if position not in self.documents:
            self.documents[position] = FrameDocument(self.frames[position], self.label)
        return self.documents[position]

    def go_to(self, position: int) -> None:
        if not 0 <= position < len(self.frames) or position == self.position:
            return
        self.position = position
        document = self.document_at(position)
        self.canvas.set_document(document)
        self.frame_list.blockSignals(True)
        self.frame_list.setCurrentRow(position)
        self.frame_list.blockSignals(False)
        for message in document.messages:
            self.show_message(message, error=True)
        document.messages.clear()
        if (self.auto_assist and self.assist.available and document.editable and document.source == "none"
                and not document.editor.polygons and document.proposal is None):
            self.run_assist()
        self._refresh_frame_list()
        self._refresh_status()

    def next_frame(self) -> None:
        self.go_to(self.position + 1)

    def previous_frame(self) -> None:
        self.go_to(self.position - 1)

    def _on_row_changed(self, row: int) -> None:
        self.go_to(row)

    def _refresh_frame_list(self) -> None:
        for row, frame in enumerate(self.frames):
            item = self.frame_list.item(row)
            document = self.documents.get(row)
            if document is not None and not document.editable:
                item.setText(f"!  {frame.image_path.name}   unreadable")
                item.setForeground(QBrush(ERROR_COLOUR))
                item.setToolTip(document.error)
            elif is_done(frame):
                item.setText(f"\u2713  {frame.image_path.name}   done")
                item.setForeground(QBrush(DONE_COLOUR))
                item.setToolTip("has a mask")
            else:
                item.setText(f"\u2022  {frame.image_path.name}   to do")
                item.setForeground(QBrush(TODO_COLOUR))
                item.setToolTip("no mask yet")

    # ---- editing ------------------------------------------------------------------------------------------
    def _on_edited(self) -> None:
        try:
            if self.document.autosave():
                self._refresh_frame_list()
        except OSError as exc:
            self.show_message(f"could not save {self.document.frame.image_path.name}'s annotation: {exc}", error=True)
        self._refresh_status()

    def accept_frame(self) -> None:
        document = self.document
        if not document.editable:
            return
        try:
            document.save()
        except OSError as exc:
            self.show_message(f"could not save: {exc}", error=True)
            return
        self.show_message(f"saved {document.frame.index}_mask.png and {document.frame.index}.json")
        self._refresh_frame_list()
        self._refresh_status()

    def _plate_image(self):
        if self._plate is None and self.capture_set.has_plate:
            try:
                self._plate = read_image(self.capture_set.plate_path)
            except ValueError as exc:
                self.show_message(f"{exc}; assist uses the single-frame model", error=True)
                self._plate = False
        return self._plate if self._plate is not False else None

    def run_assist(self) -> None:
        document = self.document
        if not self.assist.available or not document.editable:
            return
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            polygons = self.assist.polygons(document.image, self._plate_image())
        except AssistError as exc:
            self.show_message(str(exc), error=True)
            return
        finally:
            QApplication.restoreOverrideCursor()
        document.propose(polygons)
        self.canvas.update()
        self.show_message(f"assist proposed {len(polygons)} polygon(s): edit them (saved on the first edit) "
                          f"or press Ctrl+S to accept as they are")
        self._refresh_status()

    def _on_subtract_mode(self) -> None:
        self.canvas.subtract_mode = self.actions["subtract_mode"].isChecked()
        self._refresh_status()

    def _on_overlay_toggled(self) -> None:
        self.canvas.overlay_visible = self.actions["overlay"].isChecked()
        self.canvas.update()

    def _on_opacity(self, value: int) -> None:
        self.canvas.overlay_opacity = value / 100.0
        self.canvas.update()

    # ---- feedback -----------------------------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.statusBar().setStyleSheet("color: #c03030;" if error else "")
        self.statusBar().showMessage(text, 0 if error else 8000)

    def status_text(self) -> str:
        document = self.document
        parts = [f"frame {self.position + 1}/{len(self.frames)} ({document.frame.image_path.name})"]
        if document.editable:
            editor = document.editor
            parts.append(f"{editor.vertex_count()} vertices")
            parts.append(f"mask {mask_area_percent(document.mask()):.1f} %")
            parts.append("hole mode" if self.canvas.subtract_mode else "add mode")
            if document.proposal is not None and tuple(editor.polygons) == document.proposal:
                parts.append("assisted, not saved (Ctrl+S)")
            elif document.unsaved:
                parts.append("NOT SAVED")
            else:
                parts.append("saved" if is_done(document.frame) else "no mask yet")
        parts.append(f"zoom {self.canvas.scale * 100:.0f} %")
        return "  |  ".join(parts)

    def _refresh_status(self) -> None:
        if self.position < 0:
            return
        self.status_label.setText(self.status_text())
        editor = self.canvas.editor
        self.actions["undo"].setEnabled(bool(editor and editor.history.can_undo))
        self.actions["redo"].setEnabled(bool(editor and editor.history.can_redo))

    def show_shortcuts(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.RichText)
        box.setText("<pre>" + shortcuts_text().replace("&", "&amp;").replace("<", "&lt;") + "</pre>")
        box.exec_()
