"""The polygon model and hit-testing, in image coordinates (integer = pixel centre, as in labelme and OpenCV)."""
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional, Sequence, Tuple

import numpy as np

Point = Tuple[float, float]


@dataclass(frozen=True)
class Polygon:
    """A closed outline. subtract=True cuts it out of what earlier shapes painted (a hole).

    origin is the file's shape it was read from (labelme fields such as group_id and flags); it travels with the
    polygon through edits so that saving keeps those fields. It takes no part in equality.
    """
    points: Tuple[Point, ...]
    subtract: bool = False
    origin: Optional[Mapping[str, Any]] = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "points", tuple((float(x), float(y)) for x, y in self.points))

    def with_points(self, points: Sequence[Point]) -> "Polygon":
        return replace(self, points=tuple(points))

    def with_subtract(self, subtract: bool) -> "Polygon":
        return replace(self, subtract=subtract)


def distance(a: Point, b: Point) -> float:
    return float(np.hypot(a[0] - b[0], a[1] - b[1]))


def nearest_vertex(polygons: Sequence[Polygon], point: Point, tolerance: float) -> Optional[Tuple[int, int]]:
    """(polygon index, vertex index) of the closest vertex within tolerance; later (topmost) polygons win ties."""
    best, best_distance = None, tolerance
    for polygon_index in range(len(polygons) - 1, -1, -1):
        for vertex_index, vertex in enumerate(polygons[polygon_index].points):
            d = distance(vertex, point)
            if d <= best_distance and (best is None or d < best_distance):
                best, best_distance = (polygon_index, vertex_index), d
    return best


def project_on_segment(point: Point, a: Point, b: Point) -> Tuple[Point, float]:
    """Closest point to `point` on segment ab, and its distance."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length_sq = dx * dx + dy * dy
    t = 0.0 if length_sq == 0 else max(0.0, min(1.0, ((point[0] - ax) * dx + (point[1] - ay) * dy) / length_sq))
    foot = (ax + t * dx, ay + t * dy)
    return foot, distance(foot, point)


def nearest_edge(polygons: Sequence[Polygon], point: Point,
                 tolerance: float) -> Optional[Tuple[int, int, Point]]:
    """(polygon index, index of the edge's first vertex, foot point) of the closest edge within tolerance."""
    best, best_distance = None, tolerance
    for polygon_index in range(len(polygons) - 1, -1, -1):
        points = polygons[polygon_index].points
        for start in range(len(points)):
            foot, d = project_on_segment(point, points[start], points[(start + 1) % len(points)])
            if d <= best_distance and (best is None or d < best_distance):
                best, best_distance = (polygon_index, start, foot), d
    return best


def contains(polygon: Polygon, point: Point) -> bool:
    """Even-odd point-in-polygon test."""
    x, y = point
    inside = False
    points = polygon.points
    for i in range(len(points)):
        x1, y1 = points[i]
        x2, y2 = points[i - 1]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def polygon_under(polygons: Sequence[Polygon], point: Point) -> Optional[int]:
    """Index of the topmost (last drawn) polygon containing the point."""
    for index in range(len(polygons) - 1, -1, -1):
        if contains(polygons[index], point):
            return index
    return None
