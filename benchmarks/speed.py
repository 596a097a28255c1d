"""Speed of our segmentation model beside the baselines: a full frame in, a full-size mask out.

    python -m benchmarks.speed --model plate --size 640x480 --threads 2

Each method runs on the same real webcam frame (the first annotated frame of the first shared capture set, resized
to --size; a synthetic textured frame when the shared data is absent). After --warmup calls, --repeats calls are
timed with a wall clock and the median is reported. Ours goes through Segmenter.segment with the same plate array
every call, so the plate's features stay cached as in the live app; MOG2 is primed on the plate as in
benchmarks.baselines and classifies with learningRate=0; MediaPipe's converts BGR to RGB inside the timing.
--threads sets PyTorch's and OpenCV's thread counts; MediaPipe picks its own.

Speed does not depend on the weights, so --untrained times the default architecture before any weights exist.
The last line is machine-readable: ms_per_frame=X.X (our model's median).
"""
import argparse
import statistics
import sys
import time
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from benchmarks._table import format_number, print_table
from benchmarks.accuracy import BenchmarkInputError, load_our_model, resolve_model_path
from benchmarks.baselines import build_baselines
from fileio.capture_sets import list_sets, read_image
from fileio.shared_data import SharedDataMissing, shared_path
from process_settings import configure_process


def parse_size(text: str) -> Tuple[int, int]:
    """'640x480' -> (640, 480)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise BenchmarkInputError(f"--size {text!r}: give WIDTHxHEIGHT, e.g. 640x480")
    if width < 32 or height < 32:
        raise BenchmarkInputError(f"--size {text!r}: both sides must be at least 32 pixels")
    return width, height


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


def time_calls(call: Callable[[], object], warmup: int, repeats: int) -> List[float]:
    """Milliseconds of each of `repeats` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1000.0)
    return timings


def build_our_segmenter(model: str, untrained: bool, device: str):
    if not untrained:
        return load_our_model(model, device)
    if model not in ("plate", "single"):
        raise BenchmarkInputError("--untrained builds a default architecture: use it with --model plate or single")
    from models.plate_net import PlateNet
    from models.segmenter import Segmenter
    from models.unet import LikeUnet
    if model == "plate":
        return Segmenter(plate_model=PlateNet(), device=device)
    return Segmenter(single_model=LikeUnet(), device=device)


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
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for PyTorch and OpenCV (default 2)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where our model runs (default: auto)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first (default 5)")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls (default 50)")
    parser.add_argument("--no-mediapipe", action="store_true", help="leave out the MediaPipe selfie baseline")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        size = parse_size(args.size)
        if args.threads < 1 or args.repeats < 1 or args.warmup < 0:
            raise BenchmarkInputError("--threads and --repeats must be at least 1, --warmup at least 0")
        cv2.setNumThreads(args.threads)
        configure_process(threads=args.threads)
        segmenter = build_our_segmenter(args.model, args.untrained, args.device)
    except (BenchmarkInputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    frame, plate, source = benchmark_frames(size)
    uses_plate = segmenter.has_plate_model
    ours_name = "ours (plate)" if uses_plate else "ours (single)"
    model_text = f"untrained {args.model} architecture" if args.untrained else str(resolve_model_path(args.model))
    print(f"Segmentation speed: {size[0]}x{size[1]} frame in, full-size mask out; median of {args.repeats} calls "
          f"after {args.warmup} warm-up calls")
    print(f"Frame: {source}")
    print(f"Ours: {model_text} on {segmenter.device} ({segmenter.precision}), {args.threads} threads")

    rows = []
    ours_timings = time_calls(lambda: segmenter.segment(frame, plate if uses_plate else None),
                              args.warmup, args.repeats)
    rows.append((ours_name, "yes" if uses_plate else "no", ours_timings))
    baselines, notes = build_baselines(use_mediapipe=not args.no_mediapipe)
    for baseline in baselines:
        baseline.start_set(plate)
        timings = time_calls(lambda: baseline.predict(frame, plate), args.warmup, args.repeats)
        rows.append((baseline.name, "yes" if baseline.needs_plate else "no", timings))
        baseline.close()
    for note in notes:
        print(f"note: {note}")
    print()

    table = []
    for name, needs_plate, timings in rows:
        median = statistics.median(timings)
        p90 = float(np.percentile(timings, 90))
        table.append([name, needs_plate, format_number(median, 1), format_number(p90, 1),
                      format_number(1000.0 / median if median > 0 else float("nan"), 0)])
    print_table(["method", "plate", "median ms", "p90 ms", "fps"], table)
    print(f"ms_per_frame={statistics.median(ours_timings):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
