"""python -m training.gan.export: the generator of an image-to-image training checkpoint as a small shipped file.

Keeps the generator's weights and config plus what inference needs (the data layout, the input size and how the
input was fitted); drops the critic, the optimizers and the history. The written file is loaded back and checked
to give the same output as the training checkpoint.
"""
import argparse
import sys
from pathlib import Path

import torch

from models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

KEPT_KEYS = ("model_option", "layout", "fit", "size", "l1_only", "step", "iterations", "settings")


def export(checkpoint: Path, out: Path) -> dict:
    generator, payload = load_checkpoint(checkpoint)
    if not hasattr(generator.config, "out_channels"):
        raise CheckpointError(f"{checkpoint} holds a {generator.ARCH} model, not an image-to-image generator")
    kept = {key: payload[key] for key in KEPT_KEYS if key in payload}
    save_checkpoint(out, generator, **kept)
    reloaded, _ = load_checkpoint(out)
    height, width = kept.get("size", (256, 256))
    probe = torch.rand(1, generator.config.in_channels, height, width) * 2 - 1
    with torch.no_grad():
        if not torch.equal(reloaded(probe), generator(probe)):
            raise CheckpointError(f"{out} does not reproduce {checkpoint}; the file was not written correctly")
    return kept


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.gan.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="a last.pt or best.pt of `python -m training --model pix2pix`")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the file to write, e.g. models/weights/X.pt")
    args = parser.parse_args(argv)
    try:
        kept = export(args.checkpoint, args.out)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size_mb = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size_mb:.1f} MB): {kept.get('layout')} generator, step {kept.get('step')}, "
          f"size {kept.get('size')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
