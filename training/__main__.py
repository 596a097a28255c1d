"""python -m training: train Backplate's segmentation models from captured sets and portrait folders."""
import argparse
import sys
from pathlib import Path

from models.checkpoint import CheckpointError
from fileio.shared_data import REPO_ROOT
from process_settings import configure_process

EXAMPLES = """
examples:
  python -m training -i 1000 -b 2                      # plate model on images/set*/ (the app's captures)
  python -m training --model plate --data ../shared/data/webcam_sets --val-sets 4,9,16,20 \\
      --data ../shared/data/portraits/ccp --backgrounds ../shared/data/backgrounds -i 6000 -b 8
  python -m training --model single --data ../shared/data/portraits/ccp --val-fraction 0.1
  python -m training --test-only runs/plate/best.pt --data ../shared/data/webcam_sets --val-sets 4,9,16,20
  torchrun --nproc_per_node 2 -m training --device cpu -i 100      # DistributedDataParallel
"""


def parse_size(text: str):
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 320x240")
    if width < 32 or height < 32:
        raise argparse.ArgumentTypeError(f"--size {text!r}: each side must be at least 32 pixels")
    return height, width


def parse_channels(text: str):
    try:
        channels = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated widths, e.g. 8,16,32,64,96")
    if not channels or min(channels) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: widths must be positive")
    return channels


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Train the plate model (frame + background plate -> person mask) or the single-frame model. "
                    "Writes last.pt, best.pt (by validation IoU), log.csv, curves.png and val_overlays.png "
                    "to --out.")
    parser.add_argument("-i", "--iterations", type=int, default=1000, help="training steps (default 1000)")
    parser.add_argument("-b", "--batch-size", type=int, default=2, help="samples per step and process (default 2)")
    parser.add_argument("--model", choices=["plate", "single", "single-gray"], default="plate",
                        help="plate: frame+plate network; single: one-image RGB U-Net; single-gray: its grayscale "
                             "variant (default plate)")
    parser.add_argument("--data", action="append", metavar="DIR",
                        help="a folder of setK/ captures (bkg.png, N.png, N_mask.png), one setK/ folder, or a "
                             "portrait folder with images/ and masks/; repeat for more (default: images/)")
    parser.add_argument("--backgrounds", action="append", default=[], metavar="DIR",
                        help="people-free pictures used as plates for synthetic pairs; repeatable")
    parser.add_argument("--val-sets", metavar="N,N,...",
                        help="capture set numbers held out for validation, e.g. 4,9,16,20, or 'none' "
                             "(default: every fifth set)")
    parser.add_argument("--val-fraction", type=float, default=0.1,
                        help="share of each portrait folder held out for validation, by photo (default 0.1)")
    parser.add_argument("--size", type=parse_size, metavar="WxH",
                        help="training crop size (default 320x240 for plate, 256x256 for single)")
    parser.add_argument("--channels", type=parse_channels, metavar="C,C,...",
                        help="network widths, one per level (default plate 16,24,48,64; single 8,16,32,64,96); "
                             "stored in the checkpoint, so pass the same value with --resume")
    parser.add_argument("--long-side", type=int, metavar="PX",
                        help="the frame's long side at inference, stored in the checkpoint "
                             "(default 320 for plate, 256 for single)")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate (default 2e-3)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--workers", type=int, default=0, help="data loader processes (default 0: in-process)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: PyTorch's choice)")
    parser.add_argument("--seed", type=int, default=0, help="seed for data synthesis and init")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="seed of the held-out portrait split (default 0), apart from --seed so that a run "
                             "with --init and a new --seed never trains on photos the first run held out")
    parser.add_argument("--val-every", type=int, default=250, help="validate and save last.pt every N steps")
    parser.add_argument("--out", type=Path, help="output folder (default runs/MODEL)")
    parser.add_argument("--resume", nargs="?", const="last", metavar="PATH",
                        help="continue from a checkpoint (default: OUT/last.pt) with model, optimizer, schedule, "
                             "step and RNG state; pass the same -i and data as the first run")
    parser.add_argument("--init", type=Path, metavar="CKPT",
                        help="start from the weights of a checkpoint, e.g. models/weights/single.pt, with a fresh "
                             "optimizer and schedule: fine-tune the shipped models on your own captures")
    parser.add_argument("--test-only", nargs="?", const="best", metavar="PATH",
                        help="evaluate a checkpoint (default OUT/best.pt) on the validation split with the "
                             "inference engine at full resolution, print the figures, and exit")
    parser.add_argument("--stop-after", type=int, metavar="STEP",
                        help="stop after this step as if interrupted (last.pt is saved); for testing --resume")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    import torch

    from training.data import DataError, load_pool, parse_val_sets
    from training.loop import DEFAULT_SIZES, TrainSettings, start_process, train

    configure_process(threads=args.threads or None)
    out = args.out or REPO_ROOT / "runs" / args.model
    data_dirs = args.data or [str(REPO_ROOT / "images")]
    try:
        val_sets = parse_val_sets(args.val_sets)
        if not 0.0 <= args.val_fraction < 1.0:
            raise DataError(f"--val-fraction {args.val_fraction}: expected a share in [0, 1), e.g. 0.1")
        if args.iterations < 1 or args.batch_size < 1:
            raise DataError("--iterations and --batch-size must be at least 1")
        process = start_process(args.device)
        pool = load_pool(data_dirs, args.backgrounds, val_sets, args.val_fraction, args.split_seed,
                         need_plates=(args.model == "plate" and not args.test_only),
                         progress=process.is_main and not args.no_progress)
        if process.is_main:
            print(f"data: {pool.summary()}", flush=True)
        if args.test_only:
            from training.evaluate import test_checkpoint
            path = Path(out) / "best.pt" if args.test_only == "best" else Path(args.test_only)
            test_checkpoint(path, pool, args.device)
            return 0
        settings = TrainSettings(
            model=args.model, iterations=args.iterations, batch_size=args.batch_size,
            size=args.size or DEFAULT_SIZES[args.model], lr=args.lr, seed=args.seed, workers=args.workers,
            val_every=args.val_every, device=args.device, out=Path(out),
            resume=(Path(out) / "last.pt" if args.resume == "last" else Path(args.resume)) if args.resume else None,
            stop_after=args.stop_after, progress=not args.no_progress,
            data_description=[str(d) for d in data_dirs] + [f"backgrounds:{d}" for d in args.backgrounds],
            channels=args.channels, long_side=args.long_side, init=args.init)
        metrics = train(settings, pool, process)
        if process.is_main and metrics:
            print("final validation: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items())))
        return 0
    except (DataError, CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
