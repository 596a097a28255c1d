"""python -m training: train Backplate's segmentation models from captured sets and portrait folders."""
import argparse
import sys
from pathlib import Path

from commandline import (ArgumentParser, UsageError, non_negative_float, non_negative_int, parse_size,
                         positive_float, positive_int, positive_int_list, report_usage_error, share,
                         writable_folder)
from models.checkpoint import CheckpointError
from process_settings import configure_process

PROG = "python -m training"
REPO_ROOT = Path(__file__).resolve().parent.parent  # default --data images/ and --out runs/ live here

EXAMPLES = """
examples:
  python -m training -i 1000 -b 2                      # plate model on images/set*/ (the app's captures)
  python -m training --model plate --data ../shared/data/webcam_sets --val-sets 4,9,16,20 \\
      --data ../shared/data/portraits/ccp --backgrounds ../shared/data/backgrounds -i 6000 -b 8
  python -m training --model single --data ../shared/data/portraits/ccp --val-fraction 0.1
  python -m training --test-only runs/plate/best.pt --data ../shared/data/webcam_sets --val-sets 4,9,16,20
  torchrun --nproc_per_node 2 -m training --device cpu -i 100      # DistributedDataParallel
"""


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Train the plate model (frame + background plate -> person mask) or the single-frame model. "
                    "Writes last.pt, best.pt (by validation IoU), log.csv, curves.png and val_overlays.png "
                    "to --out.")
    parser.add_argument("-i", "--iterations", type=positive_int, default=1000, help="training steps (default 1000)")
    parser.add_argument("-b", "--batch-size", type=positive_int, default=2,
                        help="samples per step and process (default 2)")
    parser.add_argument("--model", choices=["plate", "single", "single-gray"], default="plate",
                        help="plate: frame+plate network; single: one-image RGB U-Net; single-gray: its grayscale "
                             "variant (default plate). Image-to-image models have their own options: "
                             "`python -m training --model pix2pix --help` (or cyclegan)")
    parser.add_argument("--data", action="append", metavar="DIR",
                        help="a folder of setK/ captures (bkg.png, N.png, N_mask.png), one setK/ folder, or a "
                             "portrait folder with images/ and masks/; repeat for more (default: images/)")
    parser.add_argument("--backgrounds", action="append", default=[], metavar="DIR",
                        help="people-free pictures used as plates for synthetic pairs; repeatable")
    parser.add_argument("--val-sets", metavar="N,N,...",
                        help="capture set numbers held out for validation, e.g. 4,9,16,20, or 'none' "
                             "(default: every fifth set)")
    parser.add_argument("--val-sequences", metavar="NAME,NAME",
                        help="whole sequences of a sequence folder (images named SEQUENCE_NNNNN, e.g. "
                             "../shared/data/motion) held out for validation, e.g. dance-twirl,hike, or 'none' "
                             "(default: every fifth sequence)")
    parser.add_argument("--val-backgrounds", type=share, default=0.0, metavar="FRACTION",
                        help="share of each --backgrounds folder kept out of training (split by --split-seed), "
                             "for benchmarks.accuracy --empty (default 0: train on all)")
    parser.add_argument("--val-fraction", type=share, default=0.1,
                        help="share of each portrait folder held out for validation, by photo (default 0.1)")
    parser.add_argument("--size", type=parse_size, metavar="WxH",
                        help="training crop size (default 320x240 for plate, 256x256 for single)")
    parser.add_argument("--channels", type=positive_int_list, metavar="C,C,...",
                        help="network widths, one per level (default plate 16,24,48,64; single 8,16,32,64,96); "
                             "stored in the checkpoint: --resume always continues with the checkpoint's")
    parser.add_argument("--long-side", type=positive_int, metavar="PX",
                        help="the frame's long side at inference, stored in the checkpoint "
                             "(default 320 for plate, 256 for single)")
    parser.add_argument("--output-stride", type=int, choices=[2, 4],
                        help="the network's mask comes out at 1/2 or 1/4 of its input, and the guided filter "
                             "upsamples it along the frame's edges; 4 skips the costliest decoder level "
                             "(default 2; with --init, layers both have keep their weights); stored in the checkpoint")
    parser.add_argument("--decoder-channels", type=non_negative_int, metavar="N",
                        help="single model: 0 for the concatenating decoder, N for the lean one (1x1 skip "
                             "projections added, one 3x3 convolution per level, N wide), which costs a fraction "
                             "(default 0; with --init, the encoder keeps its weights); stored in the checkpoint")
    parser.add_argument("--finest-channels", type=non_negative_int, metavar="N",
                        help="single model, lean decoder at output stride 2: the width of its finest level, which "
                             "works on the most pixels (default: the --decoder-channels width); stored in the "
                             "checkpoint")
    parser.add_argument("--context-layers", type=non_negative_int, metavar="N",
                        help="plate model: a scene-context block at the coarsest scale, N dilated convolutions "
                             "(dilation 2, 4, ...) plus a whole-frame summary, so that a faint difference is judged "
                             "with the body around it in view (default 0: none; with --init, the block starts as a "
                             "no-op and every other layer keeps its weights); stored in the checkpoint")
    parser.add_argument("--lr", type=positive_float, default=2e-3, help="peak AdamW learning rate (default 2e-3)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--workers", type=non_negative_int, default=0,
                        help="data loader processes (default 0: in-process)")
    parser.add_argument("--threads", type=non_negative_int, default=0,
                        help="torch CPU threads (default 0: PyTorch's choice)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed for data synthesis and init")
    parser.add_argument("--split-seed", type=non_negative_int, default=0,
                        help="seed of the held-out portrait split (default 0), apart from --seed so that a run "
                             "with --init and a new --seed never trains on photos the first run held out")
    parser.add_argument("--val-every", type=positive_int, default=250, help="validate and save last.pt every N steps")
    parser.add_argument("--out", type=Path, help="output folder (default runs/MODEL)")
    parser.add_argument("--resume", nargs="?", const="last", metavar="PATH",
                        help="continue from a checkpoint (default: OUT/last.pt) with model, optimizer, schedule, "
                             "step and RNG state. The run's own settings (model, widths, -i, -b, --size, --lr, "
                             "--seed) come from the checkpoint; pass the same data as the first run")
    parser.add_argument("--init", type=Path, metavar="CKPT",
                        help="start from the weights of a checkpoint, e.g. models/weights/single.pt, with a fresh "
                             "optimizer and schedule: fine-tune the shipped models on your own captures")
    parser.add_argument("--test-only", nargs="?", const="best", metavar="PATH",
                        help="evaluate a checkpoint (default OUT/best.pt) on the validation split with the "
                             "inference engine at full resolution, print the figures, and exit")
    parser.add_argument("--stop-after", type=positive_int, metavar="STEP",
                        help="stop after this step as if interrupted (last.pt is saved); for testing --resume")
    parser.add_argument("--motion-composites", action="store_true",
                        help="single model: add composites of people in motion (small to large, turned up to "
                             "60 degrees or upside down, cut at the edges, motion-blurred, several per frame) and "
                             "people-free scenes with empty masks")
    parser.add_argument("--empty-scenes", type=share, metavar="FRACTION",
                        help="single model: share of training samples that are people-free scenes (the "
                             "--backgrounds pictures, sometimes shaded) with empty masks, so that the model learns to "
                             "say that nobody is there (default: none, or 0.14 with --motion-composites)")
    parser.add_argument("--cast-shadows", action="store_true",
                        help="plate model: pasted people throw their own silhouette as a shadow onto the floor and "
                             "up the wall (20-60 %% darker, labelled background)")
    parser.add_argument("--camouflage", type=share, default=0.0, metavar="FRACTION",
                        help="plate model: share of people whose colours are pulled 30-80 %% of the way towards the "
                             "scene behind them, so that the model learns to find people who barely differ from the "
                             "plate (default 0)")
    parser.add_argument("--real-pairs", type=share, metavar="FRACTION",
                        help="plate model: share of training samples that are real webcam pairs from the --data "
                             "capture sets; the synthetic kinds share the rest in their usual proportions "
                             "(default 0.25)")
    parser.add_argument("--hard-weight", type=non_negative_float, default=0.0, metavar="W",
                        help="weigh the pixels the model gets wrong 1+W times in the cross-entropy (default 0)")
    parser.add_argument("--guided-weight", type=non_negative_float, default=0.0, metavar="W",
                        help="add a loss term, weighted W, on the mask as the app shows it: the network's "
                             "low-resolution output upsampled along the frame's edges by the guided filter, which "
                             "the plain loss never sees (default 0: off)")
    parser.add_argument("--teacher", type=Path, metavar="CKPT",
                        help="knowledge distillation: a trained model of the same kind (e.g. models/weights/"
                             "single.pt) whose probabilities the new network also learns to match, so that a "
                             "smaller or faster network keeps more of its accuracy; stored in the checkpoint")
    parser.add_argument("--distill-weight", type=non_negative_float, default=1.0, metavar="W",
                        help="weight of the --teacher term beside the label loss (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    return parser


def main(argv=None) -> int:
    from training.gan.cli import is_gan_command, main as gan_main
    if is_gan_command(sys.argv[1:] if argv is None else argv):
        return gan_main(argv)  # pix2pix and cyclegan have their own trainer and options
    args = build_parser().parse_args(argv)
    from training.data import DataError
    try:
        return run(args)
    except (DataError, CheckpointError, ValueError) as exc:  # a UsageError is a ValueError too
        return report_usage_error(exc, PROG)


def checkpoint_argument(value, default: Path, flag: str) -> Path:
    """The checkpoint a flag names (its default when given bare), checked before any data is read."""
    from models.checkpoint import read_checkpoint
    path = default if value in ("last", "best") else Path(value)
    try:
        read_checkpoint(path)
    except CheckpointError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    return path


def run(args) -> int:
    import cv2

    from training.data import load_pool, parse_val_sequences, parse_val_sets
    from training.loop import DEFAULT_SIZES, TrainSettings, resumed_settings, start_process, train

    out = Path(args.out or REPO_ROOT / "runs" / args.model)
    data_dirs = args.data or [str(REPO_ROOT / "images")]
    val_sets = parse_val_sets(args.val_sets)
    val_sequences = parse_val_sequences(args.val_sequences)
    if args.test_only:
        test_path = checkpoint_argument(args.test_only, out / "best.pt", "--test-only")
    else:
        for flag, value in (("--decoder-channels", args.decoder_channels), ("--finest-channels", args.finest_channels),
                            ("--empty-scenes", args.empty_scenes)):
            if value is not None and args.model == "plate":
                raise UsageError(f"{flag} applies to the single-frame models, not --model plate; leave it out")
        for flag, value in (("--context-layers", args.context_layers), ("--real-pairs", args.real_pairs)):
            if value is not None and args.model != "plate":
                raise UsageError(f"{flag} applies to --model plate, not --model {args.model}; leave it out")
        if args.finest_channels is not None and (args.output_stride == 4 or args.decoder_channels == 0):
            raise UsageError("--finest-channels narrows the lean decoder's level at output stride 2; it does nothing "
                             "with --output-stride 4 or --decoder-channels 0: leave one of them out")
        if args.resume and args.init:
            raise UsageError("--resume continues a run and --init starts a new one from weights; pass only one")
        writable_folder(out, "--out")
        resume = checkpoint_argument(args.resume, out / "last.pt", "--resume") if args.resume else None
        init = checkpoint_argument(args.init, out / "last.pt", "--init") if args.init else None
        teacher = checkpoint_argument(args.teacher, out / "best.pt", "--teacher") if args.teacher else None
        if teacher is not None:
            from training.loop import check_teacher_fits
            check_teacher_fits(args.model, teacher)  # before the data loads: a wrong teacher fails at once
    configure_process(threads=args.threads or None)
    cv2.setNumThreads(1)  # samples are made beside torch's threads: OpenCV's own pool would compete with them
    process = start_process(args.device)
    if not args.test_only:
        settings = TrainSettings(
            model=args.model, iterations=args.iterations, batch_size=args.batch_size,
            size=args.size.height_width if args.size else DEFAULT_SIZES[args.model], lr=args.lr, seed=args.seed,
            workers=args.workers, val_every=args.val_every, device=args.device, out=out, resume=resume,
            stop_after=args.stop_after, progress=not args.no_progress,
            data_description=[str(d) for d in data_dirs] + [f"backgrounds:{d}" for d in args.backgrounds],
            channels=args.channels, long_side=args.long_side, output_stride=args.output_stride,
            decoder_channels=args.decoder_channels, finest_channels=args.finest_channels,
            context_layers=args.context_layers, init=init,
            motion_composites=args.motion_composites, empty_scenes=args.empty_scenes, cast_shadows=args.cast_shadows,
            camouflage=args.camouflage, real_pairs=args.real_pairs, hard_weight=args.hard_weight,
            guided_weight=args.guided_weight,
            teacher=teacher, distill_weight=args.distill_weight)
        if resume is not None:
            from models.checkpoint import read_checkpoint
            settings = resumed_settings(settings, read_checkpoint(resume),
                                        say=(lambda line: print(line, flush=True)) if process.is_main else None)
    pool = load_pool(data_dirs, args.backgrounds, val_sets, args.val_fraction, args.split_seed,
                     need_plates=not args.test_only and settings.model == "plate",
                     progress=process.is_main and not args.no_progress, val_sequences=val_sequences,
                     val_backgrounds=args.val_backgrounds)
    if process.is_main:
        print(f"data: {pool.summary()}", flush=True)
    if args.test_only:
        from training.evaluate import test_checkpoint
        test_checkpoint(test_path, pool, args.device)
        return 0
    metrics = train(settings, pool, process)
    if process.is_main and metrics:
        print("final validation: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
