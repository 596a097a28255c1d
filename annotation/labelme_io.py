"""K.json in labelme's format.

Convention for holes: every shape is a polygon; label "person" paints the mask, label "person_hole" (any label
ending in "_hole") cuts it out. Shapes apply in file order, like layers, so a hole removes what the shapes before
it painted and a later "person" shape can fill it again. Shapes this tool does not edit (points, lines, ...) are
kept and written back unchanged.
"""
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from fileio.atomic_files import atomic_write_bytes
from annotation.geometry import Polygon

LABEL = "person"
HOLE_SUFFIX = "_hole"
HOLE_LABEL = LABEL + HOLE_SUFFIX
LABELME_VERSION = "5.4.1"


class CorruptAnnotation(ValueError):
    """K.json is not valid labelme JSON; str() names the file and the problem."""


@dataclass
class Annotation:
    polygons: List[Polygon]
    image_size: Optional[Tuple[int, int]] = None  # (height, width) as recorded in the file
    other_shapes: List[dict] = field(default_factory=list)  # kept verbatim
    flags: dict = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)


def _points(shape: dict, path: Path, index: int) -> List[Tuple[float, float]]:
    points = shape.get("points")
    try:
        return [(float(x), float(y)) for x, y in points]
    except (TypeError, ValueError):
        raise CorruptAnnotation(f"{path}: shape {index} has invalid 'points' (expected [[x, y], ...])") from None


def parse_labelme(data, path: Path) -> Annotation:
    if not isinstance(data, dict):
        raise CorruptAnnotation(f"{path}: top level is {type(data).__name__}, expected a labelme JSON object")
    shapes = data.get("shapes")
    if not isinstance(shapes, list):
        raise CorruptAnnotation(f"{path}: missing or invalid 'shapes' list")
    annotation = Annotation(polygons=[], flags=data.get("flags") or {})
    height, width = data.get("imageHeight"), data.get("imageWidth")
    if isinstance(height, int) and isinstance(width, int):
        annotation.image_size = (height, width)
    for index, shape in enumerate(shapes):
        if not isinstance(shape, dict):
            raise CorruptAnnotation(f"{path}: shape {index} is not an object")
        shape_type = shape.get("shape_type") or "polygon"
        points = _points(shape, path, index)
        label = str(shape.get("label", LABEL))
        subtract = label.endswith(HOLE_SUFFIX)
        if shape_type == "rectangle" and len(points) == 2:
            (x0, y0), (x1, y1) = points
            points = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        elif shape_type != "polygon":
            annotation.other_shapes.append(shape)
            annotation.warnings.append(f"{path}: shape {index} ({shape_type}) is kept but not editable here")
            continue
        if len(points) < 3:
            annotation.warnings.append(f"{path}: shape {index} has {len(points)} points; dropped")
            continue
        annotation.polygons.append(Polygon(tuple(points), subtract))
    return annotation


def read_labelme(path: Path) -> Annotation:
    """Raises CorruptAnnotation for unreadable or malformed files, FileNotFoundError when absent."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptAnnotation(f"{path}: not valid JSON ({exc})") from None
    return parse_labelme(data, path)


def to_labelme(polygons: List[Polygon], image_name: str, image_size: Tuple[int, int],
               other_shapes: Optional[List[dict]] = None, flags: Optional[dict] = None) -> dict:
    height, width = image_size
    shapes = [{
        "label": HOLE_LABEL if polygon.subtract else LABEL,
        "points": [[round(x, 2), round(y, 2)] for x, y in polygon.points],
        "group_id": None,
        "description": "",
        "shape_type": "polygon",
        "flags": {},
        "mask": None,
    } for polygon in polygons]
    return {
        "version": LABELME_VERSION,
        "flags": flags or {},
        "shapes": shapes + list(other_shapes or []),
        "imagePath": image_name,
        "imageData": None,
        "imageHeight": int(height),
        "imageWidth": int(width),
    }


def write_labelme(path: Path, polygons: List[Polygon], image_name: str, image_size: Tuple[int, int],
                  other_shapes: Optional[List[dict]] = None, flags: Optional[dict] = None) -> None:
    document = to_labelme(polygons, image_name, image_size, other_shapes, flags)
    atomic_write_bytes(Path(path), (json.dumps(document, indent=2) + "\n").encode("utf-8"))
