"""Speed of the palm trackers on real 640x480 webcam frames, PoseNet beside MediaPipe Hands.

    python -m benchmarks.palm --threads 2 --repeats 40

Frames: every frame of the shared webcam capture sets (640x480, people in view), cycled in order so
MediaPipe's tracking mode sees a realistic stream. Each row runs --warmup untimed calls, then --repeats
timed calls (wall clock); median and 90th percentile are reported. Tracker rows time tracker.update():
BGR frame in, smoothed palm points out, including any resize and colour conversion. The PoseNet network
and decode rows split the PoseNet tracker's time. --threads sets PyTorch's and OpenCV's thread counts;
MediaPipe picks its own. Target: <= 15 ms per processed frame.
"""
import argparse
import statistics
import sys
from typing import List

import cv2
import numpy as np

from benchmarks._table import format_number, print_table
from benchmarks.timing import time_calls
from commandline import existing_file, non_negative_int, positive_int
from fileio.capture_sets import list_sets, read_image
from fileio.shared_data import SharedDataMissing, shared_path
from process_settings import configure_process

TARGET_MS = 15.0


def webcam_frames(limit: int = 60) -> List[np.ndarray]:
    """The shared capture sets' frames in order (people in view), at 640x480."""
    frames = []
    for capture_set in list_sets(shared_path("data", "webcam_sets")):
        for frame in capture_set.frames:
            frames.append(cv2.resize(read_image(frame.image_path), (640, 480)))
            if len(frames) >= limit:
                return frames
    return frames


def row(name, times, outputs=None):
    p90 = float(np.percentile(times, 90))
    palms = format_number(float(np.mean([len(o) for o in outputs])), 2) if outputs is not None else ""
    median = statistics.median(times)
    return [name, format_number(median, 1), format_number(p90, 1), palms,
            "yes" if median <= TARGET_MS else "no"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.palm", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--threads", type=positive_int, default=2, help="PyTorch/OpenCV threads (default 2)")
    parser.add_argument("--warmup", type=non_negative_int, default=5, help="untimed calls per row (default 5)")
    parser.add_argument("--repeats", type=positive_int, default=40, help="timed calls per row (default 40)")
    parser.add_argument("--posenet-weights", type=existing_file, default=None,
                        help="converted PoseNet .pth (default: the shared test weights, then the user cache)")
    args = parser.parse_args(argv)
    configure_process(threads=args.threads)
    cv2.setNumThreads(args.threads)

    from app.palm_tracking import MediaPipePalmTracker, PoseNetPalmTracker
    from models.posenet import find_weights
    try:
        frames = webcam_frames()
        weights = args.posenet_weights or find_weights() or shared_path("models", "posenet_mobilenet_v1_050.pth")
    except SharedDataMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not frames:
        print("error: no webcam frames found in the shared capture sets", file=sys.stderr)
        return 2

    rows = []
    for long_side in (257, 353):
        tracker = PoseNetPalmTracker(weights, long_side=long_side)
        times, outputs = time_calls(lambda i: tracker.update(frames[i % len(frames)]), args.warmup, args.repeats)
        network, decode = [], []
        for frame in frames[:args.repeats]:
            tracker.posenet.estimate(frame)
            network.append(tracker.posenet.last_network_ms)
            decode.append(tracker.posenet.last_decode_ms)
        label = f"PoseNet MobileNetV1-0.50 @{long_side} long side"
        rows.append([f"{label}: tracker", *row("", times, outputs)[1:]])
        rows.append(["  network only", *row("", network)[1:]])
        rows.append(["  decode only (numpy)", *row("", decode)[1:]])
    for work_width in (320, 640):
        tracker = MediaPipePalmTracker(work_width=work_width)
        try:
            times, outputs = time_calls(lambda i: tracker.update(frames[i % len(frames)]), args.warmup,
                                        args.repeats)
        finally:
            tracker.close()
        rows.append([f"MediaPipe Hands (lite) @{work_width} wide: tracker", *row("", times, outputs)[1:]])
    print_table(["method (640x480 frames)", "median ms", "p90 ms", "palms/frame", f"<= {TARGET_MS:.0f} ms"], rows,
                title=f"Palm trackers, {len(frames)} real webcam frames, {args.threads} threads, "
                      f"{args.repeats} timed calls each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
