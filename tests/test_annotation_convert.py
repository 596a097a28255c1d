"""The converters on copies of the real webcam sets (never writing into ../shared)."""
import json
import shutil

import cv2
import numpy as np

from annotation.convert import main
from annotation.geometry import Polygon
from annotation.labelme_io import write_labelme
from annotation.raster import rasterise
from metrics.mask_metrics import iou
from fileio.capture_sets import list_sets, read_mask, read_set


def copy_set(source, tmp_path):
    target = tmp_path / source.name
    shutil.copytree(source, target)
    return target


def test_roundtrip_on_every_real_set_keeps_iou_above_098(shared, tmp_path, capsys):
    for capture_set in list_sets(shared("data", "webcam_sets")):
        target = copy_set(capture_set.path, tmp_path)
        originals = {f.index: read_mask(f.mask_path) for f in capture_set.frames}
        assert main(["json-from-masks", str(target)]) == 0
        for frame in capture_set.frames:  # masks-from-json must rebuild them, not find the originals
            (target / f"{frame.index}_mask.png").unlink()
        assert main(["masks-from-json", str(target)]) == 0
        for index, original in originals.items():
            rebuilt = cv2.imread(str(target / f"{index}_mask.png"), cv2.IMREAD_UNCHANGED)
            assert rebuilt.shape == original.shape and set(np.unique(rebuilt)) <= {0, 255}
            assert iou(rebuilt, original) >= 0.98, f"{capture_set.path.name}/{index}"


def test_json_from_masks_never_overwrites_without_force(shared, tmp_path, capsys):
    target = copy_set(shared("data", "webcam_sets", "set2"), tmp_path)
    (target / "0.json").write_text("hand-made, do not lose")
    assert main(["json-from-masks", str(target)]) == 0
    assert "0.json exists (use --force" in capsys.readouterr().out
    assert (target / "0.json").read_text() == "hand-made, do not lose"
    assert json.loads((target / "1.json").read_text())["shapes"]
    assert main(["json-from-masks", str(target), "--force"]) == 0
    assert (target / "0.json.bad").read_text() == "hand-made, do not lose"  # unreadable: kept
    assert json.loads((target / "0.json").read_text())["imagePath"] == "0.png"


def test_masks_from_json_reports_corrupt_json_and_leaves_it(shared, tmp_path, capsys):
    target = copy_set(shared("data", "webcam_sets", "set2"), tmp_path)
    write_labelme(target / "0.json", [Polygon(((10, 10), (60, 10), (60, 60)))], "0.png", (480, 640))
    (target / "1.json").write_text("{")
    before = (target / "1_mask.png").read_bytes()
    assert main(["masks-from-json", str(target)]) == 1
    error = capsys.readouterr().err
    assert "1.json" in error and "not valid JSON" in error
    assert (target / "1.json").read_text() == "{" and (target / "1_mask.png").read_bytes() == before
    assert np.array_equal(read_mask(target / "0_mask.png"),
                          rasterise([Polygon(((10, 10), (60, 10), (60, 60)))], (480, 640)) > 0)


def test_missing_set_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["masks-from-json", str(tmp_path / "set99")]) == 2
    assert "set99 does not exist" in capsys.readouterr().err


def test_coco_export_loads_in_pycocotools_with_polygons_and_rle(shared, tmp_path, capsys):
    from pycocotools.coco import COCO
    first = copy_set(shared("data", "webcam_sets", "set1"), tmp_path)
    second = copy_set(shared("data", "webcam_sets", "set4"), tmp_path)
    holed = [Polygon(((100, 100), (400, 100), (400, 400), (100, 400))),
             Polygon(((200, 200), (300, 200), (300, 300), (200, 300)), subtract=True)]
    write_labelme(second / "0.json", holed, "0.png", (480, 640))
    out = tmp_path / "export" / "coco.json"
    assert main(["coco", str(first), str(second), "--out", str(out)]) == 0
    coco = COCO(str(out))
    assert coco.loadCats(coco.getCatIds())[0]["name"] == "person"
    kinds, people, empty = set(), 0, 0
    for image in coco.dataset["images"]:
        set_name, name = image["file_name"].split("/")
        index = int(name.split(".")[0])
        expected = (rasterise(holed, (480, 640)) > 0 if (set_name, index) == ("set4", 0)
                    else read_mask(tmp_path / set_name / f"{index}_mask.png"))
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        if not expected.any():
            assert annotations == []
            empty += 1
            continue
        people += 1
        (annotation,) = annotations
        kinds.add(type(annotation["segmentation"]).__name__)
        assert iou(coco.annToMask(annotation) > 0, expected) >= 0.97, image["file_name"]
        if (set_name, index) == ("set4", 0):
            assert isinstance(annotation["segmentation"], dict)  # the hole needs RLE
            assert np.array_equal(coco.annToMask(annotation) > 0, expected)
    assert kinds == {"list", "dict"}
    # every annotated frame is exported: set1's and set4's frames with a person, and their empty last frames
    expected_people = sum(read_mask(f.mask_path).any() for d in (first, second) for f in read_set(d).frames)
    assert people == expected_people >= 8 and empty == 2
