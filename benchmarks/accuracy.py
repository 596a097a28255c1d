"""Accuracy of our segmentation model beside OpenCV and MediaPipe baselines, on the same frames in the same run.

    python -m benchmarks.accuracy --data ../shared/data/webcam_sets --sets 1,5,9 --model plate
    python -m benchmarks.accuracy --data ../shared/data/portraits --model single --held-out 0.1
    python -m benchmarks.accuracy --data ../shared/data/motion --sequences dance-twirl,hike --model single \
        --empty ../shared/data/backgrounds --empty-held-out 0.15 --worst 12 --grid runs/worst.png

Each --data DIR (repeatable) is a folder of capture sets (setK/ with bkg.png, N.png, N_mask.png), a portrait
folder (images/ and masks/; a folder whose sub-folders are portrait folders also works, --limit applying to each),
or a sequence folder (a portrait folder of video frames named SEQUENCE_NNNNN, scored per sequence). Each --empty
(repeatable) is a folder of people-free pictures or a video file (its frame 0, or VIDEO@N for frame N).

What it measures:
- IoU of each frame that contains a person, averaged per set / folder / sequence, per --data and over all such
  frames (mean IoU);
- the false-positive pixel rate on frames whose mask is empty: person pixels predicted / all pixels, pooled;
- the median milliseconds per frame of each method (ours: Segmenter.last_latency_ms, plate features cached).
Our float mask is cut at --threshold (0.5). Our model gets the plate whenever the data has one; the engine
(Segmenter.segment) decides between its plate and single-frame models and checks the plate's shape. A single-frame
model runs behind the PoseNet person gate, as in the app (models.person_gate), and once more without it in the same
run ('ours (single, no gate)'); --no-person-gate leaves the gate out.
--worst N --grid PNG draws our N worst person frames and N worst people-free frames: misses in blue, false
positives in red, correct person pixels in green. --cast-shadows scores every capture-set person frame again with
the person's own shadow on the wall beside them (benchmarks.cast_shadows), as groups 'setN shadowed'.

Empty frames are made hard: in the shared sets the last frame is a byte copy of the plate, which any method gets
right. Such frames are dropped, and every set gets the synthetic webcam negatives of benchmarks.webcam_negatives
instead (the plate under exposure/white-balance drift, sensor noise and a 1-2 px camera nudge, seeded by the set
number, strengths 0.4/0.6/0.8/1.0). A people-free picture from --empty is scored the same way: the frame is its
webcam negative (strength EMPTY_PICTURE_STRENGTH), the plate is the picture. --empty-held-out FRACTION keeps only
the pictures that the trainer's --val-backgrounds FRACTION (same --split-seed) kept out of training. Baseline
protocols are in benchmarks.baselines. Portrait and sequence folders have no plate, so plate baselines show n/a
there and the plate model cannot run on them.

The last line is machine-readable and gives our model's figures:
    mean_iou=0.XXX fp_rate=0.XXXX ms_per_frame=X.X
"""
import argparse
import heapq
import itertools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from benchmarks._table import format_number, print_table
from benchmarks.baselines import build_baselines
from benchmarks.cast_shadows import DARKNESS_LEVELS, shadowed_frame
from benchmarks.webcam_negatives import DEFAULT_STRENGTHS, webcam_negative, webcam_negatives
from commandline import positive_int
from metrics import mask_metrics
from fileio.atomic_files import write_png
from fileio.capture_sets import (IMAGE_SUFFIXES, is_portrait_folder, list_pictures, list_portraits, list_sequences,
                                 list_sets, mask_at_image_size, read_image, read_mask, split_pictures, split_portraits)
from models.checkpoint import DEFAULT_WEIGHTS, CheckpointError
from process_settings import configure_process

DEFAULT_THRESHOLD = 0.5
EMPTY_PICTURE_STRENGTH = 0.6
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


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
    plate: Optional[np.ndarray] = None  # this frame's own plate, instead of the group's


@dataclass
class Group:
    """Frames scored together: one capture set (with its plate), one portrait folder or sequence (no plate), or
    one source of people-free pictures (each with its own plate)."""
    label: str
    plate: Optional[np.ndarray]
    samples: Iterable[Sample]  # re-iterable: every method makes its own pass
    person_frames: int
    empty_frames: int
    dropped_plate_copies: int = 0
    source: str = ""  # the --data or --empty it came from
    has_plates: bool = False  # every frame has a plate (the group's or its own)

    def __post_init__(self):
        self.has_plates = self.has_plates or self.plate is not None


def parse_set_numbers(text: Optional[str]) -> Optional[List[int]]:
    if not text:
        return None
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise BenchmarkInputError(f"--sets {text!r}: give set numbers separated by commas, e.g. --sets 1,5,9")


def shadow_group(group: Group, set_number: int) -> Group:
    """The group's person frames again, each with its own shadow on the wall beside it at every darkness level
    (benchmarks.cast_shadows); the truth is unchanged, as a shadow is background."""
    samples = [Sample(f"{sample.name}@shadow{darkness}", shadowed_frame(sample.image, sample.truth, darkness,
                                                                        set_number * 1000 + index), sample.truth)
               for index, sample in enumerate(s for s in group.samples if s.truth.any())
               for darkness in DARKNESS_LEVELS]
    return Group(f"{group.label} shadowed", group.plate, samples, len(samples), 0, source=f"{group.source} shadowed")


def capture_groups(root: Path, set_numbers: Optional[Sequence[int]] = None,
                   strengths: Sequence[float] = DEFAULT_STRENGTHS, shadows: bool = False) -> List[Group]:
    """One group per annotated capture set; plate copies replaced by synthetic webcam negatives. With shadows, each
    set also gets a 'setN shadowed' group (shadow_group)."""
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
            if np.array_equal(image, plate):
                dropped += 1  # a byte copy of the plate tests nothing; the negatives below replace it
                continue
            truth = truth_for(image, frame.mask_path)
            if truth is not None:
                samples.append(Sample(f"set{capture.number}/{frame.image_path.name}", image, truth))
        empty = np.zeros(plate.shape[:2], dtype=bool)
        for strength, negative in zip(strengths, webcam_negatives(plate, capture.number, strengths)):
            samples.append(Sample(f"set{capture.number}/negative@{strength}", negative, empty))
        person = sum(1 for s in samples if s.truth.any())
        groups.append(Group(f"set{capture.number}", plate, samples, person, len(samples) - person, dropped,
                            source=root.name))
        if shadows:
            groups.append(shadow_group(groups[-1], capture.number))
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
            truth = truth_for(image, pair.mask_path)
            if truth is not None:
                yield Sample(f"{self.folder.name}/{pair.image_path.name}", image, truth)


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
            groups.append(Group(folder.name, None, PortraitSamples(folder, pairs), len(pairs), 0,
                                source=root.name))
    if not groups:
        raise BenchmarkInputError(f"no image with a matching mask in {root} (images/NAME.* + masks/NAME.png)")
    return groups


def sequence_groups(root: Path, names: Optional[Sequence[str]] = None, limit: Optional[int] = None) -> List[Group]:
    """One group per sequence of a sequence folder (all, or those named), at most `limit` frames each."""
    sequences = list_sequences(root)
    if names:
        missing = [name for name in names if name not in sequences]
        if missing:
            raise BenchmarkInputError(f"--sequences: no sequence {missing[0]!r} in {root}; available: "
                                      f"{', '.join(sorted(sequences))}")
        sequences = {name: sequences[name] for name in names}
    groups = []
    for name in sorted(sequences):
        pairs = sequences[name][:limit] if limit else sequences[name]
        groups.append(Group(f"{root.name}/{name}", None, PortraitSamples(root, pairs), len(pairs), 0,
                            source=root.name))
    return groups


def truth_for(image: np.ndarray, mask_path: Path) -> Optional[np.ndarray]:
    """The frame's mask at the frame's size (fileio.capture_sets.mask_at_image_size, as in training); None,
    with a note naming the file, for a mask that belongs to no picture of this shape."""
    try:
        return mask_at_image_size(read_mask(mask_path), image.shape[:2], mask_path)
    except ValueError as exc:
        print(f"note: skipped: {exc}", file=sys.stderr)
        return None


def parse_names(text: Optional[str]) -> Optional[List[str]]:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def empty_pictures(spec: str, held_out: Optional[float], seed: int) -> List[Tuple[str, np.ndarray]]:
    """(name, picture) of a people-free source: a folder of pictures (with held_out, only the pictures that
    split_pictures holds out), or a video's frame (VIDEO or VIDEO@N, frame 0 by default)."""
    path_text, _, frame_text = spec.partition("@") if not Path(spec).exists() else (spec, "", "")
    path = Path(path_text)
    if path.is_dir():
        paths = list_pictures(path)
        if held_out is not None:
            paths = split_pictures(paths, held_out, seed)[1]
        if not paths:
            raise BenchmarkInputError(f"--empty {spec}: no pictures ({', '.join(IMAGE_SUFFIXES)}) in that folder")
        return [(f"{path.name}/{p.name}", read_image(p)) for p in paths]
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        try:
            index = int(frame_text or 0)
        except ValueError:
            raise BenchmarkInputError(f"--empty {spec}: expected VIDEO@FRAME with a frame number, e.g. {path}@0")
        capture = cv2.VideoCapture(str(path))
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        capture.release()
        if not ok:
            raise BenchmarkInputError(f"--empty {spec}: cannot read frame {index} of {path}")
        return [(f"{path.name}@{index}", frame)]
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return [(path.name, read_image(path))]
    raise BenchmarkInputError(f"--empty {spec}: expected a folder of people-free pictures, a picture or a video "
                              f"file ({', '.join(VIDEO_SUFFIXES)}), optionally VIDEO@FRAME")


def empty_group(spec: str, held_out: Optional[float] = None, seed: int = 0) -> Group:
    """People-free frames: each picture's webcam negative, with the picture itself as its plate."""
    samples = []
    for index, (name, picture) in enumerate(empty_pictures(spec, held_out, seed)):
        negative = webcam_negative(picture, EMPTY_PICTURE_STRENGTH, 7919 + index)
        samples.append(Sample(name, negative, np.zeros(picture.shape[:2], bool), plate=picture))
    label = f"empty:{samples[0].name if len(samples) == 1 else Path(spec).name}"
    return Group(label, None, samples, 0, len(samples), source=label, has_plates=True)


def load_groups(data: Path, set_numbers: Optional[Sequence[int]], limit: Optional[int],
                held_out: Optional[float] = None, seed: int = 0,
                sequences: Optional[Sequence[str]] = None, shadows: bool = False) -> List[Group]:
    if not data.is_dir():
        raise BenchmarkInputError(f"--data {data}: no such folder")
    if is_portrait_folder(data) and list_sequences(data):
        if held_out is not None:
            raise BenchmarkInputError(f"--held-out splits portraits by photo; {data} holds video sequences: name "
                                      f"the held-out ones with --sequences")
        return sequence_groups(data, sequences, limit)
    if list_sets(data):
        if limit:
            print("note: --limit applies to portrait folders; all frames of the chosen sets are used",
                  file=sys.stderr)
        if held_out is not None:
            raise BenchmarkInputError("--held-out applies to portrait folders; for capture sets name the "
                                      "held-out sets with --sets")
        return capture_groups(data, set_numbers, shadows=shadows)
    if portrait_folders(data):
        if set_numbers:
            raise BenchmarkInputError(f"--sets applies to capture sets, but {data} is a portrait folder")
        return portrait_groups(data, limit, held_out, seed)
    raise BenchmarkInputError(
        f"--data {data} holds neither capture sets (setK/ folders with bkg.png, N.png, N_mask.png) nor a "
        f"portrait folder (images/ + masks/); point it at e.g. ../shared/data/webcam_sets")


def load_all_groups(args) -> List[Group]:
    """Groups of every --data and --empty. With several --data, --sets applies to the capture-set folders,
    --held-out to the portrait folders and --sequences to the sequence folders."""
    if len(args.data) == 1:
        groups = load_groups(args.data[0], parse_set_numbers(args.sets), args.limit, args.held_out,
                             args.split_seed, parse_names(args.sequences), args.cast_shadows)
    else:
        groups = []
        for data in args.data:
            is_sets = data.is_dir() and bool(list_sets(data))
            is_sequences = data.is_dir() and is_portrait_folder(data) and bool(list_sequences(data))
            groups += load_groups(data, parse_set_numbers(args.sets) if is_sets else None, args.limit,
                                  None if is_sets or is_sequences else args.held_out, args.split_seed,
                                  parse_names(args.sequences) if is_sequences else None, args.cast_shadows)
    groups += [empty_group(spec, args.empty_held_out, args.split_seed) for spec in args.empty]
    seen = {}
    for group in groups:  # scores are keyed by label: the same folder given twice must not merge
        seen[group.label] = seen.get(group.label, 0) + 1
        if seen[group.label] > 1:
            group.label = f"{group.label} ({seen[group.label]})"
    return groups


# ---- methods ------------------------------------------------------------------------------------------------
class OurModel:
    """Our Segmenter behind the baselines' interface; timings come from the engine itself."""

    needs_plate = False  # it always runs: Segmenter.segment picks the model and checks the plate

    def __init__(self, segmenter, threshold: float = DEFAULT_THRESHOLD, name: Optional[str] = None):
        self.segmenter = segmenter
        self.uses_plate = segmenter.has_plate_model
        self.name = name or ("ours (plate)" if self.uses_plate else "ours (single)")
        self.threshold = threshold
        self.last_latency_ms = 0.0

    def start_set(self, plate_bgr: Optional[np.ndarray]) -> None:
        pass

    def predict(self, frame_bgr: np.ndarray, plate_bgr: Optional[np.ndarray]) -> np.ndarray:
        probability = self.segmenter.segment(frame_bgr, plate_bgr)
        self.last_latency_ms = self.segmenter.last_latency_ms
        return probability > self.threshold

    def close(self) -> None:
        pass


def resolve_model_path(spec: str) -> Path:
    """'plate' / 'single' name the default weights; anything else is a checkpoint path."""
    return DEFAULT_WEIGHTS[spec] if spec in DEFAULT_WEIGHTS else Path(spec)


def load_our_model(spec: str, device: str = "auto", **engine_options):
    from models.segmenter import Segmenter  # torch import kept out of --help
    path = resolve_model_path(spec)
    try:
        return Segmenter.load(path, device=device, **engine_options)
    except CheckpointError as exc:
        hint = ""
        if spec in DEFAULT_WEIGHTS and not path.is_file():
            hint = (f" The default {spec} weights are made by training (see README.md); until then pass "
                    f"--model PATH to a checkpoint.")
        raise BenchmarkInputError(str(exc).rstrip(".") + "." + hint) from exc


class WorstFrames:
    """Keeps the `count` worst person frames (lowest IoU) and people-free frames (most false positives) of one
    method, as small overlays: correct person pixels green, misses blue, false positives red."""

    def __init__(self, count: int, tile_height: int = 180):
        self.count, self.tile_height = count, tile_height
        self.person: list = []  # min-heaps keyed so that the best of the kept frames is dropped first
        self.empty: list = []
        self._order = itertools.count()

    def add(self, label: str, sample: Sample, predicted: np.ndarray) -> None:
        if self.count <= 0:
            return
        if sample.truth.any():
            score, heap, text = -iou(predicted, sample.truth), self.person, "IoU {:.2f}"
            value = -score
        else:
            value = mask_metrics.false_positive_rate(predicted)
            if value == 0:
                return
            score, heap, text = value, self.empty, "fp {:.1%}"
        entry = (score, next(self._order), label, sample.name, text.format(value))
        if len(heap) < self.count:
            heapq.heappush(heap, entry + (self.tile(sample, predicted),))
        elif score > heap[0][0]:
            heapq.heapreplace(heap, entry + (self.tile(sample, predicted),))

    @staticmethod
    def captioned(entry) -> np.ndarray:
        label, name, figure, tile = entry
        tile = tile.copy()
        cv2.rectangle(tile, (0, 0), (tile.shape[1], 22), (0, 0, 0), -1)
        cv2.putText(tile, f"{name}  {figure}", (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                    cv2.LINE_AA)
        return tile

    def tile(self, sample: Sample, predicted: np.ndarray) -> np.ndarray:
        scale = self.tile_height / sample.image.shape[0]
        size = (max(1, round(sample.image.shape[1] * scale)), self.tile_height)
        image = cv2.resize(sample.image, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        truth = cv2.resize(sample.truth.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
        guess = cv2.resize(predicted.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
        for where, colour in ((truth & guess, (0, 200, 0)), (truth & ~guess, (255, 80, 0)),
                              (~truth & guess, (0, 0, 255))):
            image[where] = image[where] * 0.45 + np.array(colour, np.float32) * 0.55
        return image.astype(np.uint8)

    def frames(self, people: bool = True, empty: bool = True) -> list:
        """(label, name, figure, tile): worst person frames first (lowest IoU), then the worst empty ones."""
        heaps = ([self.person] if people else []) + ([self.empty] if empty else [])
        return [entry[2:] for heap in heaps for entry in sorted(heap, reverse=True)]

    def grid(self, columns: int = 4) -> Optional[np.ndarray]:
        """Rows of person frames, then rows of people-free frames, under a colour legend; None if nothing."""
        kinds = [[self.captioned(entry) for entry in self.frames(people, not people)] for people in (True, False)]
        tiles = [tile for kind in kinds for tile in kind]
        if not tiles:
            return None
        width = max(t.shape[1] for t in tiles)
        pad = lambda t: cv2.copyMakeBorder(t, 2, 2, 2, 2 + width - t.shape[1], cv2.BORDER_CONSTANT,  # noqa: E731
                                           value=(40, 40, 40))
        blank = np.full_like(pad(tiles[0]), 40)
        rows = []
        for kind in kinds:
            padded = [pad(t) for t in kind]
            for start in range(0, len(padded), columns):
                row = padded[start:start + columns]
                rows.append(np.hstack(row + [blank] * (columns - len(row))))
        legend = np.full((26, rows[0].shape[1], 3), 255, np.uint8)
        cv2.putText(legend, "green: person found   blue: person missed   red: false positive", (6, 18),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        return np.vstack([legend] + rows)


def write_grid(path: Path, worst: WorstFrames) -> bool:
    picture = worst.grid()
    if picture is None:
        return False
    write_png(path, picture)
    return True


def evaluate(groups: Sequence[Group], methods: Sequence, progress: bool = True,
             worst: Optional[WorstFrames] = None) -> Dict[str, Dict[str, Scores]]:
    """scores[method name][group label, group source or 'all']; a plate method gets no scores on a group
    without plates. With `worst`, the first method's worst frames are kept in it.

    Methods run one after another over each group rather than interleaved frame by frame, so one library's
    worker threads (MediaPipe's spin for a while after each call) do not slow the next method's timing.
    """
    scores = {m.name: {"all": Scores()} for m in methods}
    total = sum((g.person_frames + g.empty_frames) * len(methods) for g in groups)
    # disable=None: a bar on a terminal, nothing in logs and pipes.
    with tqdm(total=total, desc="predictions", disable=None if progress else True, file=sys.stderr) as bar:
        for group in groups:
            for number, method in enumerate(methods):
                scores[method.name][group.label] = Scores()
                scores[method.name].setdefault(f"source:{group.source}", Scores())
                if method.needs_plate and not group.has_plates:
                    bar.update(group.person_frames + group.empty_frames)
                    continue
                method.start_set(group.plate)
                current_plate = group.plate
                for sample in group.samples:
                    plate = sample.plate if sample.plate is not None else group.plate
                    if plate is not current_plate:
                        method.start_set(plate)
                        current_plate = plate
                    start = time.perf_counter()
                    predicted = method.predict(sample.image, plate)
                    elapsed_ms = (time.perf_counter() - start) * 1000.0
                    if isinstance(method, OurModel):
                        elapsed_ms = method.last_latency_ms  # the engine's own figure, without our wrapper
                    for key in (group.label, f"source:{group.source}", "all"):
                        scores[method.name][key].add(predicted, sample.truth, elapsed_ms)
                    if worst is not None and number == 0:
                        worst.add(group.label, sample, predicted)
                    bar.update(1)
    return scores


# ---- report -------------------------------------------------------------------------------------------------
def summary_line(ours: Scores) -> str:
    return f"mean_iou={ours.mean_iou:.3f} fp_rate={ours.fp_rate:.4f} ms_per_frame={ours.ms_per_frame:.1f}"


def print_report(groups: Sequence[Group], methods: Sequence, scores: Dict[str, Dict[str, Scores]]) -> None:
    names = [m.name for m in methods]
    unit = "set" if all(g.plate is not None for g in groups) else "group"
    person_groups = [g for g in groups if g.person_frames]
    rows = [[g.label, g.person_frames, g.empty_frames] +
            [format_number(scores[n][g.label].mean_iou) for n in names] for g in person_groups]
    if rows:
        print_table([unit, "person", "empty"] + names, rows,
                    title=f"IoU per {unit} (mean over frames with a person; n/a: method needs a plate)")
    sources = list(dict.fromkeys(g.source for g in person_groups))
    if len(sources) > 1:
        rows = [[source, sum(g.person_frames for g in person_groups if g.source == source)] +
                [format_number(scores[n][f"source:{source}"].mean_iou) for n in names] for source in sources]
        print_table(["data", "person"] + names, rows, title="IoU per --data (mean over its frames with a person)")
    empty_groups = [g for g in groups if g.empty_frames]
    if empty_groups:
        rows = [[g.label, g.empty_frames] + [format_number(scores[n][g.label].fp_rate, 4) for n in names]
                for g in empty_groups]
        print_table([unit, "empty"] + names, rows,
                    title="False-positive pixel rate on people-free frames (webcam negatives of plates and "
                          "pictures; lower is better)")
    rows = [[m.name, "yes" if getattr(m, "uses_plate", m.needs_plate) else "no",
             format_number(scores[m.name]["all"].mean_iou),
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
    parser.add_argument("--data", type=Path, action="append", default=[],
                        help="folder of setK/ capture sets, a portrait folder with images/ and masks/, or a "
                             "sequence folder (images/SEQUENCE_NNNNN.jpg); repeatable")
    parser.add_argument("--sequences", metavar="NAME,NAME",
                        help="only these sequences of sequence folders, e.g. dance-twirl,hike (the trainer's "
                             "--val-sequences)")
    parser.add_argument("--empty", action="append", default=[], metavar="DIR|VIDEO[@N]",
                        help="people-free frames: a folder of pictures (e.g. ../shared/data/backgrounds) or a "
                             "video's frame N (default 0); repeatable")
    parser.add_argument("--empty-held-out", type=float, metavar="FRACTION",
                        help="only the pictures of --empty folders that the trainer held out with "
                             "--val-backgrounds FRACTION --split-seed SEED")
    parser.add_argument("--cast-shadows", action="store_true",
                        help="capture sets: also score every person frame with its own shadow thrown on the wall "
                             "beside it (30 %% and 50 %% darker; labelled background), as groups 'setN shadowed'")
    parser.add_argument("--worst", type=int, default=0, metavar="N",
                        help="with --grid: our N worst person frames and N worst people-free frames")
    parser.add_argument("--grid", type=Path, metavar="PNG",
                        help="write the --worst frames as a PNG grid (misses blue, false positives red)")
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
    parser.add_argument("--threads", type=positive_int, help="CPU threads for PyTorch and OpenCV (default: library default)")
    parser.add_argument("--no-mediapipe", action="store_true", help="leave out the MediaPipe selfie baseline")
    parser.add_argument("--no-person-gate", action="store_true",
                        help="a single-frame model runs without the PoseNet person gate (models.person_gate), and "
                             "the extra 'no gate' row is left out")
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
        if args.empty_held_out is not None and not 0.0 < args.empty_held_out < 1.0:
            raise BenchmarkInputError(f"--empty-held-out {args.empty_held_out}: give a fraction between 0 and 1")
        if not args.data and not args.empty:
            raise BenchmarkInputError("give --data DIR (frames with people) and/or --empty DIR (people-free "
                                      "frames), e.g. --data ../shared/data/webcam_sets")
        if args.worst < 0 or bool(args.worst) != bool(args.grid):
            raise BenchmarkInputError("--worst N and --grid PNG go together, with N >= 1")
        groups = load_all_groups(args)
        if args.cast_shadows and not any(g.plate is not None for g in groups):  # only capture sets have plates
            raise BenchmarkInputError("--cast-shadows shadows the person frames of capture sets; add --data with "
                                      "setK/ folders, e.g. ../shared/data/webcam_sets")
        if args.threads:
            cv2.setNumThreads(args.threads)
        configure_process(threads=args.threads)
        segmenter = load_our_model(args.model, args.device, person_gate=not args.no_person_gate)
        ours = OurModel(segmenter, args.threshold)
        methods = [ours]
        if segmenter.person_gate is not None:  # the same network ungated, in the same run: what the gate changes
            methods.append(OurModel(segmenter.with_person_gate(None), args.threshold, name="ours (single, no gate)"))
    except (BenchmarkInputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    baselines, notes = build_baselines(use_mediapipe=not args.no_mediapipe)
    methods += baselines
    dropped = sum(g.dropped_plate_copies for g in groups)
    sources = ", ".join(str(d) for d in args.data + args.empty)
    print(f"Segmentation accuracy on {sources}; model {resolve_model_path(args.model)} on {segmenter.device}, "
          f"mask > {args.threshold}")
    if any(g.plate is not None for g in groups):
        print(f"Empty frames: {dropped} byte copies of the plate dropped; {len(DEFAULT_STRENGTHS)} synthetic "
              f"webcam negatives per set (exposure/white-balance drift, noise, 1-2 px nudge).")
    for note in notes:
        print(f"note: {note}")
    print()
    worst = WorstFrames(args.worst) if args.worst else None
    try:
        scores = evaluate(groups, methods, worst=worst)
    except ValueError as exc:  # the engine refuses the data, e.g. a plate model on photos without a plate
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        for method in methods:
            method.close()
    print_report(groups, methods, scores)
    if worst is not None:
        if write_grid(args.grid, worst):
            print(f"worst frames of {ours.name}: {args.grid}")
        else:
            print("worst frames: none to show")
    print(summary_line(scores[ours.name]["all"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
