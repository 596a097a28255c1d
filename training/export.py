"""python -m training.export: turn a training checkpoint into a deployable file, and prove it matches PyTorch.

Formats: `weights` (the small model-only checkpoint that models/weights/ ships), `onnx` (frame and plate as two
inputs with dynamic height and width) and `torchscript`. The written file is run on a frame (--frame and --plate,
or a synthetic test card) and compared with the PyTorch model; a mismatch is an error.
"""
import sys
import warnings
from pathlib import Path
from typing import List, Optional, Tuple

import cv2
import numpy as np
import torch

from commandline import ArgumentParser, UsageError, report_usage_error, writable_folder
from fileio.atomic_files import atomic_path
from fileio.capture_sets import read_image
from models.checkpoint import CheckpointError, load_checkpoint, model_kind, save_checkpoint
from models.preprocess import prepare_input

PARITY_TOLERANCE = 1e-3  # largest allowed difference in mask probability
SUFFIXES = {"onnx": ".onnx", "torchscript": ".torchscript.pt", "weights": ".weights.pt"}
PROG = "python -m training.export"


def test_card(height: int = 480, width: int = 640) -> Tuple[np.ndarray, np.ndarray]:
    """A synthetic (frame, plate) pair: a textured room, and the same room with a person-shaped figure in it.
    Deterministic, so an export is checked the same way on every machine."""
    rng = np.random.default_rng(0)
    plate = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    frame = plate.copy()
    cx = width // 2
    cv2.ellipse(frame, (cx, height * 5 // 8), (width // 6, height * 3 // 8), 0, 0, 360, (60, 90, 160), -1)
    cv2.circle(frame, (cx, height // 5), height // 9, (90, 120, 200), -1)
    return frame, plate


def example_images(plate_model: bool, frame_path: Optional[Path] = None, plate_path: Optional[Path] = None):
    """(frame, plate or None, where they came from) for the parity check: the given files, else the test card."""
    if frame_path is None:
        if plate_path is not None:
            raise UsageError("--plate needs --frame: pass the frame the plate belongs to")
        frame, plate = test_card()
        return frame, plate if plate_model else None, "a synthetic test card"
    frame = read_image(frame_path)
    plate = read_image(plate_path) if plate_path is not None else None
    if plate_model and plate is None:
        raise UsageError(f"--frame {frame_path}: the plate model's parity check needs --plate as well")
    if plate is not None and plate.shape != frame.shape:
        raise UsageError(f"--plate {plate_path} is {plate.shape[1]}x{plate.shape[0]} but --frame {frame_path} is "
                         f"{frame.shape[1]}x{frame.shape[0]}; pass the plate of the same camera")
    return frame, plate, str(frame_path)


def model_inputs(model, frame: np.ndarray, plate: Optional[np.ndarray]) -> List[torch.Tensor]:
    images = [frame] + ([plate] if model_kind(model) == "plate" else [])
    return [torch.from_numpy(prepare_input(image, model.config))[None] for image in images]


def input_names(model) -> List[str]:
    return ["frame", "plate"] if model_kind(model) == "plate" else ["image"]


class ImagesOnly(torch.nn.Module):
    """The network's forward called with its images alone. The ONNX exporter would otherwise pass forward's
    optional low_res flag as a traced tensor. It takes the network's mode, which the exporter restores after."""

    def __init__(self, network: torch.nn.Module):
        super().__init__()
        self.network = network

    def forward(self, *images: torch.Tensor) -> torch.Tensor:
        return self.network(*images)


def export_onnx(model, inputs: List[torch.Tensor], path: Path) -> None:
    names = input_names(model)
    dynamic = {name: {2: "height", 3: "width"} for name in names}
    dynamic["logits"] = {2: "height", 3: "width"}
    with atomic_path(path) as temp:
        torch.onnx.export(ImagesOnly(model).train(model.training), tuple(inputs), temp, input_names=names,
                          output_names=["logits"], dynamic_axes=dynamic, opset_version=17, dynamo=False)


def export_torchscript(model, inputs: List[torch.Tensor], path: Path) -> None:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated but still asked for
        traced = torch.jit.trace(model, tuple(inputs))
    with atomic_path(path) as temp:
        traced.save(temp)


def probability(logits) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))


def parity(model, path: Path, fmt: str, inputs: List[torch.Tensor]) -> float:
    """Largest difference in mask probability between PyTorch and the exported file on the same input."""
    with torch.no_grad():
        reference = probability(model(*inputs).numpy())
    if fmt == "onnx":
        import onnxruntime
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {name: tensor.numpy() for name, tensor in zip(input_names(model), inputs)}
        exported = probability(session.run(["logits"], feeds)[0])
    elif fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            loaded = torch.jit.load(str(path))
        with torch.no_grad():
            exported = probability(loaded(*inputs).numpy())
    else:
        reloaded, _ = load_checkpoint(path)
        with torch.no_grad():
            exported = probability(reloaded(*inputs).numpy())
    return float(np.abs(reference - exported).max())


def export(checkpoint: Path, fmt: str, output: Optional[Path] = None, frame: Optional[Path] = None,
           plate: Optional[Path] = None, log=print) -> Path:
    model, _ = load_checkpoint(checkpoint)
    model.eval()
    output = Path(output) if output else Path(checkpoint).with_suffix(SUFFIXES[fmt])
    output.parent.mkdir(parents=True, exist_ok=True)
    frame_image, plate_image, source = example_images(model_kind(model) == "plate", frame, plate)
    inputs = model_inputs(model, frame_image, plate_image)
    if fmt == "weights":
        save_checkpoint(output, model)
    elif fmt == "onnx":
        export_onnx(model, inputs, output)
    else:
        export_torchscript(model, inputs, output)
    # Check on the real frame, and on a second size for the dynamic-shape formats.
    difference = parity(model, output, fmt, inputs)
    if fmt == "onnx":
        half = [torch.nn.functional.interpolate(t, scale_factor=0.5, mode="area") for t in inputs]
        difference = max(difference, parity(model, output, fmt, half))
    if difference > PARITY_TOLERANCE:
        raise ValueError(f"{output} differs from the PyTorch model by {difference:.2e} in mask probability on "
                         f"{source} (allowed {PARITY_TOLERANCE:.0e})")
    log(f"wrote {output} ({output.stat().st_size / 1e6:.2f} MB); largest probability difference from PyTorch "
        f"on {source}: {difference:.2e}")
    return output


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Export a Backplate checkpoint (best.pt/last.pt from python -m training) and check the "
                    "result against PyTorch on a frame.")
    parser.add_argument("checkpoint", type=Path, help="a checkpoint written by python -m training")
    parser.add_argument("--format", choices=sorted(SUFFIXES), default="onnx",
                        help="onnx (inputs frame[, plate], dynamic H/W), torchscript, or weights: the small "
                             "model-only file for models/weights/ (default onnx)")
    parser.add_argument("-o", "--output", type=Path, help="output file (default: beside the checkpoint)")
    parser.add_argument("--frame", type=Path, help="frame for the parity check (default: a synthetic test card)")
    parser.add_argument("--plate", type=Path, help="its plate (plate model)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.output is not None:
            if args.output.is_dir():
                raise UsageError(f"--output {args.output} is a folder; pass a file name, e.g. "
                                 f"{args.output / ('model' + SUFFIXES[args.format])}")
            writable_folder(args.output.parent, "--output's folder")
        export(args.checkpoint, args.format, args.output, args.frame, args.plate)
    except (CheckpointError, ValueError) as exc:  # a UsageError is a ValueError too
        return report_usage_error(exc, PROG)
    except OSError as exc:
        return report_usage_error(f"cannot write {exc.filename or args.output}: {exc.strerror}; pass --output "
                                  f"in a folder you can write to", PROG)
    return 0


if __name__ == "__main__":
    sys.exit(main())
