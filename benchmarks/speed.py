"""Speed of our segmentation model beside the baselines: a full frame in, a full-size mask out.

    python -m benchmarks.speed --model plate --size 640x480 --threads 2 --runtime all

Each method runs on the same real webcam frame (the first annotated frame of the first shared capture set, resized
to --size; a synthetic textured frame when the shared data is absent). The methods are timed interleaved: every
round calls each of them once, in turn, so load from elsewhere on the machine hits them alike; after --warmup
rounds, --repeats rounds are timed with a wall clock. The table gives the median, the 10th-90th percentile spread,
and "x MediaPipe": the median over rounds of our time divided by MediaPipe's in the same round.

Ours goes through Segmenter.segment with the same plate array every call, so the plate's features stay cached as
in the live app; resizing, normalising and the guided upsampling to the full frame are inside the timing. --runtime
picks the engine's runtime (repeatable; 'all' times every installed one; default: the engine's own measured
choice). MOG2 is primed on the plate as in benchmarks.baselines and classifies with learningRate=0; MediaPipe's
converts BGR to RGB inside the timing. --threads sets PyTorch's, OpenCV's and the compiled runtimes' thread counts;
MediaPipe picks its own. OMP_WAIT_POLICY is PASSIVE unless set, as in the app. The first lines name the CPU, its
instruction sets and any ISA limit set in the environment (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA).

Speed does not depend on the weights, so --untrained times the default architecture before any weights exist.
The last line is machine-readable: ms_per_frame=X.X (our first row's median).
"""
import os

# As the app runs the engine (main.py): idle OpenMP threads sleep rather than spin on the other core.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import statistics
import sys
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from benchmarks._table import format_number, print_table
from benchmarks.accuracy import BenchmarkInputError, load_our_model, resolve_model_path
from benchmarks.baselines import build_baselines
from benchmarks.timing import time_interleaved
from commandline import non_negative_int, parse_size, positive_int  # parse_size -> FrameSize(width, height)
from fileio.capture_sets import list_sets, read_image
from fileio.shared_data import SharedDataMissing, shared_path
from process_settings import configure_process


def benchmark_frames(size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray, str]:
    """(frame, plate, where they came from) at size (width, height)."""
    try:
        capture = next(s for s in list_sets(shared_path("data", "webcam_sets")) if s.has_plate and s.frames)
        frame, plate = read_image(capture.frames[0].image_path), read_image(capture.plate_path)
        source = f"{capture.frames[0].image_path} with its plate"
    except (SharedDataMissing, StopIteration):
        rng = np.random.default_rng(0)
        plate = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (0, 0), 3)
        frame = plate.copy()
        cv2.ellipse(frame, (320, 260), (110, 200), 0, 0, 360, (60, 90, 160), -1)
        source = "a synthetic frame (shared data not found)"
    if (frame.shape[1], frame.shape[0]) != size:
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        plate = cv2.resize(plate, size, interpolation=cv2.INTER_AREA)
        source += f", resized to {size[0]}x{size[1]}"
    return frame, plate, source


RUNTIME_CHOICES = ("auto", "torch", "openvino", "onnxruntime", "all")
ISA_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")


def build_our_segmenter(model: str, untrained: bool, device: str, runtime: str = "auto"):
    if not untrained:
        return load_our_model(model, device, runtime=runtime)
    if model not in ("plate", "single"):
        raise BenchmarkInputError("--untrained builds a default architecture: use it with --model plate or single")
    from models.plate_net import PlateNet
    from models.segmenter import Segmenter
    from models.unet import LikeUnet
    if model == "plate":
        return Segmenter(plate_model=PlateNet(), device=device, runtime=runtime)
    return Segmenter(single_model=LikeUnet(), device=device, runtime=runtime)


def requested_runtimes(requested: Optional[List[str]]) -> List[str]:
    """--runtime values in order, 'all' expanded to every installed runtime; default: the engine's choice."""
    from models.runtimes import RUNTIMES, runtime_missing
    names = []
    for name in requested or ["auto"]:
        for one in ([r for r in RUNTIMES if not runtime_missing(r)] if name == "all" else [name]):
            if one not in names:
                names.append(one)
    return names


def machine_lines(threads: int) -> List[str]:
    """What the timings came from: the CPU and its instruction sets, and any ISA limit in the environment."""
    from models.cpu_features import describe_cpu
    lines = [f"CPU: {describe_cpu()}; {threads} threads for ours"]
    limits = [f"{name}={os.environ[name]}" for name in ISA_VARIABLES if os.environ.get(name)]
    if limits:
        lines.append(f"ISA limits from the environment: {' '.join(limits)} (oneDNN, in PyTorch and OpenVINO, and "
                     f"PyTorch's own kernels honour them; ONNX Runtime and MediaPipe do not)")
    return lines


def ratio_to(timings: List[float], reference: Optional[List[float]]) -> Optional[float]:
    """Median over rounds of timings[i] / reference[i] (both from the same interleaved rounds)."""
    if not reference:
        return None
    return statistics.median(ours / theirs for ours, theirs in zip(timings, reference) if theirs > 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speed",
        description="Median ms per frame of our segmentation model (frame in, full-size mask out, plate cached) "
                    "beside absdiff+morphology, MOG2 and MediaPipe selfie on the same frame.",
        epilog="The last line reads: ms_per_frame=X.X (our model's median).")
    parser.add_argument("--model", default="plate",
                        help="'plate' or 'single' (default weights), or a checkpoint path (default: plate)")
    parser.add_argument("--untrained", action="store_true",
                        help="time the default plate/single architecture with random weights (same speed)")
    parser.add_argument("--size", default="640x480", help="frame size WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--runtime", action="append", choices=RUNTIME_CHOICES, default=None,
                        help="our engine's runtime: torch, openvino, onnxruntime, all, or auto (the engine's "
                             "measured choice, the default); repeat to compare several in one run")
    parser.add_argument("--threads", type=positive_int, default=2,
                        help="CPU threads for PyTorch, OpenCV and the compiled runtimes (default 2)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where our model runs (default: auto)")
    parser.add_argument("--warmup", type=non_negative_int, default=5, help="untimed rounds first (default 5)")
    parser.add_argument("--repeats", type=positive_int, default=50, help="timed rounds (default 50)")
    parser.add_argument("--no-mediapipe", action="store_true", help="leave out the MediaPipe selfie baseline")
    parser.add_argument("--no-person-gate", action="store_true",
                        help="single-frame model: leave out the row that times it behind the PoseNet person gate")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        size = parse_size(args.size)
        cv2.setNumThreads(args.threads)
        configure_process(threads=args.threads)
        segmenters = [(runtime, build_our_segmenter(args.model, args.untrained, args.device, runtime))
                      for runtime in requested_runtimes(args.runtime)]
    except (BenchmarkInputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    frame, plate, source = benchmark_frames(size)
    uses_plate = segmenters[0][1].has_plate_model
    model_text = f"untrained {args.model} architecture" if args.untrained else str(resolve_model_path(args.model))
    print(f"Segmentation speed: {size[0]}x{size[1]} frame in, full-size mask out; {args.repeats} interleaved "
          f"rounds after {args.warmup} warm-up rounds")
    for line in machine_lines(args.threads):
        print(line)
    print(f"Frame: {source}")
    print(f"Ours: {model_text}")

    calls, labels = {}, {}
    for requested, segmenter in segmenters:
        name = f"ours ({'plate' if uses_plate else 'single'}, {segmenter.runtime} {segmenter.precision}" + \
            (", measured choice)" if requested == "auto" else ")")
        calls[name] = (lambda s=segmenter: s.segment(frame, plate if uses_plate else None))
        labels[name] = "yes" if uses_plate else "no"
    if not uses_plate and not args.no_person_gate:
        # What the app and the cut-out tool run: the single-frame model behind the PoseNet person gate.
        from models.segmenter import load_person_gate
        gated = segmenters[0][1].with_person_gate(load_person_gate())
        name = f"ours (single + person gate, {gated.runtime} {gated.precision})"
        calls[name] = (lambda: gated.segment(frame))
        labels[name] = "no"
    baselines, notes = build_baselines(use_mediapipe=not args.no_mediapipe)
    for baseline in baselines:
        baseline.start_set(plate)
        calls[baseline.name] = (lambda b=baseline: b.predict(frame, plate))
        labels[baseline.name] = "yes" if baseline.needs_plate else "no"
    for note in notes:
        print(f"note: {note}")
    print()
    try:
        timings = time_interleaved(calls, args.warmup, args.repeats)
    finally:
        for baseline in baselines:
            baseline.close()

    mediapipe = timings.get("MediaPipe selfie")
    table = []
    for name, values in timings.items():
        median = statistics.median(values)
        p10, p90 = (float(np.percentile(values, q)) for q in (10, 90))
        table.append([name, labels[name], format_number(median, 1), f"{p10:.1f}-{p90:.1f}",
                      format_number(1000.0 / median if median > 0 else float("nan"), 0),
                      format_number(ratio_to(values, mediapipe), 2)])
    print_table(["method", "plate", "median ms", "p10-p90 ms", "fps", "x MediaPipe"], table)
    print(f"ms_per_frame={statistics.median(timings[next(iter(calls))]):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
