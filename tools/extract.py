"""python -m tools.extract: the image-to-image extractors, offline, on CPU or CUDA.

  garment --data DIR --out OUT         every DIR/image/NNNNNN_0.jpg of a try-on folder -> OUT/NNNNNN_1.png (192x256);
                                       the garment mask comes from DIR/image-parse/ when it is there, else from the
                                       garment segmenter
  garment IMAGE --mask MASK --out OUT  one photo and its garment mask (0/255 PNG, or a parse map: labels 5, 6, 7)
  garment IMAGE... --out OUT           photos alone: the garment segmenter finds the worn garment first
  person IMAGE... --out OUT            OUT/NAME.png, the photo with only the person kept, on white, same size
                                       (--method mask-net: cut out by the single-frame mask network instead)

Existing outputs are kept unless --force. An unreadable input is named and skipped; the exit code is then 1.
"""
import argparse
import sys
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np

from commandline import ArgumentParser, UsageError, report_usage_error
from fileio.atomic_files import write_png
from fileio.capture_sets import IMAGE_SUFFIXES, read_image
from models.checkpoint import CheckpointError
from process_settings import configure_process

PROG = "python -m tools.extract"
EXIT_SOME_FAILED = 1



def read_garment_mask(path: Path, image_hw) -> np.ndarray:
    """A garment mask from a 0/255 mask PNG or a parse map (palette or grayscale labels 0..19)."""
    from PIL import Image

    from models.gan.imaging import garment_mask_from_labels
    try:
        with Image.open(path) as picture:
            mode = picture.mode
            array = np.array(picture)
    except OSError as exc:
        raise ValueError(f"cannot read mask {path}: {exc}") from exc
    values = array[:, :, 0] if array.ndim == 3 else array
    if mode == "P" or 1 < values.max() <= 19:  # class labels, not a 0/255 mask
        mask = garment_mask_from_labels(values)
    else:
        mask = values > (0 if values.max() <= 1 else 127)
    if mask.shape != tuple(image_hw):
        raise ValueError(f"mask {path} is {mask.shape[1]}x{mask.shape[0]} but its photo is {image_hw[1]}x{image_hw[0]}; "
                         f"pass the mask made for this photo")
    return mask


def write_new_png(path: Path, image: np.ndarray, force: bool) -> bool:
    """Writes image unless path exists and not force; True when written."""
    if path.exists() and not force:
        return False
    write_png(path, image)
    return True


def product_name(person: Path) -> str:
    """NNNNNN_0.jpg (a try-on person photo) -> NNNNNN_1.png, as the product photo is named; else NAME.png."""
    stem = person.stem
    return f"{stem[:-2]}_1.png" if stem.endswith("_0") else f"{stem}.png"


def expand_inputs(paths: List[Path]) -> List[Path]:
    """Files as given; folders contribute their images, in name order."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    return files


def run_batch(items: list, work: Callable, description: str, progress: bool = True) -> int:
    """work(item) for each item: True written, False kept; a ValueError or OSError names the item and skips it."""
    from tqdm import tqdm
    written = kept = 0
    failed = []
    for item in tqdm(items, desc=description, unit="image", dynamic_ncols=True, disable=not progress or len(items) < 2):
        try:
            if work(item):
                written += 1
            else:
                kept += 1
        except (ValueError, OSError) as exc:
            failed.append(str(exc))
            tqdm.write(f"skipped: {exc}", file=sys.stderr)
    parts = [f"{written} written"]
    if kept:
        parts.append(f"{kept} existing kept (use --force to overwrite)")
    if failed:
        parts.append(f"{len(failed)} failed")
    print(", ".join(parts))
    return EXIT_SOME_FAILED if failed else 0


def garment(args) -> int:
    from models.gan.extractors import GarmentExtractor, GarmentSegmenter

    if args.data is not None and args.images:
        raise UsageError("pass either --data DIR (a try-on folder) or IMAGE files, not both")
    if args.data is None and not args.images:
        raise UsageError("nothing to do: pass --data DIR (a try-on folder) or one or more IMAGE files")
    if args.mask is not None and len(args.images) != 1:
        raise UsageError("--mask goes with exactly one IMAGE; for many photos use --data DIR, or leave --mask out "
                         "to let the garment segmenter find each garment")
    if args.data is not None:
        folder = Path(args.data)
        if not (folder / "image").is_dir():
            raise UsageError(f"--data {folder}: expected a try-on folder with image/ (and image-parse/)")
        people = sorted(p for p in (folder / "image").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not people:
            raise UsageError(f"--data {folder}: image/ holds no photos")
        parse_for = lambda person: folder / "image-parse" / f"{person.stem}.png"  # noqa: E731
    else:
        people = expand_inputs(args.images)
        parse_for = lambda person: args.mask  # noqa: E731
    extractor = GarmentExtractor(args.model, args.device)
    segmenter: Optional[GarmentSegmenter] = None
    needs_segmenter = any(parse_for(p) is None or not Path(parse_for(p)).is_file() for p in people)
    if args.mask is not None and not Path(args.mask).is_file():
        raise UsageError(f"--mask {args.mask} does not exist")
    if needs_segmenter:
        segmenter = GarmentSegmenter(args.segmenter, args.device)
    out = Path(args.out)

    def work(person: Path) -> bool:
        image = read_image(person)
        mask_path = parse_for(person)
        if mask_path is not None and Path(mask_path).is_file():
            mask = read_garment_mask(Path(mask_path), image.shape[:2])
        else:
            mask = segmenter.mask(image)
        if not mask.any():
            raise ValueError(f"{person}: no garment found in its mask; pass a mask with --mask")
        return write_new_png(out / product_name(person), extractor.extract(image, mask), args.force)

    return run_batch(people, work, "extracting garments")


def person(args) -> int:
    from models.gan.extractors import PersonExtractor

    images = expand_inputs(args.images)
    if not images:
        raise UsageError("nothing to do: pass one or more IMAGE files or folders of images")
    out = Path(args.out)
    if args.method == "mask-net":
        from models.gan.extractors import MaskNet
        cut = MaskNet(args.model, args.device).cutout
    else:
        extractor = PersonExtractor(args.model, args.device)
        cut = lambda image: extractor.extract(image, keep_pixels=not args.raw)  # noqa: E731

    def work(path: Path) -> bool:
        return write_new_png(out / f"{path.stem}.png", cut(read_image(path)), args.force)

    return run_batch(images, work, "extracting people")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    common.add_argument("--model", metavar="CKPT", help="generator checkpoint (default: the shipped weights)")
    common.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    common.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: PyTorch's choice)")
    common.add_argument("--force", action="store_true", help="overwrite existing outputs")

    one = commands.add_parser("garment", parents=[common], help="person photo (+ garment mask) -> product photo")
    one.add_argument("images", nargs="*", type=Path, metavar="IMAGE", help="person photos (or folders of them)")
    one.add_argument("--data", type=Path, metavar="DIR", help="a try-on folder: image/, image-parse/")
    one.add_argument("--mask", type=Path, metavar="MASK",
                     help="the garment mask of the one IMAGE: 0/255 PNG or a parse map (labels 5, 6, 7)")
    one.add_argument("--segmenter", metavar="CKPT",
                     help="garment segmenter checkpoint, used where no mask is given (default: shipped weights)")
    one.set_defaults(run=garment)

    two = commands.add_parser("person", parents=[common], help="photo -> only the person, on white")
    two.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="photos (or folders of them)")
    two.add_argument("--method", choices=["pix2pix", "mask-net"], default="pix2pix",
                     help="pix2pix: the image-to-image extractor (default); mask-net: the single-frame mask "
                          "network's cut-out (with --model, a single-frame checkpoint)")
    two.add_argument("--raw", action="store_true",
                     help="write the generator's own output (upscaled) instead of the photo's pixels under it")
    two.set_defaults(run=person)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_process(threads=args.threads or None, quiet_opencv=True)
    try:
        return args.run(args)
    except (UsageError, CheckpointError) as exc:
        return report_usage_error(exc, PROG)


if __name__ == "__main__":
    sys.exit(main())
