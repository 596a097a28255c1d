"""python -m training --model pix2pix|cyclegan: the image-to-image trainer's command line."""
import argparse
import sys
from pathlib import Path

from commandline import ArgumentParser, positive_int, report_usage_error, share, size_at_least
from fileio.shared_data import REPO_ROOT
from models.checkpoint import CheckpointError
from process_settings import configure_process

GAN_MODELS = ("pix2pix", "cyclegan")
PROG = "python -m training --model pix2pix|cyclegan"

EXAMPLES = """
examples:
  # garment extractor: person photo + worn-garment mask -> product photo (pairs held out by id)
  # (white outside a silhouette decoded from the whole image, taught by the product masks)
  python -m training --model pix2pix --data ../shared/data/tryon --size 96x128 --width 24 --depth 5 \\
      --white-gate --global-gate --lambda-gate 10 -i 8000
  # its L1-only baseline, same network and steps
  python -m training --model pix2pix --l1-only --data ../shared/data/tryon --size 96x128 --width 24 --depth 5 \\
      --white-gate --global-gate --lambda-gate 10 -i 8000 --out runs/tryon_l1
  # human extractor: photo -> only the person on white (portraits split by photo, webcam sets by set)
  python -m training --model pix2pix --data ../shared/data/portraits/ccp --data ../shared/data/webcam_sets \\
      --val-sets 4,9,16,20 --size 256x256 --width 16 --depth 6 --input-gate
  # A|B images from `python -m tools.prepare combine`, or A/ and B/ folders
  python -m training --model pix2pix --data runs/pairs_ab
  # unpaired translation
  python -m training --model cyclegan --data-a runs/people_a --data-b runs/people_b --size 128x128
  torchrun --nproc_per_node 2 -m training --model pix2pix --data ../shared/data/tryon --device cpu
"""


def is_gan_command(arguments) -> bool:
    """True when the command line asks for --model pix2pix or cyclegan (so training/__main__ forwards it here)."""
    arguments = list(arguments)
    for index, argument in enumerate(arguments):
        if argument == "--model" and index + 1 < len(arguments) and arguments[index + 1] in GAN_MODELS:
            return True
        if argument.startswith("--model=") and argument.split("=", 1)[1] in GAN_MODELS:
            return True
    return False


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=PROG, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train an image-to-image model: pix2pix (U-Net generator + PatchGAN critic, GAN loss + "
                    "100 x L1) on paired data, or cycleGAN (two generators, two critics, LSGAN, cycle and identity "
                    "losses) on unpaired folders. Writes last.pt, best.pt (lowest validation L1), log.csv, "
                    "curves.png and val_grid.png (input | output | target) to --out.")
    parser.add_argument("--model", choices=GAN_MODELS, required=True)
    parser.add_argument("-i", "--iterations", type=positive_int, default=2000, help="training steps (default 2000)")
    parser.add_argument("-b", "--batch-size", type=positive_int, default=4, help="examples per step and process (default 4)")
    parser.add_argument("--data", action="append", type=Path, metavar="DIR",
                        help="pix2pix: a try-on folder (image/, cloth/, image-parse/), a folder of A|B images, a "
                             "folder with A/ and B/, or (human extractor) portrait folders and capture sets; "
                             "repeatable (one layout per run)")
    parser.add_argument("--layout", choices=["auto", "tryon", "ab", "paired", "cutout"], default="auto",
                        help="how to read --data (default: recognised from the folder)")
    parser.add_argument("--data-a", action="append", type=Path, metavar="DIR", help="cycleGAN: images of domain A")
    parser.add_argument("--data-b", action="append", type=Path, metavar="DIR", help="cycleGAN: images of domain B")
    parser.add_argument("--val-fraction", type=share, default=0.1,
                        help="share held out for validation, by pair id or file name (portraits: by photo, with "
                             "--split-seed); folders with train/ and val/ use those instead (default 0.1)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the portrait split (default 0)")
    parser.add_argument("--val-sets", metavar="N,N,...", help="capture sets held out (default: every fifth set)")
    parser.add_argument("--val-sequences", metavar="NAME,NAME",
                        help="sequences of a sequence folder held out (default: every fifth sequence)")
    parser.add_argument("--size", type=size_at_least(16), metavar="WxH",
                        help="training and inference size (default 192x256 for try-on pairs, else 256x256)")
    parser.add_argument("--generator", choices=["unet", "resnet"],
                        help="generator kind (default unet for pix2pix, resnet for cycleGAN)")
    parser.add_argument("--width", type=int, default=64, help="generator width of the first level (default 64)")
    parser.add_argument("--depth", type=int, default=8,
                        help="U-Net levels; each side of --size must be a multiple of 2**depth (default 8)")
    parser.add_argument("--blocks", type=int, default=9, help="ResNet generator residual blocks (default 9)")
    parser.add_argument("--critic-width", type=int, default=64, help="PatchGAN width (default 64)")
    parser.add_argument("--critic-layers", type=int, default=3,
                        help="PatchGAN strided layers (default 3: 70x70 patches)")
    parser.add_argument("--norm", choices=["instance", "batch"], default="instance",
                        help="normalisation in every network (default instance)")
    parser.add_argument("--dropout", type=float, default=0.5, help="U-Net inner decoder dropout (default 0.5)")
    parser.add_argument("--input-gate", action="store_true",
                        help="the U-Net also predicts a per-pixel gate and copies the input's pixels where it is "
                             "open: for outputs that keep the input's pixels, such as the human extractor")
    parser.add_argument("--white-gate", action="store_true",
                        help="the U-Net also predicts a per-pixel gate and draws only where it is open, white "
                             "elsewhere: for outputs that are one object on white, such as the garment extractor")
    parser.add_argument("--global-gate", action="store_true",
                        help="with --white-gate: decode the gate from the U-Net's bottleneck alone, a whole-image "
                             "decision (the product garment's cut) rather than one tied to where the input lies")
    parser.add_argument("--mask-hint", action="store_true",
                        help="cut-out data: give the generator the shipped single-frame mask net's person mask as a "
                             "4th input channel (the extractor makes the same mask at run time)")
    parser.add_argument("--lambda-gate", type=float, default=0.0,
                        help="with --input-gate or --white-gate on data with true masks: weight of a cross-entropy "
                             "between the gate and the target's mask, so the gate learns the silhouette directly "
                             "(default 0: off)")
    parser.add_argument("--l1-only", action="store_true",
                        help="pix2pix without the critic: the L1-regression baseline with the same generator")
    parser.add_argument("--lambda-l1", type=float, default=100.0, help="pix2pix L1 weight (default 100)")
    parser.add_argument("--lambda-cycle", type=float, default=10.0, help="cycleGAN cycle weight (default 10)")
    parser.add_argument("--lambda-identity", type=float, default=0.5,
                        help="cycleGAN identity weight, times --lambda-cycle (default 0.5; 0 turns it off)")
    parser.add_argument("--pool-size", type=int, default=50, help="cycleGAN history pool per critic (default 50)")
    parser.add_argument("--jitter", type=float, default=0.0,
                        help="random scale-up by up to this share, then a crop back to --size (default 0)")
    parser.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (default 2e-4, beta1 0.5)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--workers", type=int, default=0, help="data loader processes (default 0: in-process)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: PyTorch's choice)")
    parser.add_argument("--seed", type=int, default=0, help="seed for init, sampling and augmentation")
    parser.add_argument("--val-every", type=int, default=200, help="validate and save last.pt every N steps")
    parser.add_argument("--val-limit", type=int, default=64,
                        help="held-out examples measured at each validation (default 64; 0: all)")
    parser.add_argument("--out", type=Path, help="output folder (default runs/MODEL)")
    parser.add_argument("--resume", nargs="?", const="last", metavar="PATH",
                        help="continue from a checkpoint (default OUT/last.pt) exactly; pass the same settings")
    parser.add_argument("--stop-after", type=int, metavar="STEP",
                        help="stop after this step as if interrupted (last.pt is saved); for testing --resume")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from training.data import parse_val_sequences, parse_val_sets
    from training.gan.data import GanDataError, load_paired, load_unpaired
    from training.gan.trainer import GanSettings, train_cyclegan, train_pix2pix
    from training.loop import start_process

    if args.lambda_gate < 0:
        parser.error(f"--lambda-gate {args.lambda_gate}: must be 0 or more")
    if args.input_gate and args.white_gate:
        parser.error("--input-gate and --white-gate: a generator has one gate; pick one")
    if args.global_gate and not args.white_gate:
        parser.error("--global-gate decodes the white gate; add --white-gate")
    configure_process(threads=args.threads or None)
    out = args.out or REPO_ROOT / "runs" / (f"{args.model}_l1" if args.l1_only else args.model)
    hint, mask_hint = None, None  # --mask-hint: the mask net and its weights file name
    try:
        if args.model == "pix2pix":
            if not args.data:
                parser.error("--model pix2pix needs --data DIR (paired data)")
            if args.mask_hint:
                from models.gan.extractors import DEFAULT_EXTRACTOR_WEIGHTS, MaskNet
                hint = MaskNet(device=args.device)
                mask_hint = DEFAULT_EXTRACTOR_WEIGHTS["person_mask_net"].name
            data = load_paired(args.data, args.val_fraction, args.split_seed, parse_val_sets(args.val_sets),
                               args.layout, parse_val_sequences(args.val_sequences), not args.no_progress,
                               hint.mask if hint else None)
            default_size = (256, 192) if data.layout == "tryon" else (256, 256)
            described = [str(d) for d in args.data]
        else:
            if args.l1_only or args.mask_hint:
                parser.error("--l1-only and --mask-hint apply to pix2pix only")
            if not args.data_a or not args.data_b:
                parser.error("--model cyclegan needs --data-a DIR and --data-b DIR (unpaired images)")
            data = load_unpaired(args.data_a, args.data_b, args.val_fraction)
            default_size = (256, 256)
            described = [f"A:{d}" for d in args.data_a] + [f"B:{d}" for d in args.data_b]
        process = start_process(args.device)
        if process.is_main:
            print(f"data: {data.summary()}", flush=True)
        settings = GanSettings(
            model=args.model, iterations=args.iterations, batch_size=args.batch_size,
            size=args.size.height_width if args.size else default_size, lr=args.lr, seed=args.seed, workers=args.workers,
            val_every=args.val_every, val_limit=args.val_limit, device=args.device, out=Path(out),
            resume=(Path(out) / "last.pt" if args.resume == "last" else Path(args.resume)) if args.resume else None,
            stop_after=args.stop_after, progress=not args.no_progress,
            generator=args.generator or ("unet" if args.model == "pix2pix" else "resnet"), width=args.width,
            depth=args.depth, blocks=args.blocks, critic_width=args.critic_width, critic_layers=args.critic_layers,
            norm=args.norm, dropout=args.dropout, input_gate=args.input_gate, white_gate=args.white_gate,
            global_gate=args.global_gate, mask_hint=mask_hint, lambda_gate=args.lambda_gate, l1_only=args.l1_only,
            lambda_l1=args.lambda_l1, lambda_cycle=args.lambda_cycle, lambda_identity=args.lambda_identity,
            pool_size=args.pool_size, jitter=args.jitter, layout=args.layout, data_description=described)
        if args.model == "pix2pix":
            metrics = train_pix2pix(settings, data, process)
        else:
            metrics = train_cyclegan(settings, data, process)
        if process.is_main and metrics:
            print("final validation: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items())))
        return 0
    except (GanDataError, CheckpointError, ValueError) as exc:
        return report_usage_error(exc, PROG)


if __name__ == "__main__":
    sys.exit(main())
