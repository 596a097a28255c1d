"""python -m training.gray_init: turn an RGB single-frame checkpoint into a grayscale one, to start gray training.

The gray input is a weighted mean of R, G and B whose weights sum to one, and the normalisation is the same for
every channel, so a gray pixel fed to the RGB net arrives as the same value on all three inputs. Summing the first
convolution's three kernels into one therefore gives a one-channel net that reproduces the RGB net exactly on
desaturated images: training starts from there instead of from random weights.
"""
import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from models.unet import LikeUnet


def gray_from_rgb(model: LikeUnet) -> LikeUnet:
    """A new one-channel LikeUnet with the RGB model's weights, its first conv's kernels summed over RGB."""
    if not isinstance(model, LikeUnet) or model.config.in_channels != 3:
        raise ValueError("expected an RGB (3-channel) single-frame LikeUnet model")
    gray = LikeUnet(dataclasses.replace(model.config, in_channels=1))
    state = dict(model.state_dict())
    first_conv = gray.stem[0]
    first_key = next(name for name, param in gray.named_parameters() if param is first_conv.weight)
    state[first_key] = state[first_key].sum(dim=1, keepdim=True)
    gray.load_state_dict(state, strict=True)
    return gray.eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.gray_init", description=__doc__.split("\n\n")[0],
        epilog="example:\n  python -m training.gray_init models/weights/single.pt -o runs/single_gray_init.pt\n"
               "  python -m training --model single-gray --init runs/single_gray_init.pt ...",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, help="an RGB single-frame checkpoint, e.g. models/weights/single.pt")
    parser.add_argument("-o", "--out", type=Path, required=True, help="where to write the grayscale checkpoint")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.force:
        parser.error(f"{args.out} exists; pass --force to overwrite it")
    try:
        model, _ = load_checkpoint(args.checkpoint)
        gray = gray_from_rgb(model)
    except (CheckpointError, ValueError) as exc:
        print(f"error: {args.checkpoint}: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        save_checkpoint(args.out, gray)
    print(f"wrote {args.out} ({gray.config.in_channels} input channel, channels {list(gray.config.channels)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
