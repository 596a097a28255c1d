"""The person-patch pipeline measured: detection, the video schedule's cost, and the view classes.

    python -m benchmarks.patches                                   # all three sections
    python -m benchmarks.patches --sections video --threads 1 --jobs 2

detection: frames with known person masks: ../shared/data/motion (4 DAVIS sequences; each frame is scored as if it
  were a checkpoint) and the webcam sets (one person, plus frames with an empty mask). The person's box is the box
  of its mask. A patch is "of the person" when its detection box overlaps the person's box (IoU >= 0.3, or half of
  the detection box inside it: a half-hidden person). Reported per detector mode (models.person_boxes.MODES), all
  from the same network outputs: the share of person frames that yield a patch of the person, the share of those
  patches whose square holds >= 95 % of the person's box, the median square side over the box's long side (how
  loose the square is), other patches per person frame (bystanders in dance-twirl are real people, so this is not
  an error count there) and patches per empty frame (all false). Also, on the hand-labelled checkpoints of
  one_by_one_person_detection.mp4 (benchmarks/data/one_by_one_checkpoints.csv: people visible at each 24th
  frame), the share of checkpoints with a person that yield a patch, and patches on empty checkpoints.
video: python -m tools.patches, as a user runs it, on each shared video with --threads, then on all of them at once
  with --jobs 2 --threads 1 (two cores, one process each); frames decoded against frames analysed, and seconds per
  minute of video. Beside it, in the same run: one decoding pass of the whole video with grab() (what the schedule
  costs at least) and with read() (decoding and converting every frame).
views: models.view_classes on patches re-cut from our hand labels (benchmarks/data/view_labels.csv: source,
  frame, square, view; no image data): confusion matrix and accuracy.

Timings come from a CPU shared with other jobs: they move by tens of percent between runs.
"""
import argparse
import csv
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from benchmarks._table import format_number, print_table
from commandline import non_negative_int, positive_int
from fileio.capture_sets import list_sets, read_image, read_mask
from fileio.shared_data import SharedDataMissing, shared_path, shared_root
from models.person_boxes import MODES, PersonDetector, box_iou, combine, cut_square, intersection_area, \
    square_for_box

DATA_DIR = Path(__file__).resolve().parent / "data"
VIEW_LABELS = DATA_DIR / "view_labels.csv"
CHECKPOINT_LABELS = DATA_DIR / "one_by_one_checkpoints.csv"
HOLDS_FRACTION = 0.95
SECTIONS = ("detection", "video", "views")


class BenchmarkInputError(Exception):
    pass


# ---- detection ---------------------------------------------------------------------------------------------------
@dataclass
class TruthFrame:
    name: str
    group: str  # sequence or set
    image_path: Path
    mask_path: Path


def motion_frames(limit: Optional[int]) -> List[TruthFrame]:
    root = shared_path("data", "motion")
    frames = []
    for image in sorted((root / "images").glob("*.jpg")):
        mask = root / "masks" / f"{image.stem}.png"
        if mask.is_file():
            frames.append(TruthFrame(image.stem, image.stem.rsplit("_", 1)[0], image, mask))
    return _limit_per_group(frames, limit)


def webcam_frames(limit: Optional[int]) -> List[TruthFrame]:
    frames = []
    for capture in list_sets(shared_path("data", "webcam_sets")):
        for frame in capture.frames:
            if frame.mask_path is not None:
                frames.append(TruthFrame(f"set{capture.number}/{frame.index}", f"set{capture.number}",
                                         frame.image_path, frame.mask_path))
    return _limit_per_group(frames, limit)


def _limit_per_group(frames: List[TruthFrame], limit: Optional[int]) -> List[TruthFrame]:
    if not limit:
        return frames
    kept, seen = [], Counter()
    for frame in frames:
        if seen[frame.group] < limit:
            kept.append(frame)
            seen[frame.group] += 1
    return kept


def mask_box(mask: np.ndarray) -> Optional[Tuple[float, float, float, float]]:
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


def is_of_person(box: Sequence[float], truth: Sequence[float]) -> bool:
    area = (box[2] - box[0]) * (box[3] - box[1])
    return box_iou(box, truth) >= 0.3 or (area > 0 and intersection_area(box, truth) >= 0.5 * area)


def square_holds(square: Tuple[int, int, int], truth: Sequence[float]) -> float:
    x, y, side = square
    area = (truth[2] - truth[0]) * (truth[3] - truth[1])
    return intersection_area((x, y, x + side, y + side), truth) / area if area > 0 else 0.0


@dataclass
class FrameScore:
    has_person: bool
    found: bool = False
    holds: bool = False
    looseness: float = float("nan")
    others: int = 0


def score_frame(people, truth: Optional[Sequence[float]], margin: float) -> FrameScore:
    if truth is None:
        return FrameScore(False, others=len(people))
    mine = [p for p in people if is_of_person(p.as_tuple(), truth)]
    score = FrameScore(True, found=bool(mine), others=len(people) - len(mine))
    if mine:
        squares = [square_for_box(p.as_tuple(), margin) for p in mine]
        best = max(squares, key=lambda s: square_holds(s, truth))
        score.holds = square_holds(best, truth) >= HOLDS_FRACTION
        score.looseness = best[2] / max(truth[2] - truth[0], truth[3] - truth[1])
    return score


def summarise(scores: Sequence[FrameScore]) -> List[str]:
    person = [s for s in scores if s.has_person]
    empty = [s for s in scores if not s.has_person]
    found = [s for s in person if s.found]
    looseness = [s.looseness for s in found]
    return [str(len(person)), format_number(len(found) / len(person) if person else float("nan")),
            format_number(sum(s.holds for s in found) / len(found) if found else float("nan")),
            format_number(statistics.median(looseness) if looseness else float("nan"), 2),
            format_number(sum(s.others for s in person) / len(person) if person else float("nan"), 2),
            str(len(empty)), format_number(sum(s.others for s in empty) / len(empty) if empty else float("nan"), 2)]


def build_detector(pose_size: int) -> PersonDetector:
    from models.checkpoint import DEFAULT_WEIGHTS
    from models.posenet import PoseNet, find_weights
    from models.segmenter import Segmenter

    weights = find_weights(None)
    if weights is None:
        try:
            weights = shared_path("models", "posenet_mobilenet_v1_050.pth")
        except SharedDataMissing as exc:
            raise BenchmarkInputError(str(exc)) from None
    return PersonDetector(PoseNet.load(weights), Segmenter.load(DEFAULT_WEIGHTS["single"], device="cpu"),
                          mode="segmenter+posenet", pose_long_side=pose_size)


def read_video_frames(path: Path, wanted: Sequence[int]) -> Dict[int, np.ndarray]:
    wanted_set, frames = set(wanted), {}
    capture = cv2.VideoCapture(str(path))
    index = -1
    while len(frames) < len(wanted_set) and capture.grab():
        index += 1
        if index in wanted_set:
            frames[index] = capture.retrieve()[1]
    capture.release()
    return frames


def detection_section(args, detector: PersonDetector) -> None:
    datasets = [("motion", motion_frames(args.limit)), ("webcam sets", webcam_frames(args.limit))]
    headers = ["data / mode", "person frames", "yield a patch", "square holds box", "side / box", "others per frame",
               "empty frames", "patches per empty"]
    rows = []
    seconds = []
    for name, frames in datasets:
        per_mode: Dict[str, List[FrameScore]] = defaultdict(list)
        for frame in frames:
            image = read_image(frame.image_path)
            truth = mask_box(read_mask(frame.mask_path))
            start = time.perf_counter()
            seen = detector.observe(image)
            seconds.append(time.perf_counter() - start)
            for mode in MODES:
                people = [p for p in combine(seen, mode) if p.score >= args.min_score]
                per_mode[mode].append(score_frame(people, truth, args.margin))
        for mode in MODES:
            rows.append([f"{name} / {mode}"] + summarise(per_mode[mode]))
    print_table(headers, rows, title=f"Detection on frames with known masks (min score {args.min_score}, margin "
                                     f"{args.margin}, PoseNet input {detector.pose_long_side} px; both networks "
                                     f"median {1000 * statistics.median(seconds):.0f} ms per frame)")
    checkpoint_table(args, detector)


def checkpoint_table(args, detector: PersonDetector) -> None:
    if not CHECKPOINT_LABELS.is_file():
        print(f"(no {CHECKPOINT_LABELS.name}: checkpoint table skipped)\n")
        return
    with open(CHECKPOINT_LABELS, newline="") as stream:
        labels = {int(row["frame"]): int(row["people"]) for row in csv.DictReader(stream)}
    video = shared_path("data", "videos", "one_by_one_person_detection.mp4")
    frames = read_video_frames(video, sorted(labels))
    rows = []
    found = {mode: [0, 0, 0] for mode in MODES}  # person checkpoints with a patch, patches on empty ones, people
    seen_all = {index: detector.observe(frames[index]) for index in sorted(frames)}
    for mode in MODES:
        for index, seen in seen_all.items():
            people = [p for p in combine(seen, mode) if p.score >= args.min_score]
            if labels[index] > 0:
                found[mode][0] += bool(people)
                found[mode][2] += min(len(people), labels[index])
            else:
                found[mode][1] += len(people)
    with_people = sum(1 for n in labels.values() if n > 0)
    empty = len(labels) - with_people
    total_people = sum(labels.values())
    for mode in MODES:
        rows.append([mode, f"{found[mode][0]}/{with_people}", format_number(found[mode][0] / with_people),
                     f"{found[mode][2]}/{total_people}", f"{found[mode][1]} on {empty}"])
    print_table(["mode", "checkpoints with a person that yield a patch", "share", "people found (capped)",
                 "patches on empty checkpoints"], rows,
                title=f"Hand-labelled checkpoints of {video.name} (every 24th frame, {len(labels)} in all)")


# ---- video -------------------------------------------------------------------------------------------------------
def decode_pass(path: Path, convert: bool) -> Tuple[int, float]:
    capture = cv2.VideoCapture(str(path))
    start = time.perf_counter()
    count = 0
    while True:
        ok = capture.read()[0] if convert else capture.grab()
        if not ok:
            break
        count += 1
    capture.release()
    return count, time.perf_counter() - start


def run_patches_tool(videos: Sequence[Path], threads: int, jobs: int, min_score: float) -> Tuple[dict, float]:
    """Runs python -m tools.patches as a user would; returns its summary figures and the wall time with start-up."""
    with tempfile.TemporaryDirectory(prefix="bench-patches-") as out:
        command = [sys.executable, "-m", "tools.patches", *map(str, videos), "--out", out, "--threads", str(threads),
                   "--jobs", str(jobs), "--no-progress", "--min-score", str(min_score)]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
    match = re.search(r"summary: patches=(\d+) frames_decoded=(\d+) frames_analysed=(\d+) seconds=([\d.]+)",
                      done.stdout)
    if done.returncode != 0 or match is None:
        raise BenchmarkInputError(f"tools.patches failed on {', '.join(map(str, videos))}: "
                                  f"{done.stderr.strip()[-400:]}")
    figures = {"patches": int(match[1]), "decoded": int(match[2]), "analysed": int(match[3]),
               "seconds": float(match[4])}
    return figures, wall


def video_section(args) -> None:
    videos = sorted(p for p in shared_path("data", "videos").iterdir() if p.suffix.lower() in (".avi", ".mp4"))
    rows = []
    total_minutes = 0.0
    for video in videos:
        capture = cv2.VideoCapture(str(video))
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        capture.release()
        grabbed, grab_seconds = decode_pass(video, convert=False)
        _, read_seconds = decode_pass(video, convert=True)
        minutes = grabbed / fps / 60.0
        total_minutes += minutes
        figures, wall = run_patches_tool([video], args.threads, 1, args.min_score)
        rows.append([video.name, f"{minutes:.2f}", str(figures["decoded"]), str(figures["analysed"]),
                     str(figures["patches"]), format_number(figures["seconds"] / minutes, 1),
                     format_number(wall / minutes, 1), format_number(grab_seconds / minutes, 1),
                     format_number(read_seconds / minutes, 1)])
    if args.jobs > 1:
        figures, wall = run_patches_tool(videos, 1, args.jobs, args.min_score)
        rows.append([f"all, --jobs {args.jobs} --threads 1", f"{total_minutes:.2f}", str(figures["decoded"]),
                     str(figures["analysed"]), str(figures["patches"]),
                     format_number(figures["seconds"] / total_minutes, 1), format_number(wall / total_minutes, 1),
                     "", ""])
    print_table(["video", "minutes", "frames decoded", "frames analysed", "patches", "s per video minute",
                 "with start-up", "grab-only pass", "read-every-frame pass"], rows,
                title=f"tools.patches --every 24 --threads {args.threads}, one video at a time, then all at once over "
                      f"--jobs processes (seconds per minute of video; the last two columns decode only)")


# ---- views -------------------------------------------------------------------------------------------------------
def read_view_labels(path: Path = VIEW_LABELS) -> List[dict]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def label_patches(labels: Sequence[dict], size: int = 256) -> List[np.ndarray]:
    """Re-cuts each labelled square from its source in ../shared (a video frame or an image)."""
    root = shared_root()
    by_video: Dict[str, List[int]] = defaultdict(list)
    for row in labels:
        if row["frame"] != "":
            by_video[row["source"]].append(int(row["frame"]))
    frames = {source: read_video_frames(root / source, wanted) for source, wanted in by_video.items()}
    patches = []
    for row in labels:
        image = frames[row["source"]][int(row["frame"])] if row["frame"] != "" else read_image(root / row["source"])
        patches.append(cut_square(image, int(row["x"]), int(row["y"]), int(row["side"]), size))
    return patches


def label_group(row: dict) -> str:
    """The video, or the photo collection (portraits/ccp, webcam_sets, ...), a label comes from."""
    parts = Path(row["source"]).parts
    if row["frame"] != "":
        return parts[-1]
    return parts[1] if parts[1] == "webcam_sets" else "/".join(parts[1:3])


def confusion(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> List[List[int]]:
    index = {c: i for i, c in enumerate(classes)}
    matrix = [[0] * len(classes) for _ in classes]
    for t, p in zip(truth, predicted):
        matrix[index[t]][index[p]] += 1
    return matrix


def views_section(args, detector: PersonDetector) -> None:
    from models.view_classes import UNKNOWN, VIEWS, ViewClassifier

    labels = read_view_labels()
    classifier = ViewClassifier(detector.posenet)
    predicted = [classifier.classify(patch).view for patch in label_patches(labels)]
    truth = [row["view"] for row in labels]
    classes = list(VIEWS) + [UNKNOWN]
    matrix = confusion(truth, predicted, classes)
    rows = [[f"true {c}"] + [str(v) for v in matrix[i]] + [str(sum(matrix[i]))]
            for i, c in enumerate(classes) if c != UNKNOWN]
    short = {c: c.replace("HEAD-AND-SHOULDER", "H&S").replace("FULL-BODY", "FULL") for c in classes}
    print_table(["labels \\ predicted"] + [short[c] for c in classes] + ["n"], rows,
                title=f"View classes on {len(labels)} hand-labelled patches ({VIEW_LABELS.name})")
    correct = sum(t == p for t, p in zip(truth, predicted))
    facing = sum(t.rsplit("-", 1)[1] == p.rsplit("-", 1)[1] for t, p in zip(truth, predicted) if p != UNKNOWN)
    extent = sum(t.rsplit("-", 1)[0] == p.rsplit("-", 1)[0] for t, p in zip(truth, predicted) if p != UNKNOWN)
    by_source = defaultdict(lambda: [0, 0])
    for row, p in zip(labels, predicted):
        for group in (label_group(row), row["how"]):
            by_source[group][0] += row["view"] == p
            by_source[group][1] += 1
    print(f"accuracy {correct}/{len(labels)} = {correct / len(labels):.3f}; front/back right {facing}, full/head "
          f"right {extent}, UNKNOWN {predicted.count(UNKNOWN)}")
    print("right per source: " + ", ".join(f"{g} {c}/{n}" for g, (c, n) in sorted(by_source.items())))
    print()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.patches",
                                     description=__doc__.split("\n\n", 1)[1].split("\n\nTimings")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated of {', '.join(SECTIONS)}")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="CPU threads (default 1: on a host shared with other jobs, 2 threads of one process "
                             "fight over the cores and run slower than 1)")
    parser.add_argument("--jobs", type=positive_int, default=2,
                        help="the video section's last row runs all videos over this many processes (default 2)")
    parser.add_argument("--pose-size", type=positive_int, default=513, help="PoseNet input long side (default 513)")
    parser.add_argument("--min-score", type=float, default=0.2, help="detection score cut (default 0.2, as tools)")
    parser.add_argument("--margin", type=float, default=0.1, help="square margin (default 0.1, as tools.patches)")
    parser.add_argument("--limit", type=non_negative_int, default=0, help="frames per sequence/set (default all)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        print(f"error: unknown section(s) {', '.join(unknown)}; use {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    import torch

    from process_settings import configure_process

    configure_process(threads=args.threads, quiet_opencv=True)
    print(f"CPU: {torch.backends.cpu.get_cpu_capability()}, {args.threads} thread(s); the host is shared with other "
          f"jobs, so timings are noisy.\n")
    try:
        detector = build_detector(args.pose_size) if {"detection", "views"} & set(sections) else None
        if "detection" in sections:
            detection_section(args, detector)
        if "video" in sections:
            video_section(args)
        if "views" in sections:
            views_section(args, detector)
    except (BenchmarkInputError, SharedDataMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
