"""Edits to one frame's polygons, with undo/redo covering every step (drawing points included). No Qt."""
from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple

from annotation.geometry import Point, Polygon, distance

MAX_UNDO = 500


@dataclass(frozen=True)
class EditorState:
    polygons: Tuple[Polygon, ...] = ()
    draft: Tuple[Point, ...] = ()  # the polygon being drawn, not yet closed
    draft_subtract: bool = False


class History:
    """Snapshot undo stack: each edit stores the state before it."""

    def __init__(self, state: EditorState):
        self.state = state
        self._undo: List[EditorState] = []
        self._redo: List[EditorState] = []

    def push(self, new_state: EditorState) -> bool:
        if new_state == self.state:
            return False
        self._undo.append(self.state)
        del self._undo[:-MAX_UNDO]
        self._redo.clear()
        self.state = new_state
        return True

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.state)
        self.state = self._undo.pop()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.state)
        self.state = self._redo.pop()
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)


class FrameEditor:
    def __init__(self, polygons: Sequence[Polygon] = ()):
        self.history = History(EditorState(tuple(polygons)))
        self._drag_start: Optional[EditorState] = None

    # ---- reading ------------------------------------------------------------------------------------------
    @property
    def state(self) -> EditorState:
        return self.history.state

    @property
    def polygons(self) -> Tuple[Polygon, ...]:
        return self.state.polygons

    @property
    def draft(self) -> Tuple[Point, ...]:
        return self.state.draft

    @property
    def drawing(self) -> bool:
        return bool(self.state.draft)

    @property
    def dragging(self) -> bool:
        return self._drag_start is not None

    def vertex_count(self) -> int:
        return sum(len(p.points) for p in self.polygons) + len(self.draft)

    # ---- drawing ------------------------------------------------------------------------------------------
    def add_point(self, point: Point, subtract: bool = False, close_tolerance: float = 0.0,
                  duplicate_tolerance: float = 1e-6) -> str:
        """Adds a vertex to the draft; returns 'started', 'added', 'closed' or 'ignored' (repeat of the last point).

        A click within close_tolerance of the first vertex (3+ vertices drawn) closes the polygon instead.
        """
        state = self.state
        if not state.draft:
            self.history.push(replace(state, draft=(point,), draft_subtract=subtract))
            return "started"
        if len(state.draft) >= 3 and distance(point, state.draft[0]) <= close_tolerance:
            return "closed" if self.close() else "ignored"
        if distance(point, state.draft[-1]) <= duplicate_tolerance:
            return "ignored"
        self.history.push(replace(state, draft=state.draft + (point,)))
        return "added"

    def close(self) -> bool:
        """Turns a draft of 3+ vertices into a polygon."""
        state = self.state
        if len(state.draft) < 3:
            return False
        polygon = Polygon(state.draft, state.draft_subtract)
        return self.history.push(EditorState(state.polygons + (polygon,)))

    def remove_last_point(self) -> bool:
        state = self.state
        if not state.draft:
            return False
        return self.history.push(replace(state, draft=state.draft[:-1]))

    def cancel_draft(self) -> bool:
        return self.history.push(replace(self.state, draft=(), draft_subtract=False))

    # ---- editing closed polygons --------------------------------------------------------------------------
    def _set_polygon(self, index: int, polygon: Optional[Polygon]) -> bool:
        polygons = list(self.polygons)
        if polygon is None:
            del polygons[index]
        else:
            polygons[index] = polygon
        return self.history.push(replace(self.state, polygons=tuple(polygons)))

    def insert_vertex(self, polygon_index: int, after_vertex: int, point: Point) -> int:
        """Inserts a vertex on the edge that starts at after_vertex; returns the new vertex's index."""
        polygon = self.polygons[polygon_index]
        points = list(polygon.points)
        points.insert(after_vertex + 1, point)
        self._set_polygon(polygon_index, polygon.with_points(points))
        return after_vertex + 1

    def delete_vertex(self, polygon_index: int, vertex_index: int) -> bool:
        """Below 3 vertices a polygon is no longer one, so it is deleted whole."""
        polygon = self.polygons[polygon_index]
        if len(polygon.points) <= 3:
            return self.delete_polygon(polygon_index)
        points = list(polygon.points)
        del points[vertex_index]
        return self._set_polygon(polygon_index, polygon.with_points(points))

    def delete_polygon(self, polygon_index: int) -> bool:
        return self._set_polygon(polygon_index, None)

    def set_subtract(self, polygon_index: int, subtract: bool) -> bool:
        polygon = self.polygons[polygon_index]
        return self._set_polygon(polygon_index, polygon.with_subtract(subtract))

    def replace_polygons(self, polygons: Sequence[Polygon]) -> bool:
        return self.history.push(EditorState(tuple(polygons)))

    # ---- dragging a vertex: many moves, one undo step ------------------------------------------------------
    def begin_drag(self) -> None:
        self._drag_start = self.state

    def drag_vertex(self, polygon_index: int, vertex_index: int, point: Point) -> None:
        polygon = self.polygons[polygon_index]
        points = list(polygon.points)
        points[vertex_index] = point
        polygons = list(self.polygons)
        polygons[polygon_index] = polygon.with_points(points)
        self.history.state = replace(self.state, polygons=tuple(polygons))  # not recorded until end_drag

    def end_drag(self) -> bool:
        """Records the whole drag as one edit; returns whether anything moved."""
        start, self._drag_start = self._drag_start, None
        if start is None or start == self.state:
            return False
        moved = self.state
        self.history.state = start
        return self.history.push(moved)

    # ---- history ------------------------------------------------------------------------------------------
    def undo(self) -> bool:
        if self.dragging:
            self.end_drag()
        return self.history.undo()

    def redo(self) -> bool:
        return self.history.redo()
