"""K.json in labelme's format, read and written back whole.

Only two labels touch the mask: the person label (configurable, "person" by default) paints it and its hole label
("person_hole") cuts it. Polygons and rectangles with those labels apply in file order, like layers, so a hole
removes what the shapes before it painted and a later person shape can fill it again.

Everything else is kept and written back unchanged, in its place in the file: shapes with other labels, shapes
of other types (points, lines, circles, masks), and every field this tool does not use (group_id, description,
flags, unknown keys, top-level fields). A person shape that is not edited is written back exactly as it was read;
an edited one keeps all its fields and only gets new points.
"""
import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from annotation.geometry import Polygon
from commandline import UsageError
from fileio.atomic_files import atomic_write_bytes

DEFAULT_LABEL = "person"
HOLE_SUFFIX = "_hole"
LABELME_VERSION = "5.4.1"
MASK_SHAPE_TYPES = ("polygon", "rectangle")  # the shape types that paint or cut


def hole_label(label: str) -> str:
    return label + HOLE_SUFFIX


def label_argument(text: str) -> str:
    """--label: the label whose shapes paint the mask (its holes are then LABEL_hole)."""
    if not text.strip() or text != text.strip():
        raise UsageError(f"{text!r}: give a label that is not empty and has no spaces around it, "
                         f"e.g. {DEFAULT_LABEL}")
    if text.endswith(HOLE_SUFFIX):
        painting = text[:-len(HOLE_SUFFIX)] or DEFAULT_LABEL
        raise UsageError(f"{text!r} names holes; give the label that paints, e.g. {painting} (its holes are then "
                         f"{hole_label(painting)})")
    return text


class CorruptAnnotation(ValueError):
    """K.json is not valid labelme JSON; str() names the file and the problem."""


@dataclass
class KeptShape:
    """A shape that does not touch the mask, with the number of mask polygons that came before it in the file."""
    after_polygons: int
    shape: dict


@dataclass
class LabelmeFile:
    """One K.json: the mask polygons (each remembers the shape it was read from) and everything else, verbatim."""
    polygons: List[Polygon] = field(default_factory=list)
    kept_shapes: List[KeptShape] = field(default_factory=list)
    fields: Dict[str, object] = field(default_factory=dict)  # top-level fields other than "shapes", in file order
    shapes_at: int = 2  # where "shapes" stood among the top-level keys (labelme puts it after version, flags)
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def image_size(self) -> Optional[Tuple[int, int]]:
        """(height, width) as recorded in the file, when it records one."""
        height, width = self.fields.get("imageHeight"), self.fields.get("imageWidth")
        if isinstance(height, int) and isinstance(width, int):
            return height, width
        return None


def shape_points(shape: dict, path, index: int) -> List[Tuple[float, float]]:
    points = shape.get("points")
    try:
        return [(float(x), float(y)) for x, y in points]
    except (TypeError, ValueError):
        raise CorruptAnnotation(f"{path}: shape {index} has invalid 'points' (expected [[x, y], ...])") from None


def outline_points(shape: dict, path, index: int) -> List[Tuple[float, float]]:
    """The shape's outline as polygon vertices: a rectangle's two corners become its four."""
    points = shape_points(shape, path, index)
    if shape.get("shape_type") == "rectangle" and len(points) == 2:
        (x0, y0), (x1, y1) = points
        points = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return points


def parse_labelme(data, path, label: str = DEFAULT_LABEL) -> LabelmeFile:
    if not isinstance(data, dict):
        raise CorruptAnnotation(f"{path}: top level is {type(data).__name__}, expected a labelme JSON object")
    shapes = data.get("shapes")
    if not isinstance(shapes, list):
        raise CorruptAnnotation(f"{path}: missing or invalid 'shapes' list")
    document = LabelmeFile(fields={key: value for key, value in data.items() if key != "shapes"},
                           shapes_at=list(data).index("shapes"))
    other_labels = []
    for index, shape in enumerate(shapes):
        if not isinstance(shape, dict):
            raise CorruptAnnotation(f"{path}: shape {index} is not an object")
        shape_label = shape.get("label")
        shape_type = shape.get("shape_type") or "polygon"
        if shape_label not in (label, hole_label(label)):  # not ours to read: kept whatever it holds
            other_labels.append(f"{shape_label} ({shape_type})")
            document.kept_shapes.append(KeptShape(len(document.polygons), shape))
            continue
        points = outline_points(shape, path, index)
        if shape_type not in MASK_SHAPE_TYPES or len(points) < 3:
            document.warnings.append(f"{path}: shape {index} ({shape_label}, {shape_type} with {len(points)} "
                                     f"points) is kept but does not touch the mask; only polygons and rectangles do")
            document.kept_shapes.append(KeptShape(len(document.polygons), shape))
        else:
            document.polygons.append(Polygon(tuple(points), shape_label != label, origin=shape))
    if other_labels:
        document.notes.append(f"{path}: {len(other_labels)} shape(s) with other labels kept unchanged, not part of "
                              f"the {label} mask: {', '.join(sorted(set(other_labels)))}")
    return document


def read_labelme(path: Path, label: str = DEFAULT_LABEL) -> LabelmeFile:
    """Raises CorruptAnnotation for unreadable or malformed files, FileNotFoundError when absent."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptAnnotation(f"{path}: not valid JSON ({exc})") from None
    return parse_labelme(data, path, label)


def polygon_shape(polygon: Polygon, label: str) -> dict:
    """The labelme shape for a mask polygon: its own shape unchanged when not edited; otherwise its shape's
    fields with the new outline, or a fresh shape for a polygon drawn here."""
    wanted_label = hole_label(label) if polygon.subtract else label
    origin = polygon.origin
    if origin is not None and origin.get("label") == wanted_label \
            and tuple(outline_points(origin, "", 0)) == polygon.points:
        return copy.deepcopy(origin)
    points = [[round(x, 2), round(y, 2)] for x, y in polygon.points]
    if origin is None:
        return {"label": wanted_label, "points": points, "group_id": None, "description": "",
                "shape_type": "polygon", "flags": {}, "mask": None}
    shape = copy.deepcopy(origin)
    shape.update(label=wanted_label, points=points, shape_type="polygon")
    return shape


def to_labelme(polygons: Sequence[Polygon], image_name: str, image_size: Tuple[int, int],
               base: Optional[LabelmeFile] = None, label: str = DEFAULT_LABEL) -> dict:
    """The labelme document for these polygons: base's other shapes and fields kept where they were; a new file
    (base None) gets labelme's standard fields."""
    height, width = image_size
    if base is None:
        base = LabelmeFile(fields={"version": LABELME_VERSION, "flags": {}, "imagePath": image_name,
                                   "imageData": None})
    kept = base.kept_shapes
    shapes = [copy.deepcopy(k.shape) for k in kept if k.after_polygons <= 0]
    for number, polygon in enumerate(polygons, start=1):
        shapes.append(polygon_shape(polygon, label))
        shapes.extend(copy.deepcopy(k.shape) for k in kept if k.after_polygons == number)
    shapes.extend(copy.deepcopy(k.shape) for k in kept if k.after_polygons > len(polygons))
    items = list(base.fields.items())
    items.insert(min(base.shapes_at, len(items)), ("shapes", shapes))  # the file's own key order
    document = dict(items)
    document.setdefault("imagePath", image_name)
    document["imageHeight"], document["imageWidth"] = int(height), int(width)  # the polygons' coordinates
    return document


def write_labelme(path: Path, polygons: Sequence[Polygon], image_name: str, image_size: Tuple[int, int],
                  base: Optional[LabelmeFile] = None, label: str = DEFAULT_LABEL) -> None:
    document = to_labelme(polygons, image_name, image_size, base, label)
    atomic_write_bytes(Path(path), (json.dumps(document, indent=2) + "\n").encode("utf-8"))
