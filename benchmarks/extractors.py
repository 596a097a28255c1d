"""The image-to-image extractors beside their baselines, on held-out data, in the same run.

    python -m benchmarks.extractors garment --data ../shared/data/tryon
    python -m benchmarks.extractors garment --data ../shared/data/tryon --model runs/tryon_pix2pix/last.pt \
        --l1-model runs/tryon_l1/last.pt --segmenter runs/garment_seg/last.pt --grid docs/garment_extractor.png
    python -m benchmarks.extractors person --data ../shared/data/webcam_sets --sets 4,9,16,20

garment: the pairs held out by pair id (the trainer's --val-fraction 0.1, the same ids every run). Each method
gets the person photo and the worn-garment mask from the parse map (labels 5, 6, 7); "from photo alone" uses the
garment segmenter's mask instead. Measures against the product photo: the silhouette IoU (pixels away from white
against the product mask), and L1 and SSIM inside the product mask's bounding box. Baselines: a blank white image,
the worn garment cut out and centred on white, and the L1-only U-Net (same generator, same steps). The segmenter's
own IoU against the parse mask is printed too.

person: held-out webcam sets (default 4, 9, 16, 20, as the trainer holds out) and/or held-out portraits
(--held-out 0.1 --split-seed 0, as the trainer's --val-fraction splits them). Measures: the silhouette IoU of the
output against the true mask, and L1 on the true person's pixels (against the photo). Baseline: the shipped
single-frame mask network's cut-out (mask > 0.5, photo pixels on white).

Timings are median milliseconds per image on this machine's CPU (its instruction set is printed); under shared
load they move, so compare only rows of one run.
"""
import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import cv2
import numpy as np
import torch
from tqdm import tqdm

from benchmarks._table import format_number, print_table
from commandline import ArgumentParser
from fileio.atomic_files import write_png
from fileio.capture_sets import list_sets, read_image, read_mask, split_portraits
from metrics import image_metrics
from metrics.mask_metrics import iou
from models.checkpoint import DEFAULT_WEIGHTS, CheckpointError
from process_settings import configure_process


def cpu_isa() -> str:
    check = getattr(torch.backends.cpu, "get_cpu_capability", None)
    return check() if check else "unknown"


class Method:
    """One row of a table: a name, a function, the per-image figures and timings it collected."""

    def __init__(self, name: str, run: Callable, short: str = ""):
        self.name, self.run, self.short = name, run, short or name
        self.rows: List[Dict[str, float]] = []
        self.times: List[float] = []

    def __call__(self, *inputs):
        start = time.perf_counter()
        output = self.run(*inputs)
        self.times.append((time.perf_counter() - start) * 1000.0)
        return output

    def mean(self, key: str) -> Optional[float]:
        values = [row[key] for row in self.rows if key in row]
        return float(np.mean(values)) if values else None

    def ms(self) -> Optional[float]:
        return float(np.median(self.times)) if self.times else None


def garment_figures(output: np.ndarray, product: np.ndarray, product_mask: np.ndarray) -> Dict[str, float]:
    box = image_metrics.bounding_box(product_mask)
    return {"iou": iou(image_metrics.silhouette(output), product_mask),
            "box_l1": image_metrics.l1(output, product, box=box),
            "box_ssim": image_metrics.ssim(output, product, box=box)}


def write_grid(path: Path, rows: List[List[np.ndarray]], labels: List[str], cell_height: int = 0) -> None:
    from models.gan.imaging import picture_grid
    write_png(path, picture_grid(rows, labels, cell_height))


# ---- garment ----------------------------------------------------------------------------------------------------
def held_out_pairs(folder: Path, share: float) -> List[str]:
    from models.gan.tryon import is_held_out, pair_id
    return sorted(pair_id(p) for p in (folder / "image").iterdir()
                  if p.suffix == ".jpg" and is_held_out(pair_id(p), share))


def garment(args) -> int:
    from models.gan.extractors import GarmentExtractor, GarmentSegmenter
    from models.gan.imaging import centred_cutout, garment_mask_from_labels, read_labels

    folder = Path(args.data)
    pair_ids = held_out_pairs(folder, args.held_out)
    if args.limit:
        pair_ids = pair_ids[:args.limit]
    if not pair_ids:
        print(f"error: no held-out pairs found in {folder}", file=sys.stderr)
        return 2
    blank = np.full((256, 192, 3), 255, np.uint8)
    methods = [Method("blank white image", lambda person, mask: blank),
               Method("worn garment cut out, centred", lambda person, mask: centred_cutout(person, mask), "cut-out"),
               Method("cut out, centred, scaled to 90 % of the frame",
                      lambda person, mask: centred_cutout(person, mask, fill=0.9), "scaled cut-out")]
    if args.l1_model:
        l1_extractor = GarmentExtractor(args.l1_model, "cpu")
        methods.append(Method("L1-only U-Net (same size, same steps)", l1_extractor.extract, "L1 only"))
    extractor = GarmentExtractor(args.model, "cpu")
    ours = Method("pix2pix (ours)", extractor.extract, "pix2pix")
    methods.append(ours)
    segmenter = None
    if args.segmenter != "none":
        try:
            segmenter = GarmentSegmenter(args.segmenter, "cpu")
        except CheckpointError as exc:
            print(f"note: no garment segmenter ({exc}); the photo-alone row is left out", file=sys.stderr)
    from_photo = Method("pix2pix from photo alone (segmenter mask)", extractor.extract, "photo alone")
    segmenter_ious, segmenter_times, ceiling_ious, grid = [], [], [], []
    for pair_id in tqdm(pair_ids, desc="held-out pairs", dynamic_ncols=True):
        person = read_image(folder / "image" / f"{pair_id}_0.jpg")
        mask = garment_mask_from_labels(read_labels(folder / "image-parse" / f"{pair_id}_0.png"))
        product = read_image(folder / "cloth" / f"{pair_id}_1.jpg")
        product_mask = read_mask(folder / "cloth-mask" / f"{pair_id}_1.png")
        ceiling_ious.append(iou(image_metrics.silhouette(product), product_mask))
        outputs = []
        for method in methods:
            output = method(person, mask)
            method.rows.append(garment_figures(output, product, product_mask))
            outputs.append(output)
        if segmenter is not None:
            start = time.perf_counter()
            predicted = segmenter.mask(person)
            segmenter_times.append((time.perf_counter() - start) * 1000.0)
            segmenter_ious.append(iou(predicted, mask))
            output = from_photo(person, predicted)
            from_photo.rows.append(garment_figures(output, product, product_mask))
            outputs.append(output)
        if len(grid) < args.grid_rows:
            shown = person.copy()
            shown[~mask] = (shown[~mask] * 0.35 + 255 * 0.1).astype(np.uint8)
            grid.append([shown] + outputs[1:] + [product])  # the blank image is left out
    if segmenter is not None:
        methods.append(from_photo)
    print(f"garment extractor: {len(pair_ids)} held-out try-on pairs of {folder} (ids never trained on); "
          f"CPU ISA {cpu_isa()}, {torch.get_num_threads()} thread(s)")
    ceiling = np.mean(ceiling_ious)
    print_table(["method", "silhouette IoU", "box L1", "box SSIM", "ms/image"],
                [[m.name, format_number(m.mean("iou")), format_number(m.mean("box_l1")),
                  format_number(m.mean("box_ssim")), format_number(m.ms(), 1)] for m in methods]
                + [["the real product photo (ceiling of the silhouette IoU)", format_number(ceiling), "0.000",
                    "1.000", "n/a"]])
    if segmenter is not None:
        print_table(["garment segmenter", "mask IoU vs parse labels 5,6,7", "ms/image"],
                    [["single-frame U-Net on parse maps", format_number(float(np.mean(segmenter_ious))),
                      format_number(float(np.median(segmenter_times)), 1)]])
    if args.grid:
        labels = ["input + mask"] + [m.short for m in methods[1:]] + ["product"]
        write_grid(Path(args.grid), grid, labels)
        print(f"grid: {args.grid}")
    print(f"iou={ours.mean('iou'):.3f} box_l1={ours.mean('box_l1'):.3f} box_ssim={ours.mean('box_ssim'):.3f}")
    return 0


# ---- person -----------------------------------------------------------------------------------------------------
def person_items(args):
    """(name, photo path, mask path, group) of the held-out frames and photos."""
    items, portrait_folders = [], []
    for folder in map(Path, args.data):
        sets = list_sets(folder)
        if not sets:
            portrait_folders.append(folder)  # split below in one call, in the order given, as the trainer does
        else:
            wanted = {int(s) for s in args.sets.split(",")} if args.sets else None
            for capture in sets:
                if wanted is not None and capture.number not in wanted:
                    continue
                for frame in [f for f in capture.frames if f.mask_path is not None]:
                    items.append((f"set{capture.number}/{frame.index}", frame.image_path, frame.mask_path,
                                  f"webcam sets {args.sets}"))
    for portrait_folder, _, held in split_portraits(portrait_folders, args.held_out, args.split_seed):
        for sample in held:
            items.append((f"{portrait_folder.name}/{sample.image_path.stem}", sample.image_path,
                          sample.mask_path, f"{portrait_folder.name} held out"))
    return items[::args.every] if args.every > 1 else items


def person(args) -> int:
    from models.gan.extractors import MaskNet, PersonExtractor
    from models.gan.imaging import white_cutout

    items = person_items(args)
    if not items:
        print("error: no held-out frames found; check --data and --sets", file=sys.stderr)
        return 2
    extractor = PersonExtractor(args.model, "cpu")
    methods = [Method("single-frame mask net cut-out (baseline)", MaskNet(args.single, "cpu").cutout),
               Method("pix2pix extractor, photo pixels (ours)", extractor.extract),
               Method("pix2pix extractor, raw output", lambda image: extractor.extract(image, keep_pixels=False))]
    groups: Dict[str, Dict[str, List[Dict[str, float]]]] = {}
    grid, empty = [], 0
    shown = set(np.linspace(0, len(items) - 1, args.grid_rows).astype(int).tolist())  # spread over the data
    for number, (name, image_path, mask_path, group) in enumerate(tqdm(items, desc="held-out frames",
                                                                       dynamic_ncols=True)):
        image = read_image(image_path)
        truth = read_mask(mask_path)
        if truth.shape != image.shape[:2]:
            truth = cv2.resize(truth.astype(np.uint8), image.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
        if not truth.any():
            empty += 1  # people-free frames (a set's last frame is its plate): no person to keep
            continue
        outputs = []
        for method in methods:
            output = method(image)
            row = {"iou": iou(image_metrics.silhouette(output), truth),
                   "person_l1": image_metrics.l1(output, image, where=truth)}
            method.rows.append(row)
            groups.setdefault(group, {}).setdefault(method.name, []).append(row)
            outputs.append(output)
        if number in shown:
            grid.append([image] + outputs + [white_cutout(image, truth)])
    print(f"human extractor: {len(items) - empty} held-out photos/frames with a person ({empty} people-free "
          f"frames left out); CPU ISA {cpu_isa()}, "
          f"{torch.get_num_threads()} thread(s)")
    rows = []
    for group, by_method in groups.items():
        for method in methods:
            found = by_method[method.name]
            rows.append([f"{group}: {method.name}", format_number(float(np.mean([r["iou"] for r in found]))),
                         format_number(float(np.mean([r["person_l1"] for r in found]))),
                         format_number(method.ms(), 1)])
    print_table(["data: method", "silhouette IoU", "L1 on person pixels", "ms/image"], rows)
    if args.grid:
        write_grid(Path(args.grid), grid, ["photo", "mask net cut-out", "ours", "ours raw", "truth"], 240)
        print(f"grid: {args.grid}")
    ours = methods[1]
    print(f"iou={ours.mean('iou'):.3f} person_l1={ours.mean('person_l1'):.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m benchmarks.extractors", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    commands = parser.add_subparsers(dest="task", required=True, metavar="TASK")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", metavar="CKPT", help="our generator (default: the shipped weights)")
    common.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    common.add_argument("--grid", metavar="PNG", help="write a picture grid of the first held-out examples")
    common.add_argument("--grid-rows", type=int, default=4, help="examples in the grid (default 4)")
    one = commands.add_parser("garment", parents=[common], help="garment extractor on held-out try-on pairs")
    one.add_argument("--data", type=Path, required=True, help="try-on folder")
    one.add_argument("--held-out", type=float, default=0.1, help="the trainer's --val-fraction (default 0.1)")
    one.add_argument("--l1-model", metavar="CKPT", help="the L1-only baseline checkpoint")
    one.add_argument("--segmenter", default="default", metavar="CKPT",
                     help="garment segmenter for the photo-alone row (default: shipped; 'none' to skip)")
    one.add_argument("--limit", type=int, default=0, help="only the first N held-out pairs")
    one.set_defaults(run=garment)
    two = commands.add_parser("person", parents=[common], help="human extractor on held-out frames and photos")
    two.add_argument("--data", type=Path, action="append", required=True,
                     help="a folder of capture sets or a portrait folder; repeatable")
    two.add_argument("--sets", default="4,9,16,20", help="held-out capture sets (default 4,9,16,20)")
    two.add_argument("--held-out", type=float, default=0.1, help="portrait share held out (default 0.1)")
    two.add_argument("--split-seed", type=int, default=0)
    two.add_argument("--every", type=int, default=1, help="take every Nth item (default 1: all)")
    two.add_argument("--single", default=str(DEFAULT_WEIGHTS["single"]),
                     help="the single-frame mask network for the baseline (default: shipped single.pt)")
    two.set_defaults(run=person)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    configure_process(threads=args.threads or None, quiet_opencv=True)
    try:
        return args.run(args)
    except (CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
