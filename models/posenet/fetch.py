"""Downloads Google's official TF.js PoseNet MobileNet checkpoint and converts it into a cached state dict.

    python -m models.posenet.fetch [--multiplier 050|075|100|101] [--out PATH]

Needs internet; never run by tests or at app startup."""
import argparse
import json
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

from tqdm import tqdm

from fileio.cache import cache_dir
from models.checkpoint import atomic_torch_save

from .convert import ConversionError, convert_folder

BASE_URL = "https://storage.googleapis.com/tfjs-models/weights/posenet/"
MULTIPLIERS = ("050", "075", "100", "101")


def checkpoint_url(multiplier: str) -> str:
    return f"{BASE_URL}mobilenet_v1_{multiplier}/"


def default_output(multiplier: str) -> Path:
    return cache_dir() / f"posenet_mobilenet_v1_{multiplier}.pth"


def _download(url: str, target: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read()
    target.write_bytes(data)


def download_checkpoint(url: str, folder: Path) -> None:
    """manifest.json and every weight file it lists, into folder."""
    _download(url + "manifest.json", folder / "manifest.json")
    manifest = json.loads((folder / "manifest.json").read_text())
    filenames = sorted({entry["filename"] for entry in manifest.values()})
    for filename in tqdm(filenames, desc="PoseNet weights", unit="file"):
        _download(url + filename, folder / filename)


def fetch(multiplier: str = "050", out: Optional[Path] = None) -> Path:
    out = Path(out) if out else default_output(multiplier)
    with tempfile.TemporaryDirectory(prefix="posenet-tfjs-") as folder:
        download_checkpoint(checkpoint_url(multiplier), Path(folder))
        state = convert_folder(folder)
    atomic_torch_save(state, out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.posenet.fetch",
        description="Download Google's TF.js PoseNet MobileNetV1 checkpoint (needs internet) and convert it "
                    "into a PyTorch state dict that Backplate's palm tracker finds by itself.")
    parser.add_argument("--multiplier", choices=MULTIPLIERS, default="050",
                        help="MobileNet depth multiplier: 050 is fastest (default), 101 most accurate")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the .pth (default: ~/.cache/backplate/posenet_mobilenet_v1_<M>.pth)")
    args = parser.parse_args(argv)
    try:
        path = fetch(args.multiplier, args.out)
    except (urllib.error.URLError, OSError) as exc:
        print(f"error: could not download PoseNet from {checkpoint_url(args.multiplier)}: {exc}. "
              f"Check the internet connection and try again.", file=sys.stderr)
        return 1
    except (ConversionError, ValueError, KeyError) as exc:
        print(f"error: the downloaded PoseNet checkpoint could not be converted: {exc}", file=sys.stderr)
        return 1
    print(f"PoseNet weights written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
