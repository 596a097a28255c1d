"""Capture-loop frame rate of the live app, with and without segmentation and palm tracking.

    python -m benchmarks.capture_fps                                        # the table below, pets video
    python -m benchmarks.capture_fps --size 1920x1080 --fps 30 --palm posenet   # one case and its baseline

The source is the pets video (480x360), upscaled to --size like a higher-resolution webcam; --fps paces it like a
camera (unpaced: as fast as it decodes). With --size, --fps or --palm, one case runs: the app's design (capture
thread, segmentation and palm workers, the display loop composing the blur view) beside a synchronous baseline
(read -> palms -> segment -> compose in one thread). Without them, the full table runs:
- raw decode: cv2.VideoCapture.read() in a tight loop, the ceiling for this video.
- capture thread: the app's CaptureThread alone (newest-frame slot, unpaced).
- live loop, segmentation off: LiveSession.step() on every new frame (compose + overlay), no model.
- live loop + worker, single / plate model: segmentation on its own thread on the newest frame, unpaced and at
  30 fps, at the video's size and at 1920x1080, with and without palms; and the synchronous baselines.

Columns: "display fps" is how many distinct frames the loop showed per second; "model/s" how many masks were
computed; "model ms" the engine's own time per mask; "result age" how old the frame behind the mask on screen was
when shown (median and 90th percentile): capture to display. The first lines name the CPU and its instruction sets,
and the engine's runtime and precision; the memory line is the process's resident memory (now and peak).
Without trained default weights, untrained models of the same architectures are used (same cost).
The last line is exactly: display_fps=X.X model_per_s=X.X (the case, or the table's last live-loop row).
"""
import os

# Torch runs on a worker thread here, as in the app: spinning OpenMP threads would steal the other core.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np

from app.capture_storage import CaptureStorage
from app.frame_source import VideoReader
from app.session import LiveSession, SessionOptions
from app.segmentation import MASK_LONG_SIDE
from app.views import View, compose
from app.workers import CaptureThread
from benchmarks._table import format_number, print_table
from commandline import parse_size, positive_float, positive_int
from fileio.shared_data import shared_path
from process_settings import configure_process

WARMUP_S = 1.5
HD = (1920, 1080)
PALM_CHOICES = ("posenet", "mediapipe", "none")


def video_path() -> Path:
    return shared_path("data", "videos", "pets2009_s2l1_vtest.avi")


class ScaledReader:
    """The pets video resized to size (w, h), standing in for a higher-resolution webcam."""

    def __init__(self, size, loop=True):
        self.inner = VideoReader(video_path(), loop=loop)
        self.size = tuple(size) if size else None
        self.is_live = self.inner.is_live
        self.native_fps = self.inner.native_fps

    def read(self):
        frame = self.inner.read()
        if frame is None or self.size is None or (frame.shape[1], frame.shape[0]) == self.size:
            return frame
        return cv2.resize(frame, self.size, interpolation=cv2.INTER_LINEAR)

    def release(self):
        self.inner.release()


def resident_mb() -> tuple:
    """(resident now, peak resident) of this process in MB, from /proc (None elsewhere)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return tuple(int(fields[name].split()[0]) / 1024.0 for name in ("VmRSS", "VmHWM"))
    except (OSError, KeyError, ValueError):
        return None, None


def bench_raw_decode(seconds: float) -> dict:
    reader = VideoReader(video_path(), loop=True)
    frames, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        reader.read()
        frames += 1
    reader.release()
    fps = frames / (time.perf_counter() - start)
    return {"display": None, "capture": fps}


def bench_capture_thread(seconds: float) -> dict:
    capture = CaptureThread(VideoReader(video_path(), loop=True))
    capture.start()
    time.sleep(WARMUP_S)
    seq0, start = capture.frames.get()[0], time.perf_counter()
    time.sleep(seconds)
    fps = (capture.frames.get()[0] - seq0) / (time.perf_counter() - start)
    capture.stop()
    return {"display": None, "capture": fps}


def percentiles(values: List[float]) -> Optional[tuple]:
    return (statistics.median(values), float(np.percentile(values, 90))) if values else None


def bench_live_loop(seconds: float, segmenter, with_plate: bool, root: Path, pace_fps=None, size=None,
                    palm_tracker=None) -> dict:
    """The app's threads: capture, segmentation worker, palm worker, and this thread as the display loop."""
    capture = CaptureThread(ScaledReader(size), pace_fps=pace_fps)
    storage = CaptureStorage(root)
    session = LiveSession(capture, storage, SessionOptions(view=View.BLUR), segmenter=segmenter,
                          segmentation_note="benchmark: off", palm_tracker=palm_tracker)
    if with_plate:
        session.set_plate(ScaledReader(size, loop=False).read())  # as after Bkg, without waiting for a countdown
    session.start()
    worker = session.segmentation_worker
    try:
        time.sleep(WARMUP_S)
        shown, seen = 0, capture.frames.get()[0]
        model_seq0 = worker.results.get()[0] if worker else 0
        palm_seq0 = session.palm_worker.results.get()[0] if session.palm_worker else 0
        latencies, ages, modes = [], [], set()
        captured0, start = seen, time.perf_counter()
        while time.perf_counter() - start < seconds:
            item = capture.frames.wait_newer(seen, timeout=0.1)
            if item is None:
                continue
            seen = item[0]
            session.step()
            shown += 1
            if worker is not None:
                _, result, stamp = worker.results.get_stamped()
                if result is not None and result[1].mode:
                    ages.append((time.monotonic() - stamp) * 1000.0)
                    latencies.append(result[1].latency_ms)
                    modes.add(result[1].mode)
        elapsed = time.perf_counter() - start
        row = {"display": shown / elapsed, "capture": (seen - captured0) / elapsed}
        if session.palm_worker is not None:
            row["palms"] = (session.palm_worker.results.get()[0] - palm_seq0) / elapsed
        if worker is not None:
            if worker.error:
                raise RuntimeError(worker.error)
            row["model"] = (worker.results.get()[0] - model_seq0) / elapsed
            row["latency"] = statistics.median(latencies) if latencies else None
            row["age"] = percentiles(ages)
            row["mode"] = "+".join(sorted(modes))
        return row
    finally:
        session.palm_tracker = None  # shared between rows; closed by main()
        session.close()


def bench_synchronous(seconds: float, segmenter, with_plate: bool, pace_fps=None, size=None,
                      palm_tracker=None) -> dict:
    """What a loop without workers does: read -> palms -> segment -> compose, one frame at a time."""
    reader = ScaledReader(size)
    plate = reader.read() if with_plate else None
    frames, latencies, ages = 0, [], []
    start = next_due = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if pace_fps:  # a camera delivers a frame every 1/fps s; a late loop simply gets the next one
            time.sleep(max(0.0, next_due - time.perf_counter()))
            next_due = max(next_due + 1.0 / pace_fps, time.perf_counter())
        taken = time.perf_counter()
        frame = reader.read()
        if palm_tracker is not None:
            palm_tracker.update(frame)
        mask = segmenter.segment(frame, plate_bgr=plate, mask_long_side=MASK_LONG_SIDE)
        compose(View.BLUR, frame, mask)
        latencies.append(segmenter.last_latency_ms)
        ages.append((time.perf_counter() - taken) * 1000.0)
        frames += 1
    reader.release()
    fps = frames / (time.perf_counter() - start)
    return {"display": fps, "capture": fps, "model": fps, "latency": statistics.median(latencies),
            "age": percentiles(ages), "palms": fps if palm_tracker is not None else None}


def load_segmenter(weights: str, runtime: str = "auto"):
    from models.checkpoint import CheckpointError
    from models.plate_net import PlateNet
    from models.segmenter import Segmenter
    from models.unet import LikeUnet
    try:
        return Segmenter.load(weights, runtime=runtime, person_gate=True), f"weights: {weights}"
    except CheckpointError as exc:
        if weights != "default":
            raise SystemExit(f"capture_fps: {exc}")
    # Same architectures as the shipped models, untrained: the timing is what matters here.
    return Segmenter(plate_model=PlateNet().eval(), single_model=LikeUnet().eval(), runtime=runtime), \
        "weights: untrained PlateNet + LikeUnet (default weights not trained yet)"


def load_palm_tracker(choice: str = "auto"):
    """The palm tracker for the rows that run it beside the model; (None, why) if none."""
    try:
        from app.palm_tracking import make_palm_tracker
        tracker, reason = make_palm_tracker(choice, None)
    except Exception as exc:  # palm tracking is optional for this benchmark
        return None, f"palms off ({exc})"
    return tracker, reason


def case_plans(args, segmenter, palms, scratch: Path):
    """The one case asked for, then its synchronous baseline."""
    size = tuple(args.size) if args.size else None
    where = f"{args.size or 'native size'}, {f'{args.fps:g} fps' if args.fps else 'unpaced'}"
    with_plate = args.model == "plate"
    extra = f" + palms ({args.palm})" if palms is not None else ""
    return [
        (f"live loop + workers, {args.model} model{extra}, {where}", lambda: bench_live_loop(
            args.seconds, segmenter, with_plate, scratch / "case", pace_fps=args.fps, size=size, palm_tracker=palms)),
        (f"baseline: synchronous, {args.model} model{extra}, {where}", lambda: bench_synchronous(
            args.seconds, segmenter, with_plate, pace_fps=args.fps, size=size, palm_tracker=palms)),
    ]


def table_plans(args, segmenter, palms, scratch: Path):
    seconds = args.seconds
    plans = [
        ("raw decode (cv2 read loop)", lambda: bench_raw_decode(seconds)),
        ("capture thread only", lambda: bench_capture_thread(seconds)),
        ("live loop, segmentation off", lambda: bench_live_loop(seconds, None, False, scratch / "a")),
        ("live loop + worker, single model", lambda: bench_live_loop(seconds, segmenter, False, scratch / "b")),
        ("live loop + worker, plate model", lambda: bench_live_loop(seconds, segmenter, True, scratch / "c")),
        ("baseline: synchronous, single model", lambda: bench_synchronous(seconds, segmenter, False)),
        ("baseline: synchronous, plate model", lambda: bench_synchronous(seconds, segmenter, True)),
        ("baseline: synchronous, plate model, 30 fps source", lambda: bench_synchronous(
            seconds, segmenter, True, pace_fps=30)),
        ("baseline: synchronous, plate model, 30 fps 1920x1080", lambda: bench_synchronous(
            seconds, segmenter, True, pace_fps=30, size=HD)),
        ("live loop + worker, plate model, 30 fps 1920x1080", lambda: bench_live_loop(
            seconds, segmenter, True, scratch / "e", pace_fps=30, size=HD)),
        ("live loop + worker, plate model, 30 fps source", lambda: bench_live_loop(
            seconds, segmenter, True, scratch / "d", pace_fps=30)),
    ]
    if palms is not None:
        plans.insert(-2, ("baseline: synchronous, plate model + palms, 30 fps 1920x1080", lambda: bench_synchronous(
            seconds, segmenter, True, pace_fps=30, size=HD, palm_tracker=palms)))
        plans.append(("live loop + workers, plate model + palms, 30 fps 1920x1080", lambda: bench_live_loop(
            seconds, segmenter, True, scratch / "f", pace_fps=30, size=HD, palm_tracker=palms)))
    return plans


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.capture_fps", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=6.0,
                        help="measuring time per row (after 1.5 s warm-up)")
    parser.add_argument("--weights", default="default", help="'default' or a checkpoint for the model rows")
    parser.add_argument("--size", type=parse_size, default=None,
                        help="one case: frames upscaled to WIDTHxHEIGHT, e.g. 1920x1080 (default: the video's)")
    parser.add_argument("--fps", type=positive_float, default=None,
                        help="one case: pace the source at N frames per second like a camera (default: unpaced)")
    parser.add_argument("--palm", choices=PALM_CHOICES, default=None,
                        help="one case: palm tracker beside segmentation (default: none); in the full table, the "
                             "app's default tracker runs in the palm rows")
    parser.add_argument("--model", choices=("plate", "single"), default="plate",
                        help="one case: which model segments (default: plate)")
    parser.add_argument("--runtime", choices=("auto", "torch", "openvino", "onnxruntime"), default="auto",
                        help="the engine's runtime (default: auto, its measured choice, as in the app)")
    parser.add_argument("--threads", type=positive_int, default=2,
                        help="threads for PyTorch, OpenCV and the compiled runtimes (default 2)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        video_path()
    except FileNotFoundError as exc:
        print(f"capture_fps: {exc}", file=sys.stderr)
        return 2
    configure_process(threads=args.threads)
    cv2.setNumThreads(args.threads)
    one_case = args.size is not None or args.fps is not None or args.palm is not None

    from models.cpu_features import describe_cpu
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        try:
            segmenter, weights_note = load_segmenter(args.weights, args.runtime)
        except ValueError as exc:  # e.g. a runtime that is not installed
            print(f"capture_fps: {exc}", file=sys.stderr)
            return 2
        palm_choice = (args.palm or "none") if one_case else "auto"
        palms, palm_note = load_palm_tracker(palm_choice) if palm_choice != "none" else (None, "palms: none")
        plans = case_plans(args, segmenter, palms, scratch) if one_case else table_plans(args, segmenter, palms,
                                                                                       scratch)
        rows, live_results = [], []
        for i, (name, run) in enumerate(plans, 1):
            print(f"[{i}/{len(plans)}] {name} ...", file=sys.stderr, flush=True)
            result = run()
            if name.startswith("live loop +"):
                live_results.append(result)
            age = result.get("age")
            rows.append([name, format_number(result.get("display"), 1), format_number(result.get("capture"), 1),
                         format_number(result.get("model"), 1), format_number(result.get("palms"), 1),
                         format_number(result.get("latency"), 1),
                         f"{age[0]:.0f} / {age[1]:.0f}" if age else "n/a"])
        if palms is not None:
            palms.close()
    now_mb, peak_mb = resident_mb()
    print(f"CPU: {describe_cpu()}; {args.threads} threads")
    print(f"Engine: {segmenter.describe()}; {weights_note}; {palm_note}; view: blur")
    print_table(["configuration", "display fps", "capture fps", "model/s", "palms/s", "model ms", "result age ms"],
                rows, title=f"Capture loop on pets2009_s2l1_vtest.avi (480x360, upscaled where noted), "
                            f"{args.seconds:g} s per row")
    if now_mb is not None:
        print(f"memory: resident {now_mb:.0f} MB now, {peak_mb:.0f} MB peak")
    # The case is the first live row; the table's summary is its last one (the 1080p rows come last).
    summary = live_results[0] if one_case else live_results[-1]
    print(f"display_fps={summary.get('display') or 0.0:.1f} model_per_s={summary.get('model') or 0.0:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
