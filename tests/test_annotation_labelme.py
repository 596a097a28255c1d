"""labelme files made elsewhere, over a real webcam frame: only the person label and its hole label touch the mask,
and every other shape and field is written back unchanged (document model, save round trip, converters)."""
import copy
import json
import shutil

import numpy as np
import pytest

from annotation.contours import polygons_from_mask
from annotation.convert import main as convert_main
from annotation.frames import FrameDocument, json_path, mask_path, open_capture_set
from annotation.labelme_io import parse_labelme, read_labelme, to_labelme
from annotation.raster import rasterise
from fileio.capture_sets import read_mask
from metrics.mask_metrics import iou

BED = [[0, 430], [70, 430], [70, 479], [0, 479]]  # the bed in set1/0.png's bottom-left corner: no person there
BED_PIXELS = 71 * 50
PERSON_BOX = [[560, 20], [620, 90]]  # a second, boxed "person" far from the traced one (rectangle: two corners)


def foreign_labelme_file(person_outline, hole):
    """What labelme (3.x fields included) writes for a frame annotated with several labels and groups."""
    shape = lambda label, points, shape_type="polygon", group_id=None, **extra: {  # noqa: E731
        "label": label, "points": points, "group_id": group_id, "description": extra.pop("description", ""),
        "shape_type": shape_type, "flags": extra.pop("flags", {}), "mask": None, **extra}
    return {
        "version": "5.4.1",
        "flags": {"blurry": False, "reviewed": True},
        "shapes": [
            shape("person", person_outline, group_id=1, description="traced by hand",
                  flags={"occluded": False}, line_color=[0, 255, 0, 128], fill_color=None),
            shape("face", [[235, 85], [380, 290]], "rectangle", group_id=1),
            shape("person_hole", hole, group_id=1),
            shape("bed", BED, group_id=2, description="not a person", flags={"occluded": True}),
            shape("nose", [[300, 215]], "point", group_id=1),
            shape("shelf", [[380, 30], [540, 30], [540, 280]], "linestrip"),
            shape("person", PERSON_BOX, "rectangle", group_id=3),
            shape("note", None, "text", text="a shape type this tool has never heard of"),
        ],
        "imagePath": "0.png",
        "imageData": None,
        "imageHeight": 480,
        "imageWidth": 640,
        "lineColor": [0, 255, 0, 128],
        "fillColor": [255, 0, 0, 128],
        "reviewer": "someone else's tool",
    }


@pytest.fixture
def frame_with_foreign_labels(tmp_path, shared):
    """A copy of real set1 (frame 0 and its plate) with a foreign labelme K.json over frame 0."""
    source = shared("data", "webcam_sets", "set1")
    target = tmp_path / "set1"
    target.mkdir()
    for name in ("bkg.png", "0.png"):
        shutil.copy2(source / name, target / name)
    real_mask = read_mask(source / "0_mask.png")
    outline = max((p for p in polygons_from_mask(real_mask) if not p.subtract), key=lambda p: len(p.points))
    ys, xs = np.nonzero(real_mask)
    cy, cx = int(np.median(ys)), int(np.median(xs))
    hole = [[cx - 8, cy - 8], [cx + 8, cy - 8], [cx + 8, cy + 8], [cx - 8, cy + 8]]
    data = foreign_labelme_file([[x, y] for x, y in outline.points], hole)
    (target / "0.json").write_text(json.dumps(data, indent=2))
    frame = open_capture_set(tmp_path, 1).frames[0]
    return frame, data, real_mask


def person_only(data):
    """The same file without any shape of another label: what the mask must equal."""
    stripped = copy.deepcopy(data)
    stripped["shapes"] = [s for s in stripped["shapes"] if s["label"] in ("person", "person_hole")]
    return stripped


def region(points):
    (x0, y0), (x1, y1) = np.min(points, axis=0), np.max(points, axis=0)
    return slice(y0, y1 + 1), slice(x0, x1 + 1)


def test_the_document_model_paints_only_person_shapes_and_writes_the_file_back_unchanged(frame_with_foreign_labels):
    _frame, data, real_mask = frame_with_foreign_labels
    document = parse_labelme(copy.deepcopy(data), "0.json")
    assert [p.subtract for p in document.polygons] == [False, True, False]  # person, person_hole, person box
    assert [k.shape["label"] for k in document.kept_shapes] == ["face", "bed", "nose", "shelf", "note"]
    assert document.warnings == [] and "bed" in document.notes[0] and "face" in document.notes[0]
    mask = rasterise(document.polygons, document.image_size)
    alone = parse_labelme(person_only(data), "0.json")
    assert np.array_equal(mask, rasterise(alone.polygons, alone.image_size))  # other labels change nothing
    assert not mask[region(BED)].any()
    assert mask[region(PERSON_BOX)].all()  # a person rectangle paints its whole box
    assert iou(mask[:, :500] > 0, real_mask[:, :500]) > 0.97  # the traced person, its hole cut
    written = to_labelme(document.polygons, "0.png", (480, 640), base=document)
    assert json.dumps(written) == json.dumps(data)  # every shape, field and key order as read


def test_editing_and_saving_keeps_other_shapes_group_ids_and_unknown_fields(frame_with_foreign_labels):
    frame, data, _ = frame_with_foreign_labels
    document = FrameDocument(frame)
    assert document.source == "json" and len(document.editor.polygons) == 3
    assert any("bed" in m for m in document.messages)  # the user is told what is kept
    first = document.editor.polygons[0]
    document.editor.begin_drag()
    document.editor.drag_vertex(0, 0, (first.points[0][0] + 4, first.points[0][1] + 3))
    document.editor.end_drag()
    for point in [(400, 300), (440, 300), (440, 340)]:
        document.editor.add_point(point)
    document.editor.close()
    assert document.autosave()

    saved = json.loads(json_path(frame).read_text())
    assert list(saved) == list(data)
    assert {k: v for k, v in saved.items() if k != "shapes"} == {k: v for k, v in data.items() if k != "shapes"}
    original, shapes = data["shapes"], saved["shapes"]
    assert [s["label"] for s in shapes] == [s["label"] for s in original] + ["person"]
    assert shapes[1:8] == original[1:8]  # other labels, the hole and the person box: untouched
    edited = shapes[0]
    assert {k: v for k, v in edited.items() if k != "points"} == {k: v for k, v in original[0].items()
                                                                  if k != "points"}
    assert edited["points"][0] == [original[0]["points"][0][0] + 4, original[0]["points"][0][1] + 3]
    assert edited["points"][1:] == original[0]["points"][1:]
    assert shapes[8]["points"] == [[400, 300], [440, 300], [440, 340]] and shapes[8]["group_id"] is None

    written_mask = read_mask(mask_path(frame))
    assert np.array_equal(written_mask, document.mask() > 0) and not written_mask[region(BED)].any()
    reopened = FrameDocument(frame)
    assert reopened.editor.polygons == document.editor.polygons
    before = json_path(frame).read_bytes()
    reopened.save()  # saving what was read changes nothing
    assert json_path(frame).read_bytes() == before


def test_another_label_can_be_the_one_painted(frame_with_foreign_labels):
    frame, data, _ = frame_with_foreign_labels
    document = FrameDocument(frame, label="bed")
    assert len(document.editor.polygons) == 1
    mask = document.mask()
    assert mask[region(BED)].all() and np.count_nonzero(mask) == BED_PIXELS
    document.editor.insert_vertex(0, 0, (80, 375))
    document.save()
    shapes = json.loads(json_path(frame).read_text())["shapes"]
    assert [s for s in shapes if s["label"] != "bed"] == [s for s in data["shapes"] if s["label"] != "bed"]
    (bed,) = [s for s in shapes if s["label"] == "bed"]
    assert bed["group_id"] == 2 and bed["flags"] == {"occluded": True} and [80, 375] in bed["points"]


def test_converters_paint_only_the_label_and_keep_the_rest(frame_with_foreign_labels, tmp_path, capsys):
    frame, data, _ = frame_with_foreign_labels
    set_dir = frame.image_path.parent
    assert convert_main(["masks-from-json", str(set_dir)]) == 0
    mask = read_mask(mask_path(frame))
    alone = parse_labelme(person_only(data), "0.json")
    assert np.array_equal(mask, rasterise(alone.polygons, (480, 640)) > 0)

    out = tmp_path / "coco.json"
    assert convert_main(["coco", str(set_dir), "--out", str(out)]) == 0
    coco = json.loads(out.read_text())
    assert [c["name"] for c in coco["categories"]] == ["person"]
    assert coco["annotations"][0]["area"] == np.count_nonzero(mask)

    assert convert_main(["json-from-masks", str(set_dir), "--force"]) == 0
    traced = read_labelme(json_path(frame))
    assert [k.shape for k in traced.kept_shapes] == [s for s in data["shapes"]
                                                     if s["label"] not in ("person", "person_hole")]
    assert traced.fields == {k: v for k, v in data.items() if k != "shapes"}
    assert iou(rasterise(traced.polygons, (480, 640)) > 0, mask) > 0.98

    assert convert_main(["masks-from-json", str(set_dir), "--label", "bed"]) == 0
    bed_mask = read_mask(mask_path(frame))
    assert bed_mask[region(BED)].all() and np.count_nonzero(bed_mask) == BED_PIXELS
