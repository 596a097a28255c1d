"""python -m tools.views: name the view of the person in each image of a folder (e.g. tools.patches' patches).

Views: FULL-BODY-FRONT, HEAD-AND-SHOULDER-FRONT, FULL-BODY-BACK, HEAD-AND-SHOULDER-BACK, from PoseNet keypoints
(models.view_classes); UNKNOWN when PoseNet finds nobody. Images are found in DIR and its subfolders.

Writes a CSV with columns path,view (path as found under DIR). --sort also copies each image into a folder per
view; --sheet draws a contact sheet of a few images per view, with their skeletons.
"""
import argparse
import csv
import io
import shutil
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import cv2
import numpy as np

from commandline import ArgumentParser, UsageError, positive_int, run_command
from fileio.atomic_files import atomic_path, atomic_write_bytes, write_png
from fileio.capture_sets import IMAGE_SUFFIXES

EXIT_OK, EXIT_SOME_FAILED = 0, 1

EXAMPLES = """examples:
  python -m tools.views patches/ --out views.csv
  python -m tools.views patches/ --out views.csv --sort          # copies into patches_by_view/VIEW/
  python -m tools.views patches/ --out views.csv --sheet views.png --per-view 8

exit codes: 0 done, 1 some images could not be read (each is named and skipped), 2 bad arguments."""


SORT_BESIDE = Path("\0beside")  # --sort without a folder: DIR_by_view next to DIR


def list_images(folder: Path, exclude: Optional[Path] = None) -> List[Path]:
    """Images under folder (recursively, sorted), leaving out hidden files and anything under `exclude`."""
    found = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if exclude is not None and exclude in path.resolve().parents:
            continue
        found.append(path)
    return found


def load_posenet(weights: Optional[str]):
    """PoseNet from --posenet-weights or the standard lookup; UsageError with the fix otherwise."""
    from models.posenet import PoseNet, PoseNetWeightsError, require_weights

    try:
        return PoseNet.load(require_weights(
            weights, fix="pass --posenet-weights PATH or run python -m models.posenet.fetch"))
    except PoseNetWeightsError as exc:
        raise UsageError(str(exc)) from None


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def sorted_name(image: Path, folder: Path) -> str:
    """A file name that keeps images from different subfolders apart once they share one view folder."""
    return "__".join(image.relative_to(folder).parts)


def view_sheet(entries, per_view: int, tile: int = 160) -> np.ndarray:
    """One row per view: per_view of its images, spread evenly through the folder's order, with skeletons.
    entries: (path, ViewResult) for every image."""
    from models.view_classes import UNKNOWN, VIEWS
    from tools.contact_sheets import captioned, draw_pose, grid, heading

    rows = []
    for view in VIEWS + (UNKNOWN,):
        of_view = [e for e in entries if e[1].view == view]
        if not of_view:
            continue
        picks = sorted(set(np.linspace(0, len(of_view) - 1, min(per_view, len(of_view))).round().astype(int)))
        tiles = []
        for path, result in (of_view[i] for i in picks):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            scale = tile / max(image.shape[:2])
            small = cv2.resize(image, (int(round(image.shape[1] * scale)), int(round(image.shape[0] * scale))),
                               interpolation=cv2.INTER_AREA)
            small = cv2.copyMakeBorder(small, 0, tile - small.shape[0], 0, tile - small.shape[1],
                                       cv2.BORDER_CONSTANT, value=(32, 32, 32))
            tiles.append(captioned(draw_pose(small, result.pose, scale=scale), path.name[:24]))
        while len(tiles) < per_view:
            tiles.append(np.full_like(tiles[0], 32))
        body = grid(tiles, per_view)
        rows.append(np.vstack([heading(body.shape[1], f"{view} ({len(of_view)})"), body]))
    return np.vstack(rows)


def run(args) -> int:
    from tqdm import tqdm

    from models.view_classes import ViewClassifier

    folder = args.folder
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; give a folder of person images (e.g. tools.patches' --out)")
    for target in (args.out, args.sheet):
        if target is not None and target.exists() and not args.force:
            raise UsageError(f"{target} exists; pass --force to replace it, or choose another path")
    sort_dir = args.sort
    if sort_dir == SORT_BESIDE:
        sort_dir = folder.resolve().parent / f"{folder.resolve().name}_by_view"
    if sort_dir is not None and sort_dir.exists() and any(sort_dir.iterdir()) and not args.force:
        raise UsageError(f"--sort folder {sort_dir} is not empty; pass --force to add to it, or choose another")
    images = list_images(folder, exclude=sort_dir.resolve() if sort_dir else None)
    if not images:
        raise UsageError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    classifier = ViewClassifier(load_posenet(args.posenet_weights))
    rows, failures, entries = [], [], []
    for path in tqdm(images, desc="views", unit="img", disable=args.no_progress, dynamic_ncols=True):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            failures.append(f"{path}: cannot read the image")
            continue
        result = classifier.classify(image)
        rows.append((str(path), result.view))
        entries.append((path, result))
        if sort_dir is not None:
            target = sort_dir / result.view / sorted_name(path, folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as temp_name:
                shutil.copyfile(path, temp_name)
    atomic_write_bytes(args.out, csv_bytes(("path", "view"), rows))
    counts = {}
    for _, view in rows:
        counts[view] = counts.get(view, 0) + 1
    print(f"{len(rows)} image(s) -> {args.out}: " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())),
          file=sys.stderr)
    if args.sheet is not None and entries:
        write_png(args.sheet, view_sheet(entries, args.per_view))
        print(f"contact sheet -> {args.sheet}", file=sys.stderr)
    for failure in failures:
        print(f"skipped: {failure}", file=sys.stderr)
    return EXIT_SOME_FAILED if failures else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m tools.views", description=__doc__.split("\n\n", 1)[1].rstrip(),
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, metavar="DIR", help="a folder of person images (searched recursively)")
    parser.add_argument("--out", type=Path, default=Path("views.csv"), help="CSV path,view (default views.csv)")
    parser.add_argument("--sort", type=Path, nargs="?", const=SORT_BESIDE, metavar="FOLDER",
                        help="also copy each image into FOLDER/VIEW/ (default FOLDER: DIR_by_view beside DIR; "
                             "the originals stay where they are)")
    parser.add_argument("--sheet", type=Path, metavar="PNG",
                        help="also draw a contact sheet: a row of images of each view, spread through the folder")
    parser.add_argument("--per-view", type=positive_int, default=8, help="images per view on the sheet (default 8)")
    parser.add_argument("--posenet-weights", metavar="PATH",
                        help="PoseNet .pth (default: the shipped or cached one, see python -m models.posenet)")
    parser.add_argument("--force", action="store_true", help="replace an existing --out/--sheet, add to --sort")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: PyTorch's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from process_settings import configure_process

    configure_process(threads=args.threads, quiet_opencv=True)
    return run_command(run, args, "python -m tools.views", "no CSV was written (images already copied by --sort stay)")


if __name__ == "__main__":
    sys.exit(main())
