"""python -m tools.pairs: pair each person image of DIR_A with the image of DIR_B whose pose is most alike.

Both folders are searched recursively (e.g. two tools.patches output folders). PoseNet finds the person in each
image; only images of the same view class (models.view_classes) are compared. The similarity is the cosine of the
two normalised keypoint vectors, weighted by the share of keypoints seen in both (models.pose_similarity): 1 means
the same pose, whatever the person's position and size in the image.

Writes a CSV with columns a,b,view,similarity (the best B for each A at or above --min-similarity, best pairs
first) and a contact sheet PNG of the top pairs (A | B, skeletons drawn; each B image once). tools.prepare combine (the extractor
tools) turns the pairs into A|B training images.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from fileio.atomic_files import atomic_write_bytes, write_png
from commandline import ArgumentParser, UsageError, positive_int, run_command
from tools.views import csv_bytes, list_images, load_posenet

EXIT_OK, EXIT_SOME_FAILED = 0, 1

EXAMPLES = """examples:
  python -m tools.pairs real_patches/ game_patches/ --out pairs.csv           # also writes pairs.png
  python -m tools.pairs real/ game/ --out pairs.csv --min-similarity 0.9 --sheet top.png --top 24

exit codes: 0 done, 1 some images could not be read (each is named and skipped), 2 bad arguments."""


def analyse_folder(folder: Path, classifier, show_progress: bool, label: str):
    """(paths, view results, failures) for the images under folder."""
    from tqdm import tqdm

    paths, results, failures = [], [], []
    for path in tqdm(list_images(folder), desc=f"poses {label}", unit="img", disable=not show_progress,
                     dynamic_ncols=True):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            failures.append(f"{path}: cannot read the image")
            continue
        paths.append(path)
        results.append(classifier.classify(image))
    return paths, results, failures


def pair_sheet(pairs: Sequence[Tuple[Path, Path, str, float]], results_a: dict, results_b: dict,
               tile: int = 160, columns: int = 2) -> np.ndarray:
    """Rows of A | B tiles with skeletons and the similarity."""
    from tools.contact_sheets import captioned, draw_pose, grid

    def fitted(path: Path, pose) -> np.ndarray:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        scale = tile / max(image.shape[:2])
        small = cv2.resize(image, (int(round(image.shape[1] * scale)), int(round(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
        small = cv2.copyMakeBorder(small, 0, tile - small.shape[0], 0, tile - small.shape[1], cv2.BORDER_CONSTANT,
                                   value=(32, 32, 32))
        return draw_pose(small, pose, scale=scale)

    cells = []
    for a, b, view, similarity in pairs:
        pair = np.hstack([fitted(a, results_a[a].pose), np.full((tile, 2, 3), 255, np.uint8),
                          fitted(b, results_b[b].pose)])
        cells.append(captioned(pair, f"{similarity:.3f} {view}"))
    return grid(cells, min(columns, len(cells)), gap=8)


def sheet_pairs(pairs: Sequence[Tuple[Path, Path, str, float]], count: int) -> List[Tuple[Path, Path, str, float]]:
    """The best pairs for the contact sheet, each B image once: a few B images tend to be every A's best match
    (a common standing pose), and showing them once leaves room for other poses."""
    shown, chosen = set(), []
    for pair in pairs:
        if pair[1] not in shown:
            shown.add(pair[1])
            chosen.append(pair)
        if len(chosen) == count:
            break
    return chosen


def run(args) -> int:
    from models.pose_similarity import best_matches, pose_vectors
    from models.view_classes import UNKNOWN, ViewClassifier

    for folder in (args.dir_a, args.dir_b):
        if not folder.is_dir():
            raise UsageError(f"{folder} is not a folder; give two folders of person images")
    sheet = args.sheet if args.sheet is not None else args.out.with_suffix(".png")
    for target in (args.out, sheet):
        if target.exists() and not args.force:
            raise UsageError(f"{target} exists; pass --force to replace it, or choose another path")
    classifier = ViewClassifier(load_posenet(args.posenet_weights))
    show = not args.no_progress
    paths_a, results_a, failures_a = analyse_folder(args.dir_a, classifier, show, "A")
    paths_b, results_b, failures_b = analyse_folder(args.dir_b, classifier, show, "B")
    if not paths_a or not paths_b:
        empty = args.dir_a if not paths_a else args.dir_b
        raise UsageError(f"{empty} holds no readable images")
    vectors_a = pose_vectors([r.pose for r in results_a])
    vectors_b = pose_vectors([r.pose for r in results_b])
    # UNKNOWN (no person found) pairs with nothing: give each side a group the other never has.
    views_a = [r.view if r.view != UNKNOWN else "\0a" for r in results_a]
    views_b = [r.view if r.view != UNKNOWN else "\0b" for r in results_b]
    matches = best_matches(vectors_a, vectors_b, views_a, views_b, args.min_similarity)
    matches.sort(key=lambda m: (-m.similarity, m.a))
    pairs = [(paths_a[m.a], paths_b[m.b], results_a[m.a].view, m.similarity) for m in matches]
    atomic_write_bytes(args.out, csv_bytes(("a", "b", "view", "similarity"),
                                           [(str(a), str(b), v, f"{s:.4f}") for a, b, v, s in pairs]))
    print(f"{len(pairs)} pair(s) of {len(paths_a)} A image(s) at similarity >= {args.min_similarity} -> {args.out}",
          file=sys.stderr)
    if pairs:
        image = pair_sheet(sheet_pairs(pairs, args.top), dict(zip(paths_a, results_a)), dict(zip(paths_b, results_b)))
        write_png(sheet, image)
        print(f"contact sheet of the best pairs, each B image once -> {sheet}", file=sys.stderr)
    failures = failures_a + failures_b
    for failure in failures:
        print(f"skipped: {failure}", file=sys.stderr)
    return EXIT_SOME_FAILED if failures else EXIT_OK


def _similarity(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a number") from None
    if not -1.0 <= value <= 1.0:
        raise UsageError(f"{text!r}: give a similarity from -1 to 1, e.g. 0.9")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m tools.pairs", description=__doc__.split("\n\n", 1)[1].rstrip(),
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir_a", type=Path, metavar="DIR_A", help="folder of person images, side A")
    parser.add_argument("dir_b", type=Path, metavar="DIR_B", help="folder of person images, side B")
    parser.add_argument("--out", type=Path, default=Path("pairs.csv"), help="CSV a,b,view,similarity "
                                                                             "(default pairs.csv)")
    parser.add_argument("--min-similarity", type=_similarity, default=0.8,
                        help="keep a pair from this similarity on, -1..1 (default 0.8)")
    parser.add_argument("--sheet", type=Path, metavar="PNG", help="contact sheet (default: --out with .png)")
    parser.add_argument("--top", type=positive_int, default=16,
                        help="pairs on the contact sheet, the best ones, each B image once (default 16)")
    parser.add_argument("--posenet-weights", metavar="PATH",
                        help="PoseNet .pth (default: the shipped or cached one, see python -m models.posenet)")
    parser.add_argument("--force", action="store_true", help="replace an existing --out or sheet")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: PyTorch's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from process_settings import configure_process

    configure_process(threads=args.threads, quiet_opencv=True)
    return run_command(run, args, "python -m tools.pairs", "nothing was written")


if __name__ == "__main__":
    sys.exit(main())
