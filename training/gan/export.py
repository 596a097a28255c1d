"""python -m training.gan.export: the generator of an image-to-image training checkpoint as a small shipped file.

Keeps the generator's weights and config plus what inference needs (the data layout, the input size, how the
input was fitted and which mask net makes a hint channel); drops the critic(s), the optimizers and the history. A
cycleGAN checkpoint keeps both generators: A->B as the file's model and B->A under "networks". The written file is
loaded back and checked to give the same output as the training checkpoint, in every direction it holds.
"""
import argparse
import sys
from pathlib import Path

import torch

from models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from models.gan.translation import generator_from_record

KEPT_KEYS = ("model_option", "layout", "fit", "size", "mask_hint", "l1_only", "step", "iterations", "settings")
KEPT_NETWORKS = ("generator_b_to_a",)  # the second cycleGAN generator; critics are dropped


def export(checkpoint: Path, out: Path) -> dict:
    generator, payload = load_checkpoint(checkpoint)
    if not hasattr(generator.config, "out_channels"):
        raise CheckpointError(f"{checkpoint} holds a {generator.ARCH} model, not an image-to-image generator")
    kept = {key: payload[key] for key in KEPT_KEYS if key in payload}
    networks = {key: record for key, record in payload.get("networks", {}).items() if key in KEPT_NETWORKS}
    if payload.get("model_option") == "cyclegan" and not networks:
        raise CheckpointError(f"{checkpoint} is a cycleGAN checkpoint without its B->A generator; pass a last.pt or "
                              f"best.pt written by `python -m training --model cyclegan`")
    if networks:
        kept["networks"] = networks
    save_checkpoint(out, generator, **kept)
    reloaded, reloaded_payload = load_checkpoint(out)
    pairs = [(reloaded, generator)] + [
        (generator_from_record(reloaded_payload["networks"][key], out), generator_from_record(record, checkpoint))
        for key, record in networks.items()]
    height, width = kept.get("size", (256, 256))
    with torch.no_grad():
        for written, original in pairs:
            probe = torch.rand(1, original.config.in_channels, height, width) * 2 - 1
            if not torch.equal(written(probe), original(probe)):
                raise CheckpointError(f"{out} does not reproduce {checkpoint}; the file was not written correctly")
    return kept


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.gan.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path,
                        help="a last.pt or best.pt of `python -m training --model pix2pix|cyclegan`")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the file to write, e.g. models/weights/X.pt")
    args = parser.parse_args(argv)
    try:
        kept = export(args.checkpoint, args.out)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size_mb = args.out.stat().st_size / 1e6
    directions = "A->B and B->A generators" if "networks" in kept else "generator"
    print(f"wrote {args.out} ({size_mb:.1f} MB): {kept.get('layout')} {directions}, step {kept.get('step')}, "
          f"size {kept.get('size')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
