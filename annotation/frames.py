"""One capture set on disk and one frame's annotation document: load, autosave, done/to-do. No Qt."""
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from annotation.contours import polygons_from_mask
from annotation.editor import FrameEditor
from annotation.files import quarantine, write_mask_atomic
from annotation.geometry import Polygon
from annotation.labelme_io import DEFAULT_LABEL, CorruptAnnotation, LabelmeFile, read_labelme, write_labelme
from annotation.raster import rasterise
from fileio.capture_sets import CaptureFrame, CaptureSet, read_image, read_mask, read_set


class SetError(ValueError):
    """A set folder that can't be annotated; str() says why and how to fix it."""


def open_capture_set(images_root: Path, number: int) -> CaptureSet:
    path = Path(images_root) / f"set{number}"
    if not path.is_dir():
        raise SetError(f"set folder {path} does not exist. Capture set {number} with `python main.py`, "
                       f"or pass --images with the folder that holds set{number}/.")
    try:
        capture_set = read_set(path)
    except OSError as exc:
        raise SetError(f"cannot read set folder {path} ({exc.strerror}); fix its permissions or pass --images "
                       f"with a readable copy") from None
    if not capture_set.frames:
        raise SetError(f"{path} holds no frames (0.png, 1.png, ...); capture some with the Sav button first.")
    return capture_set


def mask_path(frame: CaptureFrame) -> Path:
    return frame.image_path.with_name(f"{frame.index}_mask.png")


def json_path(frame: CaptureFrame) -> Path:
    return frame.image_path.with_name(f"{frame.index}.json")


def is_done(frame: CaptureFrame) -> bool:
    return mask_path(frame).is_file()


def choose_frames(capture_set: CaptureSet, all_frames: bool) -> Tuple[List[CaptureFrame], str]:
    """Frames to work through: by default those without a mask; all of them with all_frames (or when none is left)."""
    if all_frames:
        return list(capture_set.frames), ""
    todo = [f for f in capture_set.frames if not is_done(f)]
    if not todo:
        return list(capture_set.frames), f"every frame of set {capture_set.number} has a mask; showing all frames"
    return todo, ""


def load_annotation_file(path: Path, messages: List[str], label: str = DEFAULT_LABEL) -> Optional[LabelmeFile]:
    """Reads K.json; a corrupt file is renamed to K.json.bad (kept for the user) and None returned."""
    try:
        return read_labelme(path, label)
    except FileNotFoundError:
        return None
    except CorruptAnnotation as exc:
        kept = quarantine(path)
        messages.append(f"{exc}. It was kept as {kept.name}; starting from the mask instead.")
        return None


class FrameDocument:
    """A frame's image, its polygons being edited, and what is on disk. Every change to closed polygons is saved.

    Only shapes labelled `label` (paint) and `label`_hole (cut) are edited; the rest of K.json is kept as read.
    """

    def __init__(self, frame: CaptureFrame, label: str = DEFAULT_LABEL):
        self.frame = frame
        self.label = label
        self.messages: List[str] = []
        self.labelme: Optional[LabelmeFile] = None  # K.json as read: its other shapes and fields are written back
        self.source = "none"  # where the polygons came from: json, mask or none
        self.proposal: Optional[Tuple[Polygon, ...]] = None  # assisted polygons not yet accepted
        self.image: Optional[np.ndarray] = None
        self.error: Optional[str] = None
        try:
            self.image = read_image(frame.image_path)
        except ValueError as exc:
            self.error = str(exc)
        polygons = self._load_polygons() if self.image is not None else []
        self.editor = FrameEditor(polygons)
        self.saved_polygons: Tuple[Polygon, ...] = tuple(polygons)

    @property
    def size(self) -> Tuple[int, int]:
        return self.image.shape[:2]

    def _load_polygons(self) -> List[Polygon]:
        annotation = load_annotation_file(json_path(self.frame), self.messages, self.label)
        if annotation is not None:
            self.source = "json"
            self.messages.extend(annotation.warnings + annotation.notes)
            self.labelme = annotation
            if annotation.image_size and annotation.image_size != self.size:
                self.messages.append(f"{json_path(self.frame)} was drawn on a {annotation.image_size[1]}x"
                                     f"{annotation.image_size[0]} image but {self.frame.image_path.name} is "
                                     f"{self.size[1]}x{self.size[0]}; check the polygons")
            return annotation.polygons
        if mask_path(self.frame).is_file():
            try:
                mask = read_mask(mask_path(self.frame))
            except ValueError as exc:
                self.messages.append(f"{exc}; starting with no polygons")
                return []
            self.source = "mask"
            return polygons_from_mask(mask)
        return []

    # ---- state --------------------------------------------------------------------------------------------
    @property
    def editable(self) -> bool:
        return self.image is not None

    def mask(self) -> np.ndarray:
        return rasterise(self.editor.polygons, self.size)

    @property
    def unsaved(self) -> bool:
        return self.editable and tuple(self.editor.polygons) != self.saved_polygons

    # ---- saving -------------------------------------------------------------------------------------------
    def save(self) -> None:
        """Writes K.json then K_mask.png, each atomically; the JSON is the source of truth on reopen."""
        polygons = tuple(self.editor.polygons)
        write_labelme(json_path(self.frame), polygons, self.frame.image_path.name, self.size, self.labelme,
                      self.label)
        write_mask_atomic(mask_path(self.frame), rasterise(polygons, self.size))
        self.saved_polygons = polygons
        self.proposal = None
        self.source = "json"

    def autosave(self) -> bool:
        """Saves when closed polygons changed; assisted polygons wait until they are edited or accepted."""
        if not self.unsaved or tuple(self.editor.polygons) == self.proposal:
            return False
        self.save()
        return True

    def propose(self, polygons: Sequence[Polygon]) -> None:
        """Replaces the polygons with assisted ones (one undo step), unsaved until edited or accepted."""
        self.editor.replace_polygons(polygons)
        self.proposal = tuple(self.editor.polygons)
