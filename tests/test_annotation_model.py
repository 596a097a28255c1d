"""Pure annotation logic, no Qt: polygons, hit-testing, rasterisation with holes, undo, contours, labelme I/O."""
import json

import cv2
import numpy as np
import pytest

from annotation.contours import polygons_from_mask
from annotation.editor import FrameEditor
from annotation.geometry import Polygon, contains, nearest_edge, nearest_vertex, polygon_under
from annotation.labelme_io import CorruptAnnotation, read_labelme, to_labelme, write_labelme
from annotation.raster import mask_area_percent, rasterise
from metrics.mask_metrics import iou

SQUARE = ((10, 10), (19, 10), (19, 19), (10, 19))


def square(x0, y0, x1, y1, subtract=False):
    return Polygon(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), subtract)


# ---- geometry -----------------------------------------------------------------------------------------------
def test_nearest_vertex_respects_tolerance_and_prefers_topmost():
    polygons = [Polygon(SQUARE), Polygon(SQUARE)]
    assert nearest_vertex(polygons, (12, 11), tolerance=3) == (1, 0)
    assert nearest_vertex(polygons, (14, 14), tolerance=3) is None


def test_nearest_edge_returns_the_foot_point():
    hit = nearest_edge([Polygon(SQUARE)], (15, 8), tolerance=3)
    assert hit == (0, 0, (15.0, 10.0))
    assert nearest_edge([Polygon(SQUARE)], (15, 5), tolerance=3) is None
    # the closing edge (last vertex back to the first) counts too
    assert nearest_edge([Polygon(SQUARE)], (9, 15), tolerance=2)[:2] == (0, 3)


def test_contains_and_polygon_under():
    outer, inner = square(0, 0, 50, 50), square(10, 10, 20, 20, subtract=True)
    assert contains(outer, (25, 25)) and not contains(outer, (60, 25))
    assert polygon_under([outer, inner], (15, 15)) == 1
    assert polygon_under([outer, inner], (30, 30)) == 0
    assert polygon_under([outer, inner], (70, 70)) is None


# ---- rasterisation ------------------------------------------------------------------------------------------
def test_rasterise_square_covers_its_corner_pixels_inclusive():
    mask = rasterise([Polygon(SQUARE)], (30, 30))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    assert np.count_nonzero(mask) == 100
    assert mask[10, 10] == mask[19, 19] == 255 and mask[9, 10] == mask[20, 20] == 0


def test_holes_cut_and_later_shapes_paint_again_in_order():
    outer, hole, island = square(0, 0, 39, 39), square(10, 10, 29, 29, True), square(15, 15, 24, 24)
    mask = rasterise([outer, hole, island], (40, 40))
    expected = np.zeros((40, 40), np.uint8)
    expected[:, :] = 255
    expected[10:30, 10:30] = 0
    expected[15:25, 15:25] = 255
    assert np.array_equal(mask, expected)
    assert mask_area_percent(mask) == pytest.approx(100 * (1600 - 400 + 100) / 1600)


def test_iou_of_empty_masks_is_one_and_of_disjoint_is_zero():
    empty = np.zeros((5, 5), np.uint8)
    full = np.full((5, 5), 255, np.uint8)
    assert iou(empty, empty) == 1.0 and iou(empty, full) == 0.0


# ---- editor and undo ----------------------------------------------------------------------------------------
def test_drawing_closes_on_first_point_within_tolerance():
    editor = FrameEditor()
    assert editor.add_point((10, 10)) == "started"
    assert editor.add_point((20, 10), close_tolerance=3) == "added"
    assert editor.add_point((11, 11), close_tolerance=3) == "added"  # only 2 points before: no polygon yet
    assert editor.add_point((20, 20), close_tolerance=3) == "added"
    assert editor.add_point((12, 11), close_tolerance=3) == "closed"
    assert editor.polygons == (Polygon(((10, 10), (20, 10), (11, 11), (20, 20))),)
    assert not editor.drawing


def test_repeated_point_is_ignored_and_close_needs_three_points():
    editor = FrameEditor()
    editor.add_point((0, 0))
    assert editor.add_point((0.2, 0), duplicate_tolerance=0.5) == "ignored"
    editor.add_point((5, 0))
    assert not editor.close()
    editor.add_point((5, 5))
    assert editor.close() and len(editor.polygons) == 1


def test_undo_covers_every_step_including_removing_a_point():
    editor = FrameEditor()
    for point in [(0, 0), (10, 0), (10, 10)]:
        editor.add_point(point)
    editor.remove_last_point()
    assert editor.draft == ((0, 0), (10, 0))
    assert editor.undo() and editor.draft == ((0, 0), (10, 0), (10, 10))
    editor.close()
    editor.undo()
    assert editor.polygons == () and len(editor.draft) == 3
    editor.redo()
    assert len(editor.polygons) == 1
    editor.cancel_draft()  # nothing being drawn: no new step
    for _ in range(4):
        assert editor.undo()
    assert editor.draft == () and not editor.undo()


def test_new_edit_clears_redo():
    editor = FrameEditor([square(0, 0, 9, 9)])
    editor.delete_polygon(0)
    editor.undo()
    editor.set_subtract(0, True)
    assert not editor.redo() and editor.polygons[0].subtract


def test_drag_is_one_undo_step():
    editor = FrameEditor([square(0, 0, 9, 9)])
    editor.begin_drag()
    for x in range(1, 6):
        editor.drag_vertex(0, 2, (9 + x, 9 + x))
    assert editor.end_drag()
    assert editor.polygons[0].points[2] == (14, 14)
    editor.undo()
    assert editor.polygons[0].points[2] == (9, 9)
    editor.redo()
    assert editor.polygons[0].points[2] == (14, 14)


def test_insert_and_delete_vertex():
    editor = FrameEditor([square(0, 0, 10, 10)])
    assert editor.insert_vertex(0, 0, (5, -3)) == 1
    assert editor.polygons[0].points[1] == (5, -3)
    editor.delete_vertex(0, 1)
    assert editor.polygons[0] == square(0, 0, 10, 10)
    editor.replace_polygons([Polygon(((0, 0), (5, 0), (5, 5)))])
    editor.delete_vertex(0, 0)  # a triangle can't lose a vertex and stay a polygon
    assert editor.polygons == ()


# ---- contours -------------------------------------------------------------------------------------------------
def ring_mask():
    mask = np.zeros((120, 140), np.uint8)
    cv2.circle(mask, (70, 60), 50, 255, -1)
    cv2.circle(mask, (70, 60), 25, 0, -1)   # hole
    cv2.circle(mask, (70, 60), 10, 255, -1)  # island inside the hole
    mask[3, 3] = 255                          # one-pixel speck
    return mask


def test_contours_without_simplification_reproduce_the_mask_exactly():
    mask = ring_mask()
    polygons = polygons_from_mask(mask, epsilon=0)
    assert [p.subtract for p in polygons].count(True) == 1
    assert np.array_equal(rasterise(polygons, mask.shape), mask)


def test_simplification_keeps_iou_and_cuts_vertices():
    mask = ring_mask()
    exact = polygons_from_mask(mask, epsilon=0)
    simple = polygons_from_mask(mask, epsilon=1.0)
    assert sum(len(p.points) for p in simple) < sum(len(p.points) for p in exact) / 3
    assert iou(rasterise(simple, mask.shape), mask) >= 0.97
    capped = polygons_from_mask(mask, epsilon=0.5, max_vertices=12)
    assert all(len(p.points) <= 12 for p in capped)


def test_min_area_drops_specks():
    polygons = polygons_from_mask(ring_mask(), min_area=20)
    assert all(min(x for x, _ in p.points) > 10 for p in polygons)


def test_empty_mask_gives_no_polygons():
    assert polygons_from_mask(np.zeros((10, 10), np.uint8)) == []


def test_real_masks_polygonise_with_iou_above_098(shared):
    from fileio.capture_sets import list_sets, read_mask
    for capture_set in list_sets(shared("data", "webcam_sets"))[:4]:
        for frame in capture_set.frames:
            mask = read_mask(frame.mask_path)
            polygons = polygons_from_mask(mask)
            assert iou(rasterise(polygons, mask.shape), mask) >= 0.98, frame.mask_path
            assert sum(len(p.points) for p in polygons) < 400


# ---- labelme I/O --------------------------------------------------------------------------------------------
def test_labelme_file_has_the_labelme_fields_and_round_trips(tmp_path):
    polygons = [square(0, 0, 50, 50), square(10, 10, 20, 20, True)]
    path = tmp_path / "3.json"
    write_labelme(path, polygons, "3.png", (480, 640))
    data = json.loads(path.read_text())
    assert data["imagePath"] == "3.png" and data["imageData"] is None
    assert (data["imageHeight"], data["imageWidth"]) == (480, 640)
    assert [s["label"] for s in data["shapes"]] == ["person", "person_hole"]
    assert all(s["shape_type"] == "polygon" for s in data["shapes"])
    assert data["shapes"][0]["points"][1] == [50, 0]
    assert read_labelme(path).polygons == polygons
    assert [p.name for p in tmp_path.iterdir()] == ["3.json"]  # no temp file left behind


def test_labelme_person_rectangles_paint_and_other_types_are_kept_with_a_warning(tmp_path):
    data = to_labelme([], "0.png", (10, 10))
    data["shapes"] = [
        {"label": "person", "points": [[1, 1], [5, 6]], "shape_type": "rectangle"},
        {"label": "person", "points": [[3, 3]], "shape_type": "point"},
    ]
    path = tmp_path / "0.json"
    path.write_text(json.dumps(data))
    annotation = read_labelme(path)
    assert annotation.polygons == [Polygon(((1, 1), (5, 1), (5, 6), (1, 6)))]
    assert [k.shape["shape_type"] for k in annotation.kept_shapes] == ["point"]
    assert "shape 1" in annotation.warnings[0] and "does not touch the mask" in annotation.warnings[0]


@pytest.mark.parametrize("text, problem", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a labelme JSON object"),
    ('{"shapes": 3}', "'shapes'"),
    ('{"shapes": [{"label": "person", "points": [[1, "x"], 2]}]}', "invalid 'points'"),
])
def test_corrupt_labelme_raises_a_message_naming_the_file(tmp_path, text, problem):
    path = tmp_path / "7.json"
    path.write_text(text)
    with pytest.raises(CorruptAnnotation) as caught:
        read_labelme(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)
