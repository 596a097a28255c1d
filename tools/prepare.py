"""python -m tools.prepare: data preparation for the image-to-image trainer.

  combine      A/ and B/ folders -> A|B images side by side (what `python -m training --model pix2pix` reads)
  split        a folder of images (or of A/ and B/) -> train/ and val/ subfolders, seeded
  downsample   the first N images of a folder (or N at random), resized
  tryon-masks  a try-on folder -> a portrait-style images/ + masks/ folder of the worn garment, for training the
               single-frame network as a garment segmenter (held-out pairs left out)

Every file is written atomically; existing files are kept unless --force. An unreadable image is named and
skipped, and the exit code is then 1.
"""
import argparse
import shutil
import sys
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Tuple

import cv2
import numpy as np

from commandline import ArgumentParser, UsageError, report_usage_error
from fileio.atomic_files import atomic_path, atomic_write_bytes
from fileio.capture_sets import IMAGE_SUFFIXES, read_image

PROG = "python -m tools.prepare"
EXIT_SOME_FAILED = 1
WRITE_SUFFIXES = (".png", ".jpg")



def image_files(folder: Path) -> List[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; pass a folder of images")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def parse_size(text: str) -> Tuple[Optional[int], Optional[int], Optional[int]]:
    """'256' -> long side 256; '192x256' -> exactly 192 wide, 256 high. Returns (long_side, width, height)."""
    try:
        if "x" in text.lower():
            width, height = (int(part) for part in text.lower().split("x"))
            if width < 1 or height < 1:
                raise ValueError
            return None, width, height
        long_side = int(text)
        if long_side < 1:
            raise ValueError
        return long_side, None, None
    except ValueError:
        raise UsageError(f"size {text!r}: expected a long side in pixels (256) or WIDTHxHEIGHT (192x256)")


def resized(image: np.ndarray, size) -> np.ndarray:
    long_side, width, height = size
    if long_side is not None:
        scale = long_side / max(image.shape[:2])
        width, height = max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))
    interpolation = cv2.INTER_AREA if width < image.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def write_image(path: Path, image: np.ndarray, force: bool) -> bool:
    """Writes atomically; False (and nothing written) when the file exists and force is off."""
    if path.exists() and not force:
        return False
    ok, encoded = cv2.imencode(path.suffix.lower(), image)
    if not ok:
        raise ValueError(f"cannot encode {path}")
    atomic_write_bytes(path, encoded.tobytes())
    return True


def copy_file(source: Path, destination: Path, force: bool) -> bool:
    if destination.exists() and not force:
        return False
    destination.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(destination) as temp_name:
        shutil.copyfile(source, temp_name)
    return True


class Tally:
    """Counts what a command did, names each failure once, and turns the outcome into the exit code."""

    def __init__(self):
        self.written, self.kept, self.failed = 0, 0, []

    def run(self, items: Iterable, work: Callable, description: str, total: int) -> None:
        from tqdm import tqdm
        for item in tqdm(items, total=total, desc=description, unit="file", dynamic_ncols=True):
            try:
                if work(item):
                    self.written += 1
                else:
                    self.kept += 1
            except (ValueError, OSError) as exc:
                self.failed.append(str(exc))
                tqdm.write(f"skipped: {exc}", file=sys.stderr)

    def finish(self, what: str) -> int:
        kept = f", {self.kept} existing kept (use --force to overwrite)" if self.kept else ""
        failed = f", {len(self.failed)} failed" if self.failed else ""
        print(f"{what}: {self.written} written{kept}{failed}")
        return EXIT_SOME_FAILED if self.failed else 0


# ---- combine ----------------------------------------------------------------------------------------------------
def combine(args) -> int:
    a_files = image_files(args.a)
    b_by_stem = {p.stem: p for p in image_files(args.b)}
    pairs = [(a, b_by_stem[a.stem]) for a in a_files if a.stem in b_by_stem]
    if not pairs:
        raise UsageError(f"no image in {args.a} has a partner with the same name in {args.b}; name the pairs alike "
                         f"(e.g. 0001.jpg in both)")
    unmatched = len(a_files) - len(pairs)
    if unmatched:
        print(f"note: {unmatched} images of {args.a} have no partner in {args.b} and are left out", file=sys.stderr)

    def work(pair):
        a_path, b_path = pair
        a_image, b_image = read_image(a_path), read_image(b_path)
        if args.size is not None:
            a_image = resized(a_image, args.size)
        if b_image.shape[:2] != a_image.shape[:2]:  # B takes A's size, so both halves line up
            b_image = resized(b_image, (None, a_image.shape[1], a_image.shape[0]))
        both = np.concatenate([a_image, b_image], axis=1)
        return write_image(Path(args.out) / f"{a_path.stem}.{args.format}", both, args.force)

    tally = Tally()
    tally.run(pairs, work, "combining A|B", len(pairs))
    return tally.finish(f"{args.out}")


# ---- split ------------------------------------------------------------------------------------------------------
def split_names(names: List[str], val_share: float, seed: int) -> set:
    """The names held out: a seeded permutation of the sorted names, so the split does not depend on file order."""
    names = sorted(names)
    order = np.random.default_rng(seed).permutation(len(names))
    return {names[i] for i in order[:int(round(len(names) * val_share))]}


def split(args) -> int:
    if not 0.0 < args.val < 1.0:
        raise UsageError(f"--val {args.val}: expected a share between 0 and 1, e.g. 0.1")
    folder = Path(args.folder)
    out = Path(args.out) if args.out else folder
    paired = (folder / "A").is_dir() and (folder / "B").is_dir()
    sides = ["A", "B"] if paired else [""]
    if paired:
        b_stems = {p.stem for p in image_files(folder / "B")}
        names = [p.stem for p in image_files(folder / "A") if p.stem in b_stems]
    else:
        names = [p.stem for p in image_files(folder)]
    if len(names) < 2:
        raise UsageError(f"{folder} holds {len(names)} usable image(s); a split needs at least 2")
    held_out = split_names(names, args.val, args.seed)
    jobs = []
    for side in sides:
        by_stem = {p.stem: p for p in image_files(folder / side if side else folder)}
        for name in names:
            part = "val" if name in held_out else "train"
            source = by_stem[name]
            jobs.append((source, out / part / side / source.name if side else out / part / source.name))

    tally = Tally()
    tally.run(jobs, lambda job: copy_file(job[0], job[1], args.force), "splitting", len(jobs))
    print(f"{len(names) - len(held_out)} train, {len(held_out)} val (seed {args.seed})")
    return tally.finish(f"{out}/train, {out}/val")


# ---- downsample -------------------------------------------------------------------------------------------------
def downsample(args) -> int:
    files = image_files(args.folder)
    if not files:
        raise UsageError(f"{args.folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    if args.files < 1:
        raise UsageError(f"-f {args.files}: expected at least 1 file")
    if args.random_seed is not None:
        chosen = sorted(np.random.default_rng(args.random_seed).choice(len(files), min(args.files, len(files)),
                                                                        replace=False))
        files = [files[i] for i in chosen]
    else:
        files = files[:args.files]
    out = Path(args.out)
    if out.resolve() == Path(args.folder).resolve():
        raise UsageError(f"--out {out} is the input folder; write the smaller copies elsewhere")

    def work(path):
        suffix = f".{args.format}" if args.format else (path.suffix.lower() if path.suffix.lower() in
                                                          WRITE_SUFFIXES else ".png")
        return write_image(out / f"{path.stem}{suffix}", resized(read_image(path), args.size), args.force)

    tally = Tally()
    tally.run(files, work, "downsampling", len(files))
    return tally.finish(str(out))


# ---- tryon-masks ------------------------------------------------------------------------------------------------
def tryon_masks(args) -> int:
    from models.gan.imaging import garment_mask_from_labels, read_labels
    from models.gan.tryon import is_held_out, pair_id

    folder = Path(args.data)
    if not (folder / "image").is_dir() or not (folder / "image-parse").is_dir():
        raise UsageError(f"--data {folder}: expected a try-on folder with image/ and image-parse/")
    out = Path(args.out)
    people = [p for p in image_files(folder / "image")
              if not is_held_out(pair_id(p), args.held_out)]

    def work(person: Path):
        parse = folder / "image-parse" / f"{person.stem}.png"
        if not parse.is_file():
            raise ValueError(f"{parse} is missing; every person photo needs its parse map")
        mask = garment_mask_from_labels(read_labels(parse)).astype(np.uint8) * 255
        wrote_mask = write_image(out / "masks" / f"{person.stem}.png", mask, args.force)
        wrote_image = copy_file(person, out / "images" / person.name, args.force)
        return wrote_mask or wrote_image

    tally = Tally()
    tally.run(people, work, "garment masks", len(people))
    print(f"{len(people)} training pairs kept; pairs held out by id (share {args.held_out}) left out")
    return tally.finish(str(out))


# ---- command line -----------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        epilog="examples:\n"
               "  python -m tools.prepare combine --a photos --b cutouts --out runs/pairs_ab\n"
               "  python -m tools.prepare split runs/pairs_ab --val 0.1 --seed 0\n"
               "  python -m tools.prepare downsample ../shared/data/backgrounds -f 20 -s 256 --out runs/small\n"
               "  python -m tools.prepare tryon-masks --data ../shared/data/tryon --out runs/garment_seg_data\n")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    one = commands.add_parser("combine", help="A/ and B/ images with the same names -> A|B side by side")
    one.add_argument("--a", type=Path, required=True, metavar="DIR", help="folder of A images (the input side)")
    one.add_argument("--b", type=Path, required=True, metavar="DIR", help="folder of B images (the target side)")
    one.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the A|B images")
    one.add_argument("-s", "--size", type=parse_size, metavar="SIZE",
                     help="resize each half first: a long side (256) or WIDTHxHEIGHT (default: A's size)")
    one.add_argument("--format", choices=["png", "jpg"], default="png", help="file type written (default png)")
    one.add_argument("--force", action="store_true", help="overwrite existing files")
    one.set_defaults(run=combine)

    two = commands.add_parser("split", help="copy a folder's images into train/ and val/, seeded")
    two.add_argument("folder", type=Path, help="folder of images, or of A/ and B/ (split by the same names)")
    two.add_argument("--val", type=float, default=0.1, help="share held out for validation (default 0.1)")
    two.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    two.add_argument("--out", type=Path, help="where train/ and val/ go (default: inside FOLDER)")
    two.add_argument("--force", action="store_true", help="overwrite existing files")
    two.set_defaults(run=split)

    three = commands.add_parser("downsample", help="write N images of a folder, resized")
    three.add_argument("folder", type=Path, help="folder of images")
    three.add_argument("-f", "--files", type=int, required=True, metavar="N", help="how many images to write")
    three.add_argument("-s", "--size", type=parse_size, required=True, metavar="SIZE",
                       help="a long side (256, aspect kept) or WIDTHxHEIGHT (192x256)")
    three.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the resized copies")
    three.add_argument("--random-seed", type=int, metavar="S",
                       help="pick the N images at random with this seed (default: the first N by name)")
    three.add_argument("--format", choices=["png", "jpg"], help="file type (default: the source's, else png)")
    three.add_argument("--force", action="store_true", help="overwrite existing files")
    three.set_defaults(run=downsample)

    four = commands.add_parser("tryon-masks",
                               help="try-on folder -> images/ + masks/ of the worn garment (training pairs only)")
    four.add_argument("--data", type=Path, required=True, metavar="DIR",
                      help="try-on folder with image/ and image-parse/")
    four.add_argument("--out", type=Path, required=True, metavar="DIR", help="portrait-style output folder")
    four.add_argument("--held-out", type=float, default=0.1,
                      help="share of pair ids left out, the same ones the garment extractor holds out (default 0.1)")
    four.add_argument("--force", action="store_true", help="overwrite existing files")
    four.set_defaults(run=tryon_masks)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as exc:
        return report_usage_error(exc, PROG)


if __name__ == "__main__":
    sys.exit(main())
