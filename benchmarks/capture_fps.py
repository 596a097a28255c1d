"""Capture-loop frame rate of the live app on the pets video, with and without segmentation.

    python -m benchmarks.capture_fps [--seconds 6] [--weights default|PATH]

Rows:
- raw decode: cv2.VideoCapture.read() in a tight loop, the ceiling for this video.
- capture thread: the app's CaptureThread alone (newest-frame slot, unpaced).
- live loop, segmentation off: LiveSession.step() on every new frame (compose + overlay), no model.
- live loop + worker, single / plate model: the app's design, segmentation on its own thread on the newest frame.
- ... 30 fps source: the video paced like a webcam, so the model gets the CPU the decoder took above;
  "1920x1080": frames upscaled like a 1080p webcam.
- ... + palms: the palm tracker runs too (its own worker in the app, in line in the baseline).
- synchronous baseline: read -> segment -> compose in one thread, what a loop without the worker would do: its
  display rate is capped by the model, while the worker design shows every camera frame whatever the model does.
Unpaced rows let the decoder take a whole core, so their model rows run slower than at a camera's pace.
"display fps" is how many distinct frames the loop shows per second; "model/s" how many masks were computed.
Without trained default weights, untrained checkpoints of the same architectures are used (same cost).
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

import cv2

from app.capture_storage import CaptureStorage
from app.frame_source import VideoReader
from app.session import LiveSession, SessionOptions
from app.views import View, compose
from app.workers import CaptureThread
from benchmarks._table import format_number, print_table
from fileio.shared_data import shared_path

WARMUP_S = 1.0
HD = (1920, 1080)  # the pets frames upscaled, as from a 1080p webcam


def video_path() -> Path:
    return shared_path("data", "videos", "pets2009_s2l1_vtest.avi")


class ScaledReader:
    """The pets video resized to size (w, h), standing in for a higher-resolution webcam."""

    def __init__(self, size, loop=True):
        self.inner = VideoReader(video_path(), loop=loop)
        self.size = size
        self.is_live = self.inner.is_live
        self.native_fps = self.inner.native_fps

    def read(self):
        frame = self.inner.read()
        if frame is None or self.size is None:
            return frame
        return cv2.resize(frame, self.size, interpolation=cv2.INTER_LINEAR)

    def release(self):
        self.inner.release()


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


def bench_live_loop(seconds: float, segmenter, with_plate: bool, root: Path, pace_fps=None, size=None,
                    palm_tracker=None) -> dict:
    capture = CaptureThread(ScaledReader(size), pace_fps=pace_fps)
    storage = CaptureStorage(root)
    session = LiveSession(capture, storage, SessionOptions(view=View.BLUR), segmenter=segmenter,
                          segmentation_note="benchmark: off", palm_tracker=palm_tracker)
    if with_plate:
        plate = ScaledReader(size, loop=False).read()
        session._set_plate(plate)  # as after Bkg, without waiting for a countdown
    session.start()
    worker = session.segmentation_worker
    try:
        time.sleep(WARMUP_S)
        shown, seen = 0, capture.frames.get()[0]
        model_seq0 = worker.results.get()[0] if worker else 0
        latencies, modes = [], set()
        captured0, start = seen, time.perf_counter()
        while time.perf_counter() - start < seconds:
            item = capture.frames.wait_newer(seen, timeout=0.1)
            if item is None:
                continue
            seen = item[0]
            session.step()
            shown += 1
            if worker is not None:
                result = worker.results.get()[1]
                if result is not None and result[1].mode:
                    latencies.append(result[1].latency_ms)
                    modes.add(result[1].mode)
        elapsed = time.perf_counter() - start
        row = {"display": shown / elapsed, "capture": (seen - captured0) / elapsed}
        if worker is not None:
            if worker.error:
                raise RuntimeError(worker.error)
            row["model"] = (worker.results.get()[0] - model_seq0) / elapsed
            row["latency"] = statistics.median(latencies) if latencies else None
            row["mode"] = "+".join(sorted(modes))
        return row
    finally:
        session.palm_tracker = None  # shared between rows; closed by main()
        session.close()


def bench_synchronous(seconds: float, segmenter, with_plate: bool, pace_fps=None, size=None,
                      palm_tracker=None) -> dict:
    reader = ScaledReader(size)
    plate = reader.read() if with_plate else None
    frames, latencies = 0, []
    start = next_due = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if pace_fps:  # a camera delivers a frame every 1/fps s; a late loop simply gets the next one
            time.sleep(max(0.0, next_due - time.perf_counter()))
            next_due = max(next_due + 1.0 / pace_fps, time.perf_counter())
        frame = reader.read()
        if palm_tracker is not None:
            palm_tracker.update(frame)
        mask = segmenter.segment(frame, plate_bgr=plate)
        compose(View.BLUR, frame, mask)
        latencies.append(segmenter.last_latency_ms)
        frames += 1
    reader.release()
    fps = frames / (time.perf_counter() - start)
    return {"display": fps, "capture": fps, "model": fps, "latency": statistics.median(latencies)}


def load_segmenter(weights: str):
    from models.checkpoint import CheckpointError
    from models.plate_net import PlateNet
    from models.segmenter import Segmenter
    from models.unet import LikeUnet
    try:
        return Segmenter.load(weights), f"weights: {weights}"
    except CheckpointError as exc:
        if weights != "default":
            raise SystemExit(f"capture_fps: {exc}")
    # Same architectures as the shipped models, untrained: the timing is what matters here.
    return Segmenter(plate_model=PlateNet().eval(), single_model=LikeUnet().eval()), \
        "weights: untrained PlateNet + LikeUnet (default weights not trained yet)"


def load_palm_tracker():
    """The app's default palm tracker, for the rows that run it beside the model; (None, why) if none."""
    try:
        from app.palm_tracking import make_palm_tracker
        tracker, reason = make_palm_tracker("auto", None)
    except Exception as exc:  # palm tracking is optional for this benchmark
        return None, f"palm rows skipped ({exc})"
    return tracker, reason if tracker is not None else f"palm rows skipped ({reason})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.capture_fps", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0, help="measuring time per row (after 1 s warm-up)")
    parser.add_argument("--weights", default="default", help="'default' or a checkpoint for the model rows")
    args = parser.parse_args(argv)
    try:
        video_path()
    except FileNotFoundError as exc:
        print(f"capture_fps: {exc}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        segmenter, weights_note = load_segmenter(args.weights)
        palms, palm_note = load_palm_tracker()
        plans = [
            ("raw decode (cv2 read loop)", lambda: bench_raw_decode(args.seconds)),
            ("capture thread only", lambda: bench_capture_thread(args.seconds)),
            ("live loop, segmentation off", lambda: bench_live_loop(args.seconds, None, False, scratch / "a")),
            ("live loop + worker, single model", lambda: bench_live_loop(args.seconds, segmenter, False,
                                                                        scratch / "b")),
            ("live loop + worker, plate model", lambda: bench_live_loop(args.seconds, segmenter, True,
                                                                       scratch / "c")),
            ("live loop + worker, plate model, 30 fps source", lambda: bench_live_loop(
                args.seconds, segmenter, True, scratch / "d", pace_fps=30)),
            ("baseline: synchronous, plate model, 30 fps source", lambda: bench_synchronous(
                args.seconds, segmenter, True, pace_fps=30)),
            ("live loop + worker, plate model, 30 fps 1920x1080", lambda: bench_live_loop(
                args.seconds, segmenter, True, scratch / "e", pace_fps=30, size=HD)),
            ("baseline: synchronous, plate model, 30 fps 1920x1080", lambda: bench_synchronous(
                args.seconds, segmenter, True, pace_fps=30, size=HD)),
            ("live loop + workers, plate model + palms, 30 fps 1920x1080", lambda: bench_live_loop(
                args.seconds, segmenter, True, scratch / "f", pace_fps=30, size=HD, palm_tracker=palms)),
            ("baseline: synchronous, plate model + palms, 30 fps 1920x1080", lambda: bench_synchronous(
                args.seconds, segmenter, True, pace_fps=30, size=HD, palm_tracker=palms)),
            ("baseline: synchronous, single model", lambda: bench_synchronous(args.seconds, segmenter, False)),
            ("baseline: synchronous, plate model", lambda: bench_synchronous(args.seconds, segmenter, True)),
        ]
        if palms is None:
            plans = [plan for plan in plans if "palms" not in plan[0]]
        rows = []
        for i, (name, run) in enumerate(plans, 1):
            print(f"[{i}/{len(plans)}] {name} ...", file=sys.stderr, flush=True)
            result = run()
            rows.append([name, format_number(result.get("display"), 1), format_number(result.get("capture"), 1),
                         format_number(result.get("model"), 1), format_number(result.get("latency"), 1)])
        if palms is not None:
            palms.close()
    print_table(["configuration", "display fps", "capture fps", "model/s", "model ms (median)"], rows,
                title=f"Capture loop on pets2009_s2l1_vtest.avi (480x360), unpaced unless noted, {args.seconds:g} s per row; "
                      f"segmenter on {segmenter.device}, precision {segmenter.precision}; {weights_note}; "
                      f"{palm_note}; view: blur")
    return 0


if __name__ == "__main__":
    sys.exit(main())
