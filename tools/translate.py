"""python -m tools.translate: people from one domain redrawn in the other (real <-> game-engine), offline.

CKPT is a translator written by `python -m training.gan.export` (or a training last.pt/best.pt): a cycleGAN holds
both directions, a pix2pix trained on pose-matched A|B pairs only a2b. `default` means the shipped
models/weights/person_translator.pt (cycleGAN, A = real people, B = game-engine people). Each INPUT (an image, or a
folder of images) becomes OUT/NAME.png at the input's own size: it is resized to the model's training size,
translated and resized back.
"""
import argparse
import sys
from pathlib import Path
from typing import List

from commandline import ArgumentParser, UsageError, positive_int, run_command
from fileio.capture_sets import IMAGE_SUFFIXES, read_image
from tools.extract import run_batch, write_new_png

PROG = "python -m tools.translate"

EPILOG = """examples:
  python -m tools.translate default runs/domains/A/test --out runs/as_game            # real -> game-engine look
  python -m tools.translate default game_patch.png --direction b2a --out runs/as_real  # game-engine -> real
  python -m tools.translate models/weights/person_translator_pairs.pt photo.jpg --out runs/pairs_out --device cpu

Existing outputs are kept unless --force. An unreadable image is named and skipped.
exit codes: 0 done, 1 some images could not be read or written, 2 bad arguments.
"""


def input_images(paths: List[Path]) -> List[Path]:
    """Files as given; a folder gives its images (top level, in name order)."""
    files = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise UsageError(f"{path} holds no images ({', '.join(IMAGE_SUFFIXES)}); pass images or a folder "
                                 f"of them")
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise UsageError(f"{path} does not exist; pass images or folders of images")
    names = [p.stem for p in files]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UsageError(f"two inputs would both be written as {twice[0]}.png; translate them into separate --out "
                         f"folders")
    return files


def run(args) -> int:
    from models.checkpoint import CheckpointError
    from models.gan.translation import DomainTranslator

    images = input_images(args.inputs)
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file; pass a folder")
    try:
        translator = DomainTranslator(None if args.checkpoint == "default" else args.checkpoint, args.device)
        translator.check_direction(args.direction)
    except (CheckpointError, ValueError) as exc:
        raise UsageError(str(exc)) from exc

    def work(path: Path) -> bool:
        target = args.out / f"{path.stem}.png"
        if target.exists() and not args.force:
            return False
        return write_new_png(target, translator.translate(read_image(path), args.direction), args.force)

    return run_batch(images, work, f"translating {args.direction} into {args.out}", progress=not args.no_progress)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog=PROG, description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    parser.add_argument("checkpoint", metavar="CKPT",
                        help="translator file, or 'default' for models/weights/person_translator.pt")
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="images or folders of images")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created)")
    parser.add_argument("--direction", choices=["a2b", "b2a"], default="a2b",
                        help="a2b: real -> game-engine (default); b2a: game-engine -> real (cycleGAN only)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="where the generator runs (default auto: CUDA when there is one)")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: PyTorch's)")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from process_settings import configure_process

    configure_process(threads=args.threads, quiet_opencv=True)
    return run_command(run, args, PROG, "the images written so far are kept")


if __name__ == "__main__":
    sys.exit(main())
