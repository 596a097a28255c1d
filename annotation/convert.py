"""Converters between K.json (labelme polygons), K_mask.png and COCO, for whole capture sets. No GUI.

    python -m annotation.convert masks-from-json SETDIR
    python -m annotation.convert json-from-masks SETDIR [--force]
    python -m annotation.convert coco SETDIR... --out FILE.json
    python -m annotation.convert roundtrip SETDIR...      # json-from-masks + masks-from-json on a copy; prints IoU

Only shapes labelled --label (default person) paint the mask and --label_hole cut it; every other shape in K.json
is kept, and written back unchanged.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from annotation.contours import DEFAULT_EPSILON, polygons_from_mask
from annotation.files import quarantine, write_mask_atomic
from annotation.frames import json_path, mask_path
from annotation.geometry import Polygon
from annotation.labelme_io import (DEFAULT_LABEL, HOLE_SUFFIX, CorruptAnnotation, label_argument, read_labelme,
                                   write_labelme)
from annotation.raster import rasterise
from commandline import ArgumentParser, UsageError, non_negative_float, report_usage_error
from fileio.atomic_files import atomic_write_bytes
from fileio.capture_sets import CaptureFrame, CaptureSet, read_image, read_mask, read_set
from metrics.mask_metrics import iou

PROG = "python -m annotation.convert"


def coco_category(label: str) -> dict:
    return {"id": 1, "name": label, "supercategory": label}


class ConvertError(UsageError):
    """A user error; str() names the path and the fix."""


def load_set(path: Path) -> CaptureSet:
    path = Path(path)
    if not path.is_dir():
        raise ConvertError(f"set folder {path} does not exist; pass a folder like images/set1")
    try:
        capture_set = read_set(path)
    except OSError as exc:
        raise ConvertError(f"cannot read set folder {path} ({exc.strerror}); fix its permissions") from None
    if not capture_set.frames:
        raise ConvertError(f"{path} holds no frames (0.png, 1.png, ...); is it a capture set folder?")
    return capture_set


def image_size(frame: CaptureFrame, fallback: Optional[Tuple[int, int]] = None) -> Tuple[int, int]:
    """(height, width) of the frame; the size recorded in K.json when the image can't be read."""
    try:
        return read_image(frame.image_path).shape[:2]
    except ValueError:
        if fallback:
            return fallback
        raise


# ---- per frame ------------------------------------------------------------------------------------------------
def mask_from_json(frame: CaptureFrame, label: str = DEFAULT_LABEL) -> str:
    """Rebuilds K_mask.png from K.json's label shapes; returns what happened (for the summary)."""
    annotation = read_labelme(json_path(frame), label)
    write_mask_atomic(mask_path(frame), rasterise(annotation.polygons, image_size(frame, annotation.image_size)))
    return "written"


def json_from_mask(frame: CaptureFrame, force: bool, epsilon: float = DEFAULT_EPSILON,
                   label: str = DEFAULT_LABEL) -> str:
    """Traces K_mask.png into K.json. With force, an existing K.json's label shapes are replaced by the traced
    ones and everything else in it (other labels, fields) is kept."""
    target = json_path(frame)
    existing = None
    if target.exists():
        if not force:
            return f"skipped: {target} exists (use --force to replace it)"
        try:
            existing = read_labelme(target, label)
        except CorruptAnnotation:
            quarantine(target)  # even with --force, a file we can't read is kept for the user
    mask = read_mask(mask_path(frame))
    write_labelme(target, polygons_from_mask(mask, epsilon=epsilon), frame.image_path.name, mask.shape, existing,
                  label)
    return "written"


def frame_polygons(frame: CaptureFrame, label: str = DEFAULT_LABEL) -> Optional[List[Polygon]]:
    """Polygons from K.json, else traced from K_mask.png; None when the frame has neither."""
    if json_path(frame).is_file():
        return read_labelme(json_path(frame), label).polygons
    if mask_path(frame).is_file():
        return polygons_from_mask(read_mask(mask_path(frame)))
    return None


# ---- COCO -----------------------------------------------------------------------------------------------------
def coco_segmentation(polygons: Sequence[Polygon], mask: np.ndarray):
    """Polygon lists when the shapes only add; compressed RLE of the final mask when holes cut into it."""
    if not any(p.subtract for p in polygons):
        return [[round(c, 2) for point in p.points for c in point] for p in polygons]
    from pycocotools import mask as coco_mask
    rle = coco_mask.encode(np.asfortranarray((mask > 0).astype(np.uint8)))
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def coco_from_sets(set_dirs: Sequence[Path], label: str = DEFAULT_LABEL) -> Tuple[dict, List[str]]:
    sets = [load_set(d) for d in set_dirs]
    root = Path(os.path.commonpath([str(s.path.resolve().parent) for s in sets]))
    images, annotations, problems = [], [], []
    frames = [(s, f) for s in sets for f in s.frames]
    for capture_set, frame in tqdm(frames, desc="coco", unit="frame", disable=len(frames) < 50):
        try:
            polygons = frame_polygons(frame, label)
            if polygons is None:
                continue  # not annotated: left out rather than exported as "no person"
            height, width = image_size(frame)
        except (CorruptAnnotation, ValueError) as exc:
            problems.append(str(exc))
            continue
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": str(frame.image_path.resolve().relative_to(root)),
                       "width": int(width), "height": int(height)})
        mask = rasterise(polygons, (height, width))
        if not mask.any():
            continue
        ys, xs = np.nonzero(mask)
        annotations.append({
            "id": len(annotations) + 1, "image_id": image_id, "category_id": coco_category(label)["id"],
            "segmentation": coco_segmentation(polygons, mask),
            "area": float(len(xs)),
            "bbox": [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)],
            "iscrowd": 0,
        })
    document = {"info": {"description": "Backplate capture sets"}, "images": images, "annotations": annotations,
                "categories": [coco_category(label)]}
    return document, problems


# ---- commands -------------------------------------------------------------------------------------------------
def run_per_frame(set_dir: Path, needs: str, work) -> int:
    """Applies work(frame) to frames that have `needs` ('json' or 'mask'); prints a summary; returns error count."""
    capture_set = load_set(set_dir)
    locate = json_path if needs == "json" else mask_path
    frames = [f for f in capture_set.frames if locate(f).is_file()]
    if not frames:
        print(f"{set_dir}: no frame has a {'K.json' if needs == 'json' else 'K_mask.png'}; nothing to do")
        return 0
    written, errors = 0, 0
    for frame in tqdm(frames, desc=str(set_dir), unit="frame", disable=len(frames) < 50):
        try:
            outcome = work(frame)
        except (CorruptAnnotation, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            errors += 1
            continue
        if outcome == "written":
            written += 1
        else:
            print(f"{frame.image_path.name}: {outcome}")
    print(f"{set_dir}: {written} written, {len(frames) - written - errors} skipped, {errors} failed")
    return errors


def roundtrip_iou(set_dir: Path, label: str = DEFAULT_LABEL) -> Tuple[List[float], List[str]]:
    """json-from-masks then masks-from-json on a temporary copy: (IoU per masked frame against its original mask,
    problems). An unreadable mask is named in the problems and left out."""
    capture_set = load_set(set_dir)
    problems, scores = [], []
    with tempfile.TemporaryDirectory() as temp:
        copy = Path(temp) / capture_set.path.name
        copy.mkdir()
        originals = {}
        for frame in capture_set.frames:
            if frame.mask_path is None:
                continue
            try:
                originals[frame.index] = read_mask(frame.mask_path)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            shutil.copy2(frame.image_path, copy / frame.image_path.name)
            shutil.copy2(frame.mask_path, copy / frame.mask_path.name)
        for frame in read_set(copy).frames:
            json_from_mask(frame, force=False, label=label)
            mask_from_json(frame, label)
            scores.append(iou(read_mask(mask_path(frame)), originals[frame.index]))
    return scores, problems


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--label", type=label_argument, default=DEFAULT_LABEL,
                        help=f"label of the shapes that paint the mask; LABEL{HOLE_SUFFIX} shapes cut it, other "
                             f"labels are kept untouched (default {DEFAULT_LABEL})")
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("masks-from-json", parents=[common], help="rebuild every K_mask.png from its K.json")
    command.add_argument("set_dir", type=Path, metavar="SETDIR")
    command = commands.add_parser("json-from-masks", parents=[common],
                                  help="trace every K_mask.png into K.json polygons (holes kept)")
    command.add_argument("set_dir", type=Path, metavar="SETDIR")
    command.add_argument("--force", action="store_true",
                         help="replace the label's polygons in existing K.json files, keeping their other shapes "
                              "(unreadable files are kept as K.json.bad)")
    command.add_argument("--epsilon", type=non_negative_float, default=DEFAULT_EPSILON,
                         help=f"polygon simplification tolerance in pixels (default {DEFAULT_EPSILON})")
    command = commands.add_parser("coco", parents=[common],
                                  help="export COCO instance segmentation (one LABEL instance per annotated frame)")
    command.add_argument("set_dirs", type=Path, nargs="+", metavar="SETDIR")
    command.add_argument("--out", type=Path, required=True, metavar="FILE.json")
    command = commands.add_parser("roundtrip", parents=[common],
                                  help="measure json-from-masks + masks-from-json IoU on a temp copy")
    command.add_argument("set_dirs", type=Path, nargs="+", metavar="SETDIR")
    return parser


def check_output_file(path: Path, flag: str) -> None:
    if path.is_dir():
        raise ConvertError(f"{flag} {path} is a folder; pass a file name such as {path / 'coco.json'}")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ConvertError(f"{flag} {path}: cannot write there ({folder} is not a writable folder); "
                           f"pass a file in a folder you can write to")


def run_roundtrip(set_dirs: Sequence[Path], label: str) -> int:
    print(f"{'set':<10} {'frames':>6} {'min IoU':>8} {'mean IoU':>9}")
    failed = 0
    for set_dir in set_dirs:
        scores, problems = roundtrip_iou(set_dir, label)
        for problem in problems:
            print(f"error: {problem}; left out", file=sys.stderr)
        failed += len(problems)
        if scores:
            print(f"{Path(set_dir).name:<10} {len(scores):>6} {min(scores):>8.4f} {np.mean(scores):>9.4f}")
        else:
            print(f"{Path(set_dir).name:<10} {0:>6} {'-':>8} {'-':>9}")
    return 1 if failed else 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "masks-from-json":
            return 1 if run_per_frame(args.set_dir, "json", lambda f: mask_from_json(f, args.label)) else 0
        if args.command == "json-from-masks":
            return 1 if run_per_frame(args.set_dir, "mask",
                                      lambda f: json_from_mask(f, args.force, args.epsilon, args.label)) else 0
        if args.command == "coco":
            check_output_file(args.out, "--out")
            document, problems = coco_from_sets(args.set_dirs, args.label)
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
            atomic_write_bytes(args.out, json.dumps(document).encode("utf-8"))
            print(f"{args.out}: {len(document['images'])} images, {len(document['annotations'])} annotations")
            return 1 if problems else 0
        if args.command == "roundtrip":
            return run_roundtrip(args.set_dirs, args.label)
    except ConvertError as exc:
        return report_usage_error(exc, PROG)
    return 2


if __name__ == "__main__":
    sys.exit(main())
