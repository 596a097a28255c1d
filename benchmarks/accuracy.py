"""Accuracy of our segmentation model beside OpenCV and MediaPipe baselines, on the same frames in the same run.

    python -m benchmarks.accuracy --data ../shared/data/webcam_sets --sets 1,5,9 --model plate
    python -m benchmarks.accuracy --data ../shared/data/portraits --model single --held-out 0.1

DIR is either a folder of capture sets (setK/ with bkg.png, N.png, N_mask.png) or a portrait folder (images/ and
masks/; a folder whose sub-folders are portrait folders also works, --limit applying to each).

What it measures:
- IoU of each frame that contains a person, averaged per set and over all such frames (mean IoU);
- the false-positive pixel rate on frames whose mask is empty: person pixels predicted / all pixels, pooled;
- the median milliseconds per frame of each method (ours: Segmenter.last_latency_ms, plate features cached).
Our float mask is cut at --threshold (0.5).

Empty frames are made hard: in the shared sets the last frame is a byte copy of the plate, which any method gets
right. Such frames are dropped, and every set gets the synthetic webcam negatives of benchmarks.webcam_negatives
instead (the plate under exposure/white-balance drift, sensor noise and a 1-2 px camera nudge, seeded by the set
number, strengths 0.4/0.6/0.8/1.0). Baseline protocols are in benchmarks.baselines. Portrait folders have no
plate, so plate baselines show n/a there and the plate model cannot run on them.

The last line is machine-readable and gives our model's figures:
    mean_iou=0.XXX fp_rate=0.XXXX ms_per_frame=X.X
"""
import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from benchmarks._table import format_number, print_table
from benchmarks.baselines import build_baselines
from benchmarks.webcam_negatives import DEFAULT_STRENGTHS, webcam_negatives
from metrics import mask_metrics
from fileio.capture_sets import is_portrait_folder, list_portraits, list_sets, read_image, read_mask, split_portraits
from models.checkpoint import DEFAULT_WEIGHTS, CheckpointError
from process_settings import configure_process

DEFAULT_THRESHOLD = 0.5


class BenchmarkInputError(ValueError):
    """Bad user input (folder, set list, model); str() is the message shown to the user."""


# ---- metrics ------------------------------------------------------------------------------------------------
def iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """IoU of boolean masks; NaN when both are empty (IoU is undefined there, and such frames count as negatives)."""
    return mask_metrics.iou(predicted, truth, when_both_empty=float("nan"))


@dataclass
class Scores:
    """Running scores of one method on some frames."""
    ious: List[float] = field(default_factory=list)
    false_positive_pixels: int = 0
    empty_frame_pixels: int = 0
    latencies_ms: List[float] = field(default_factory=list)

    def add(self, predicted: np.ndarray, truth: np.ndarray, latency_ms: float) -> None:
        if truth.any():
            self.ious.append(iou(predicted, truth))
        else:
            self.false_positive_pixels += int(predicted.sum())
            self.empty_frame_pixels += predicted.size
        self.latencies_ms.append(latency_ms)

    @property
    def mean_iou(self) -> float:
        return float(np.mean(self.ious)) if self.ious else float("nan")

    @property
    def fp_rate(self) -> float:
        if self.empty_frame_pixels == 0:
            return float("nan")
        return self.false_positive_pixels / self.empty_frame_pixels

    @property
    def ms_per_frame(self) -> float:
        return float(np.median(self.latencies_ms)) if self.latencies_ms else float("nan")


# ---- data ---------------------------------------------------------------------------------------------------
@dataclass
class Sample:
    name: str
    image: np.ndarray
    truth: np.ndarray  # bool HxW, same size as image


@dataclass
class Group:
    """Frames scored together: one capture set (with its plate) or one portrait folder (no plate)."""
    label: str
    plate: Optional[np.ndarray]
    samples: Iterable[Sample]  # re-iterable: every method makes its own pass
    person_frames: int
    empty_frames: int
    dropped_plate_copies: int = 0


def parse_set_numbers(text: Optional[str]) -> Optional[List[int]]:
    if not text:
        return None
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise BenchmarkInputError(f"--sets {text!r}: give set numbers separated by commas, e.g. --sets 1,5,9")


def capture_groups(root: Path, set_numbers: Optional[Sequence[int]] = None,
                   strengths: Sequence[float] = DEFAULT_STRENGTHS) -> List[Group]:
    """One group per annotated capture set; plate copies replaced by synthetic webcam negatives."""
    sets = list_sets(root)
    if set_numbers is not None:
        by_number = {s.number: s for s in sets}
        missing = [n for n in set_numbers if n not in by_number]
        if missing:
            raise BenchmarkInputError(
                f"no set{missing[0]}/ in {root}; available sets: {', '.join(str(s.number) for s in sets)}")
        sets = [by_number[n] for n in set_numbers]
    groups = []
    for capture in sets:
        if not capture.has_plate:
            print(f"note: set{capture.number} has no bkg.png; skipped", file=sys.stderr)
            continue
        plate = read_image(capture.plate_path)
        samples, dropped = [], 0
        for frame in capture.frames:
            if frame.mask_path is None:
                continue  # not annotated yet
            image = read_image(frame.image_path)
            if image.shape != plate.shape:
                raise BenchmarkInputError(f"{frame.image_path} is {image.shape[1]}x{image.shape[0]} but its plate "
                                          f"{capture.plate_path} is {plate.shape[1]}x{plate.shape[0]}; "
                                          f"frames and plate must come from the same camera mode")
            if np.array_equal(image, plate):
                dropped += 1  # a byte copy of the plate tests nothing; the negatives below replace it
                continue
            samples.append(Sample(f"set{capture.number}/{frame.image_path.name}", image,
                                  _truth_at_size(read_mask(frame.mask_path), image)))
        empty = np.zeros(plate.shape[:2], dtype=bool)
        for strength, negative in zip(strengths, webcam_negatives(plate, capture.number, strengths)):
            samples.append(Sample(f"set{capture.number}/negative@{strength}", negative, empty))
        person = sum(1 for s in samples if s.truth.any())
        groups.append(Group(f"set{capture.number}", plate, samples, person, len(samples) - person, dropped))
    if not groups:
        raise BenchmarkInputError(f"no annotated capture set with a bkg.png plate in {root}")
    return groups


def portrait_folders(root: Path) -> List[Path]:
    if is_portrait_folder(root):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and is_portrait_folder(p))


class PortraitSamples:
    """Re-iterable samples of a portrait folder, read from disk on each pass so large folders fit in memory."""

    def __init__(self, folder: Path, pairs: Sequence):
        self.folder = folder
        self.pairs = list(pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __iter__(self) -> Iterator[Sample]:
        for pair in self.pairs:
            image = read_image(pair.image_path)
            yield Sample(f"{self.folder.name}/{pair.image_path.name}", image,
                         _truth_at_size(read_mask(pair.mask_path), image))


def portrait_groups(root: Path, limit: Optional[int] = None, held_out: Optional[float] = None,
                    seed: int = 0) -> List[Group]:
    """One group per portrait folder, at most `limit` images each; with held_out, only the trainer's held-out photos."""
    folders = portrait_folders(root)
    if held_out is None:
        chosen = [(folder, list_portraits(folder)) for folder in folders]
    else:
        chosen = [(folder, val) for folder, _, val in split_portraits(folders, held_out, seed)]
    groups = []
    for folder, pairs in chosen:
        pairs = pairs[:limit] if limit else pairs
        if pairs:
            # Portraits are all of people; counting empty masks would mean reading every mask up front.
            groups.append(Group(folder.name, None, PortraitSamples(folder, pairs), len(pairs), 0))
    if not groups:
        raise BenchmarkInputError(f"no image with a matching mask in {root} (images/NAME.* + masks/NAME.png)")
    return groups


def _truth_at_size(mask: np.ndarray, image: np.ndarray) -> np.ndarray:
    # Some web-sourced masks are saved at another size than their photo; compare at the photo's size.
    if mask.shape == image.shape[:2]:
        return mask
    resized = cv2.resize(mask.astype(np.uint8), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST)
    return resized.astype(bool)


def load_groups(data: Path, set_numbers: Optional[Sequence[int]], limit: Optional[int],
                held_out: Optional[float] = None, seed: int = 0) -> List[Group]:
    if not data.is_dir():
        raise BenchmarkInputError(f"--data {data}: no such folder")
    if list_sets(data):
        if limit:
            print("note: --limit applies to portrait folders; all frames of the chosen sets are used",
                  file=sys.stderr)
        if held_out is not None:
            raise BenchmarkInputError("--held-out applies to portrait folders; for capture sets name the "
                                      "held-out sets with --sets")
        return capture_groups(data, set_numbers)
    if portrait_folders(data):
        if set_numbers:
            raise BenchmarkInputError(f"--sets applies to capture sets, but {data} is a portrait folder")
        return portrait_groups(data, limit, held_out, seed)
    raise BenchmarkInputError(
        f"--data {data} holds neither capture sets (setK/ folders with bkg.png, N.png, N_mask.png) nor a "
        f"portrait folder (images/ + masks/); point it at e.g. ../shared/data/webcam_sets")


# ---- methods ------------------------------------------------------------------------------------------------
class OurModel:
    """Our Segmenter behind the baselines' interface; timings come from the engine itself."""

    def __init__(self, segmenter, threshold: float = DEFAULT_THRESHOLD):
        self.segmenter = segmenter
        self.needs_plate = segmenter.has_plate_model
        self.name = "ours (plate)" if self.needs_plate else "ours (single)"
        self.threshold = threshold
        self.last_latency_ms = 0.0

    def start_set(self, plate_bgr: Optional[np.ndarray]) -> None:
        pass

    def predict(self, frame_bgr: np.ndarray, plate_bgr: Optional[np.ndarray]) -> np.ndarray:
        probability = self.segmenter.segment(frame_bgr, plate_bgr if self.needs_plate else None)
        self.last_latency_ms = self.segmenter.last_latency_ms
        return probability > self.threshold

    def close(self) -> None:
        pass


def resolve_model_path(spec: str) -> Path:
    """'plate' / 'single' name the default weights; anything else is a checkpoint path."""
    return DEFAULT_WEIGHTS[spec] if spec in DEFAULT_WEIGHTS else Path(spec)


def load_our_model(spec: str, device: str = "auto"):
    from models.segmenter import Segmenter  # torch import kept out of --help
    path = resolve_model_path(spec)
    try:
        return Segmenter.load(path, device=device)
    except CheckpointError as exc:
        hint = ""
        if spec in DEFAULT_WEIGHTS and not path.is_file():
            hint = (f" The default {spec} weights are made by training (see README.md); until then pass "
                    f"--model PATH to a checkpoint.")
        raise BenchmarkInputError(str(exc).rstrip(".") + "." + hint) from exc


def evaluate(groups: Sequence[Group], methods: Sequence, progress: bool = True) -> Dict[str, Dict[str, Scores]]:
    """scores[method name][group label or 'all']; a plate method gets no scores on a group without a plate.

    Methods run one after another over each group rather than interleaved frame by frame, so one library's
    worker threads (MediaPipe's spin for a while after each call) do not slow the next method's timing.
    """
    scores = {m.name: {"all": Scores()} for m in methods}
    total = sum((g.person_frames + g.empty_frames) * len(methods) for g in groups)
    # disable=None: a bar on a terminal, nothing in logs and pipes.
    with tqdm(total=total, desc="predictions", disable=None if progress else True, file=sys.stderr) as bar:
        for group in groups:
            for method in methods:
                scores[method.name][group.label] = Scores()
                if method.needs_plate and group.plate is None:
                    bar.update(group.person_frames + group.empty_frames)
                    continue
                method.start_set(group.plate)
                for sample in group.samples:
                    start = time.perf_counter()
                    predicted = method.predict(sample.image, group.plate)
                    elapsed_ms = (time.perf_counter() - start) * 1000.0
                    if isinstance(method, OurModel):
                        elapsed_ms = method.last_latency_ms  # the engine's own figure, without our wrapper
                    for key in (group.label, "all"):
                        scores[method.name][key].add(predicted, sample.truth, elapsed_ms)
                    bar.update(1)
    return scores


# ---- report -------------------------------------------------------------------------------------------------
def summary_line(ours: Scores) -> str:
    return f"mean_iou={ours.mean_iou:.3f} fp_rate={ours.fp_rate:.4f} ms_per_frame={ours.ms_per_frame:.1f}"


def print_report(groups: Sequence[Group], methods: Sequence, scores: Dict[str, Dict[str, Scores]],
                 has_plates: bool) -> None:
    names = [m.name for m in methods]
    unit = "set" if has_plates else "folder"
    rows = [[g.label, g.person_frames, g.empty_frames] +
            [format_number(scores[n][g.label].mean_iou) for n in names] for g in groups]
    print_table([unit, "person", "empty"] + names, rows,
                title=f"IoU per {unit} (mean over frames with a person; n/a: method needs a plate)")
    if has_plates:
        rows = [[g.label, g.empty_frames] + [format_number(scores[n][g.label].fp_rate, 4) for n in names]
                for g in groups]
        print_table([unit, "empty"] + names, rows,
                    title="False-positive pixel rate on hard empty frames (webcam negatives; lower is better)")
    rows = [[m.name, "yes" if m.needs_plate else "no", format_number(scores[m.name]["all"].mean_iou),
             format_number(scores[m.name]["all"].fp_rate, 4), format_number(scores[m.name]["all"].ms_per_frame, 1)]
            for m in methods]
    person = sum(g.person_frames for g in groups)
    empty = sum(g.empty_frames for g in groups)
    print_table(["method", "plate", "mean IoU", "fp rate", "ms/frame"], rows,
                title=f"Summary: {person} frames with a person, {empty} empty frames")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.accuracy",
        description="Mean IoU, false-positive rate on hard empty frames and ms/frame of our segmentation model, "
                    "beside absdiff+morphology, MOG2 and MediaPipe selfie baselines on the same frames.",
        epilog="The last line reads: mean_iou=0.XXX fp_rate=0.XXXX ms_per_frame=X.X (our model). "
               "fp_rate is nan on portrait folders, which have no empty frames.")
    parser.add_argument("--data", type=Path, required=True,
                        help="folder of setK/ capture sets, or a portrait folder with images/ and masks/")
    parser.add_argument("--model", default="plate",
                        help="'plate' or 'single' (default weights in models/weights/), or a checkpoint path "
                             "(default: plate)")
    parser.add_argument("--sets", help="only these capture sets, e.g. 1,5,9 (held-out validation sets)")
    parser.add_argument("--limit", type=int, help="at most N images per portrait folder")
    parser.add_argument("--held-out", type=float, metavar="FRACTION",
                        help="only the portraits the trainer held out with --val-fraction FRACTION --split-seed SEED "
                             "(a folder of portrait folders is split in name order, as the trainer's --data "
                             "folders are when given in that order)")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="the trainer's --split-seed, for --held-out (default 0)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help="cut-off on our float mask (default 0.5)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where our model runs (default: auto)")
    parser.add_argument("--threads", type=int, help="CPU threads for PyTorch and OpenCV (default: library default)")
    parser.add_argument("--no-mediapipe", action="store_true", help="leave out the MediaPipe selfie baseline")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.limit is not None and args.limit < 1:
            raise BenchmarkInputError(f"--limit {args.limit}: give a positive number of images")
        if not 0.0 < args.threshold < 1.0:
            raise BenchmarkInputError(f"--threshold {args.threshold}: give a value between 0 and 1")
        if args.held_out is not None and not 0.0 < args.held_out < 1.0:
            raise BenchmarkInputError(f"--held-out {args.held_out}: give a fraction between 0 and 1, e.g. 0.1")
        groups = load_groups(args.data, parse_set_numbers(args.sets), args.limit, args.held_out, args.split_seed)
        has_plates = groups[0].plate is not None
        if args.threads:
            cv2.setNumThreads(args.threads)
        configure_process(threads=args.threads)
        segmenter = load_our_model(args.model, args.device)
        ours = OurModel(segmenter, args.threshold)
        if ours.needs_plate and not has_plates:
            raise BenchmarkInputError(
                f"the plate model needs a background plate, and {args.data} is a portrait folder without one; "
                f"use --model single, or --data with capture sets")
    except (BenchmarkInputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    baselines, notes = build_baselines(use_mediapipe=not args.no_mediapipe)
    methods = [ours] + baselines
    dropped = sum(g.dropped_plate_copies for g in groups)
    print(f"Segmentation accuracy on {args.data} ({'capture sets' if has_plates else 'portraits'}); "
          f"model {resolve_model_path(args.model)} on {segmenter.device}, mask > {args.threshold}")
    if has_plates:
        print(f"Empty frames: {dropped} byte copies of the plate dropped; {len(DEFAULT_STRENGTHS)} synthetic "
              f"webcam negatives per set (exposure/white-balance drift, noise, 1-2 px nudge).")
    for note in notes:
        print(f"note: {note}")
    print()
    try:
        scores = evaluate(groups, methods)
    finally:
        for method in methods:
            method.close()
    print_report(groups, methods, scores, has_plates)
    print(summary_line(scores[ours.name]["all"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
