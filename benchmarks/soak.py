"""Soak of the live loop: the headless app for many minutes with the plate model and palm tracking on a looping
video, sampling resident memory and the display and model rates every ~10 s.

    python -m benchmarks.soak [--minutes 10] [--sample-every 10] [--threads 1]

The app is built exactly as `main.py --headless` builds it (app.cli.build_session: capture thread, the default
plate + single models, --palm auto, which is PoseNet), on ../shared/data/videos/one_by_one_person_detection.mp4
looping at its own 10 fps. Its frame 0, the empty room, is the plate, set as Bkg would set it. The view is blur.
Each row is one sample: resident memory (RSS), distinct frames shown per second, frames captured per second, masks
and palm results per second, and the median model latency over the sample.

Warm-up (the first --warmup-minutes, at most a third of the run) fills caches and allocator pools; growth is
measured from the first sample after it. Targets: RSS growth < 60 MB, and the display rate does not decay: the
median of the last three samples is at least 90 % of the median of the first three after warm-up (medians, so one
sample hit by load from elsewhere does not decide it). The exit is clean when close() ends every thread within its
bound and no worker stopped with an error. The last line is machine-readable:
    rss_growth_mb=X display_fps_first=X display_fps_last=X clean_exit=yes|no
Not part of CI (it runs for minutes). Timings depend on the load on the machine: run it on a quiet one.
"""
import os

# Torch runs on worker threads here, as in the app: spinning OpenMP threads would steal the other core.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

from benchmarks._table import format_number, print_table
from commandline import ArgumentParser, positive_float, positive_int, report_usage_error
from fileio.shared_data import SharedDataMissing, shared_path

VIDEO = ("data", "videos", "one_by_one_person_detection.mp4")
RSS_GROWTH_LIMIT_MB = 60.0
DISPLAY_DECAY_LIMIT = 0.9  # the last sample's display rate must be at least this share of the first


def resident_mb() -> Optional[float]:
    """This process's resident memory now (Linux /proc); None where it cannot be read."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


class Counters:
    """Running totals read at each sample: frames shown, captured, masks, palm results, model latencies."""

    def __init__(self, session):
        self.session = session
        self.shown = 0
        self._last_frame_seq = None
        self.latencies: List[float] = []
        self._last_mask_seq = 0

    def after_step(self) -> None:
        seq = self.session.capture.frames.get()[0]
        if seq != self._last_frame_seq:
            self.shown, self._last_frame_seq = self.shown + 1, seq
        mask_seq = self.session.segmentation_worker.results.get()[0]
        if mask_seq != self._last_mask_seq:
            self._last_mask_seq = mask_seq
            result = self.session.latest_segmentation()
            if result is not None and result.mode:
                self.latencies.append(result.latency_ms)

    def totals(self):
        s = self.session
        palms = s.palm_worker.results.get()[0] if s.palm_worker is not None else 0
        return (time.monotonic(), self.shown, s.capture.frames.get()[0], s.segmentation_worker.results.get()[0],
                palms)


def open_soak_session(images: Path, weights: str):
    from app.cli import build_parser, build_session
    args = build_parser().parse_args(["--source", str(shared_path(*VIDEO)), "--images", str(images), "--headless",
                                      "--view", "blur", "--weights", weights])
    session, _ = build_session(args)
    session.log = lambda text: None  # the table is the output
    if session.segmenter is None or not session.segmenter.has_plate_model:
        raise SystemExit(f"soak: the plate model is needed ({session.segmentation_note})")
    _, first_frame = session.capture.frames.get()
    session.set_plate(first_frame.copy())  # frame 0, the empty room, as after Bkg
    return session


def run(minutes: float, sample_every: float, warmup_minutes: float, weights: str) -> int:
    from app.headless import TICK_S
    from app.session import SHUTDOWN_TIMEOUT_S
    from models.cpu_features import describe_cpu

    with tempfile.TemporaryDirectory(prefix="backplate-soak-") as scratch:
        session = open_soak_session(Path(scratch), weights)
        counters = Counters(session)
        print(f"CPU: {describe_cpu()}", flush=True)
        print(f"{session.status_text()}", flush=True)
        rows, samples = [], []
        session.start()
        started = time.monotonic()
        previous, previous_latency_count = counters.totals(), 0
        next_sample = started + sample_every
        try:
            end = started + minutes * 60
            while next_sample <= end + 1e-6:  # until the last sample that fits in the run is taken
                session.step()
                counters.after_step()
                now = time.monotonic()
                if now >= next_sample:
                    current = counters.totals()
                    span = current[0] - previous[0]
                    rates = [(c - p) / span for c, p in zip(current[1:], previous[1:])]
                    latencies = counters.latencies[previous_latency_count:]
                    sample = {"t": now - started, "rss": resident_mb(), "display": rates[0], "capture": rates[1],
                              "model": rates[2], "palms": rates[3],
                              "latency": statistics.median(latencies) if latencies else None}
                    samples.append(sample)
                    rows.append([f"{sample['t']:.0f}", format_number(sample["rss"], 1),
                                 format_number(sample["display"], 2), format_number(sample["capture"], 2),
                                 format_number(sample["model"], 2), format_number(sample["palms"], 2),
                                 format_number(sample["latency"], 1)])
                    print("  ".join(rows[-1]), file=sys.stderr, flush=True)
                    previous, previous_latency_count = current, len(counters.latencies)
                    next_sample += sample_every
                time.sleep(TICK_S)
        except KeyboardInterrupt:
            print("interrupted: closing", file=sys.stderr)
        errors = [w.error for w in (session.segmentation_worker, session.palm_worker) if w is not None and w.error]
        close_started = time.monotonic()
        session.close()
        close_s = time.monotonic() - close_started
        threads = [session.capture, session.compositor.thread, session.segmentation_worker, session.palm_worker]
        still_running = [t.name for t in threads if t is not None and t.is_alive()]
    clean = not errors and not still_running and close_s <= SHUTDOWN_TIMEOUT_S + 0.5

    print_table(["t (s)", "RSS (MB)", "display fps", "capture fps", "masks/s", "palms/s", "model ms (median)"],
                rows, title=f"Soak of the live loop: {'/'.join(VIDEO)} looping, plate model + palms, "
                            f"{minutes:g} min, a sample every {sample_every:g} s")
    warmup_s = min(warmup_minutes * 60, minutes * 60 / 3)
    steady = [s for s in samples if s["t"] >= warmup_s] or samples[-1:]
    if not steady or steady[0]["rss"] is None:
        print("soak: no samples (run longer than --sample-every) or no RSS on this system", file=sys.stderr)
        growth = first_fps = last_fps = float("nan")
    else:
        growth = steady[-1]["rss"] - steady[0]["rss"]
        edge = max(1, min(3, len(steady) // 3))
        first_fps = statistics.median(s["display"] for s in steady[:edge])
        last_fps = statistics.median(s["display"] for s in steady[-edge:])
        print(f"after {warmup_s:.0f} s of warm-up: RSS {steady[0]['rss']:.1f} -> {steady[-1]['rss']:.1f} MB "
              f"(growth {growth:+.1f} MB, target < {RSS_GROWTH_LIMIT_MB:g}: "
              f"{'met' if growth < RSS_GROWTH_LIMIT_MB else 'MISSED'}); display {first_fps:.2f} -> {last_fps:.2f} "
              f"fps, medians of the first and last {edge} samples (target >= {DISPLAY_DECAY_LIMIT:.0%} of the first: "
              f"{'met' if last_fps >= DISPLAY_DECAY_LIMIT * first_fps else 'MISSED'})")
    print(f"close() took {close_s:.2f} s; worker errors: {'; '.join(errors) or 'none'}; "
          f"threads still running: {', '.join(still_running) or 'none'}")
    print(f"rss_growth_mb={growth:.1f} display_fps_first={first_fps:.2f} display_fps_last={last_fps:.2f} "
          f"clean_exit={'yes' if clean else 'no'}")
    return 0 if clean else 1


def main(argv=None) -> int:
    parser = ArgumentParser(prog="python -m benchmarks.soak", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=positive_float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--sample-every", type=positive_float, default=10.0, metavar="SECONDS",
                        help="seconds between samples (default 10)")
    parser.add_argument("--warmup-minutes", type=positive_float, default=1.0,
                        help="growth is measured after this (default 1; at most a third of the run)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="PyTorch threads (default: PyTorch's own choice, as in the app)")
    parser.add_argument("--weights", default="default", help="'default' or a plate checkpoint")
    args = parser.parse_args(argv)
    from process_settings import configure_process
    configure_process(threads=args.threads, quiet_opencv=True)
    try:
        shared_path(*VIDEO)
    except SharedDataMissing as exc:
        return report_usage_error(exc, parser.prog)
    return run(args.minutes, args.sample_every, args.warmup_minutes, args.weights)


if __name__ == "__main__":
    sys.exit(main())
