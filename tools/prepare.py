"""python -m tools.prepare: data preparation for the image-to-image trainer.

  combine      A/ and B/ folders (or a tools.pairs CSV) -> A|B images side by side (what `python -m training
               --model pix2pix` reads)
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
def pairs_from_csv(csv_path: Path) -> List[Tuple[Path, Path, str]]:
    """(a, b, name) from a `python -m tools.pairs` CSV (columns a and b; paths as written there, else relative to
    the CSV's folder). The name is A's file name, or FOLDER__NAME where two A files share a name."""
    import csv
    if not csv_path.is_file():
        raise UsageError(f"--pairs {csv_path} does not exist; write it with python -m tools.pairs DIR_A DIR_B")
    with open(csv_path, newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"a", "b"} <= set(reader.fieldnames or []):
            raise UsageError(f"--pairs {csv_path} has no a and b columns; pass a CSV written by tools.pairs")
        rows = [(row["a"], row["b"]) for row in reader]

    def located(text: str) -> Path:
        path = Path(text)
        return path if path.is_absolute() or path.exists() else csv_path.parent / path

    pairs = [(located(a), located(b)) for a, b in rows]
    stems = [a.stem for a, _ in pairs]
    return [(a, b, a.stem if stems.count(a.stem) == 1 else f"{a.parent.name}__{a.stem}") for a, b in pairs]


def combine(args) -> int:
    if args.pairs is not None:
        if args.a is not None or args.b is not None:
            raise UsageError("--pairs names both images of each pair; leave out --a and --b")
        pairs = pairs_from_csv(args.pairs)
        if not pairs:
            raise UsageError(f"--pairs {args.pairs} lists no pairs; lower tools.pairs --min-similarity")
    else:
        if args.a is None or args.b is None:
            raise UsageError("combine needs --a DIR and --b DIR (images with the same names), or --pairs CSV")
        a_files = image_files(args.a)
        b_by_stem = {p.stem: p for p in image_files(args.b)}
        pairs = [(a, b_by_stem[a.stem], a.stem) for a in a_files if a.stem in b_by_stem]
        if not pairs:
            raise UsageError(f"no image in {args.a} has a partner with the same name in {args.b}; name the pairs "
                             f"alike (e.g. 0001.jpg in both)")
        unmatched = len(a_files) - len(pairs)
        if unmatched:
            print(f"note: {unmatched} images of {args.a} have no partner in {args.b} and are left out",
                  file=sys.stderr)

    def work(pair):
        a_path, b_path, name = pair
        a_image, b_image = read_image(a_path), read_image(b_path)
        if args.size is not None:
            a_image = resized(a_image, args.size)
        if b_image.shape[:2] != a_image.shape[:2]:  # B takes A's size, so both halves line up
            b_image = resized(b_image, (None, a_image.shape[1], a_image.shape[0]))
        both = np.concatenate([a_image, b_image], axis=1)
        return write_image(Path(args.out) / f"{name}.{args.format}", both, args.force)

    tally = Tally()
    tally.run(pairs, work, "combining A|B", len(pairs))
    return tally.finish(f"{args.out}")


# ---- split ------------------------------------------------------------------------------------------------------
def parse_parts(text: str) -> List[Tuple[str, float]]:
    """'train:0.7,classifier:0.1,test:0.2' -> [(name, share), ...]; the shares must add up to 1."""
    parts = []
    for item in text.split(","):
        name, _, share_text = item.partition(":")
        try:
            share = float(share_text)
        except ValueError:
            share = -1.0
        if not name.strip() or not 0.0 <= share <= 1.0 or "/" in name:
            raise UsageError(f"--parts {text!r}: expected NAME:SHARE pairs separated by commas, "
                             f"e.g. train:0.7,classifier:0.1,test:0.2")
        parts.append((name.strip(), share))
    if len(parts) < 2 or len({name for name, _ in parts}) != len(parts) or abs(sum(s for _, s in parts) - 1) > 1e-6:
        raise UsageError(f"--parts {text!r}: give at least two differently named parts whose shares add up to 1")
    return parts


def group_key(name: str, pattern) -> str:
    """The source a file belongs to: the regex's first group (or whole match) in its name; unmatched -> itself."""
    if pattern is None:
        return name
    match = pattern.search(name)
    if match is None:
        return name
    return match.group(1) if pattern.groups else match.group(0)


def assign_parts(keys: List[str], parts: List[Tuple[str, float]], seed: int, in_order: bool) -> dict:
    """Group key -> part name. Every part after the first takes round(share * groups) groups, the first the rest.
    Seeded: from a seeded permutation of the sorted keys (the later parts first, so two parts give the same
    held-out names as before). In order: the sorted keys cut in consecutive runs, parts in the order given."""
    keys = sorted(keys)
    counts = [int(round(len(keys) * share)) for _, share in parts[1:]]
    counts.insert(0, max(0, len(keys) - sum(counts)))
    names = [name for name, _ in parts]
    if in_order:
        sequence = keys
        order_of_parts = list(range(len(parts)))
    else:
        sequence = [keys[i] for i in np.random.default_rng(seed).permutation(len(keys))]
        order_of_parts = list(range(1, len(parts))) + [0]
    assigned, start = {}, 0
    for index in order_of_parts:
        for key in sequence[start:start + counts[index]]:
            assigned[key] = names[index]
        start += counts[index]
    return assigned


def split(args) -> int:
    import re
    if args.parts is not None:
        parts = parse_parts(args.parts)
    else:
        if not 0.0 < args.val < 1.0:
            raise UsageError(f"--val {args.val}: expected a share between 0 and 1, e.g. 0.1")
        parts = [("train", 1.0 - args.val), ("val", args.val)]
    try:
        pattern = re.compile(args.group) if args.group else None
    except re.error as exc:
        raise UsageError(f"--group {args.group!r} is not a regular expression ({exc}); e.g. '^(.+)_[0-9]+$'")
    folder = Path(args.folder)
    out = Path(args.out) if args.out else folder
    paired = not args.recursive and (folder / "A").is_dir() and (folder / "B").is_dir()
    sides = ["A", "B"] if paired else [""]
    if args.recursive:
        if not folder.is_dir():
            raise UsageError(f"{folder} is not a folder; pass a folder of images")
        by_name = {p.relative_to(folder).with_suffix("").as_posix(): p for p in sorted(folder.rglob("*"))
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                   and not (out.resolve() in p.resolve().parents)}
        names = list(by_name)
    elif paired:
        b_stems = {p.stem for p in image_files(folder / "B")}
        names = [p.stem for p in image_files(folder / "A") if p.stem in b_stems]
    else:
        names = [p.stem for p in image_files(folder)]
    if len(names) < 2:
        raise UsageError(f"{folder} holds {len(names)} usable image(s); a split needs at least 2")
    # In order, each subfolder (one video's patches, say) is cut on its own, so every source gets each part.
    by_source = {}
    for name in names:
        by_source.setdefault(name.rpartition("/")[0] if args.in_order else "", []).append(name)
    part_of = {}
    for source_names in by_source.values():
        key_of = {name: group_key(name.rpartition("/")[2], pattern) for name in source_names}
        groups = assign_parts(list(set(key_of.values())), parts, args.seed, args.in_order)
        part_of.update({name: groups[key] for name, key in key_of.items()})
    jobs = []
    for side in sides:
        if args.recursive:
            # Written flat (subfolder__name), as the trainers read one folder level.
            jobs += [(by_name[name], out / part_of[name] / (name.replace("/", "__") + by_name[name].suffix))
                     for name in names]
            continue
        by_stem = {p.stem: p for p in image_files(folder / side if side else folder)}
        for name in names:
            source = by_stem[name]
            part = part_of[name]
            jobs.append((source, out / part / side / source.name if side else out / part / source.name))

    tally = Tally()
    tally.run(jobs, lambda job: copy_file(job[0], job[1], args.force), "splitting", len(jobs))
    counted = ", ".join(f"{sum(1 for n in names if part_of[n] == part)} {part}" for part, _ in parts)
    print(f"{counted} (seed {args.seed}{', in order' if args.in_order else ''})")
    return tally.finish(", ".join(f"{out}/{part}" for part, _ in parts))


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
               "  python -m tools.prepare combine --pairs runs/pairs.csv --out runs/pairs_ab\n"
               "  python -m tools.prepare split runs/pairs_ab --val 0.1 --seed 0\n"
               "  python -m tools.prepare split runs/patches/patches --recursive --in-order \\\n"
               "      --group '^(.+)_[0-9]+$' --parts train:0.7,classifier:0.1,test:0.2 --out runs/domain_a\n"
               "  python -m tools.prepare downsample ../shared/data/backgrounds -f 20 -s 256 --out runs/small\n"
               "  python -m tools.prepare tryon-masks --data ../shared/data/tryon --out runs/garment_seg_data\n")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    one = commands.add_parser("combine", help="A/ and B/ images with the same names (or --pairs CSV) -> A|B "
                                              "side by side")
    one.add_argument("--a", type=Path, metavar="DIR", help="folder of A images (the input side)")
    one.add_argument("--b", type=Path, metavar="DIR", help="folder of B images (the target side)")
    one.add_argument("--pairs", type=Path, metavar="CSV",
                     help="instead of --a/--b: the pairs of a `python -m tools.pairs` CSV (columns a, b), each "
                          "written under A's name")
    one.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the A|B images")
    one.add_argument("-s", "--size", type=parse_size, metavar="SIZE",
                     help="resize each half first: a long side (256) or WIDTHxHEIGHT (default: A's size)")
    one.add_argument("--format", choices=["png", "jpg"], default="png", help="file type written (default png)")
    one.add_argument("--force", action="store_true", help="overwrite existing files")
    one.set_defaults(run=combine)

    two = commands.add_parser("split", help="copy a folder's images into train/ and val/, seeded")
    two.add_argument("folder", type=Path, help="folder of images, or of A/ and B/ (split by the same names)")
    two.add_argument("--val", type=float, default=0.1, help="share held out for validation (default 0.1)")
    two.add_argument("--parts", metavar="NAME:SHARE,...",
                     help="more parts than train/val, e.g. train:0.7,classifier:0.1,test:0.2 (replaces --val)")
    two.add_argument("--group", metavar="REGEX",
                     help="files whose names give the same first regex group go to the same part, e.g. "
                          "'^(.+)_[0-9]+$' keeps every patch of one frame or photo together")
    two.add_argument("--in-order", action="store_true",
                     help="cut the sorted names (groups) of each subfolder in consecutive runs, parts in the order "
                          "given, instead of a seeded draw: the last frames of each video become the last part")
    two.add_argument("--recursive", action="store_true",
                     help="also images in subfolders, written flat as SUBFOLDER__NAME")
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
