"""python -m tools.patches: cut a square patch around every person in videos and folders of images.

A video is checked every --every frames (a checkpoint). When a checkpoint holds a person scoring at least
--min-score, 4 frames spread over the second before it are checked too: someone seen now was probably there a moment
ago, in another pose. Frames between are only grabbed (decoded, never converted or analysed). In a folder of images
every image is a checkpoint. Each person becomes one patch: the box grown to a square with --margin on each side,
padded with black where it leaves the frame, resized to --size.

Output (--out DIR):
  DIR/manifest.csv    one row per patch: video,frame,person,x,y,side,score,view,path,... (x, y, side: the square in
                      the source frame's pixels; view: FULL-BODY-FRONT, HEAD-AND-SHOULDER-FRONT, FULL-BODY-BACK,
                      HEAD-AND-SHOULDER-BACK or UNKNOWN, from models.view_classes; path: relative to DIR)
  DIR/checkpoints.csv the checkpoints finished, so a stopped run resumes where it stopped
  DIR/patches/NAME-ID/FRAME_PERSON.png

Run the same command again to resume: finished checkpoints are skipped and no patch is listed twice, also with
--jobs N (videos spread over N processes; only the main process writes the CSV files).
"""
import argparse
import csv
import hashlib
import math
import multiprocessing
import os
import queue
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import cv2
import numpy as np

from commandline import (ArgumentParser, UsageError, non_negative_float, positive_int, run_command,
                         writable_folder)
from fileio.atomic_files import write_png
from fileio.capture_sets import IMAGE_SUFFIXES, MASK_PATTERN

EXIT_OK, EXIT_SOME_FAILED = 0, 1
MANIFEST_NAME = "manifest.csv"
PROGRESS_NAME = "checkpoints.csv"
LOCK_NAME = ".lock"
MANIFEST_COLUMNS = ("video", "frame", "person", "x", "y", "side", "score", "view", "path", "checkpoint",
                    "box_x0", "box_y0", "box_x1", "box_y1", "found_by")
PROGRESS_COLUMNS = ("video", "checkpoint", "frames_analysed", "patches")
VIDEO_DONE = "done"  # the checkpoint value of a video's last progress row
LOOKBACK_FRAMES = 4
FALLBACK_FPS = 25.0

EXAMPLES = """examples:
  python -m tools.patches ../shared/data/videos/pets2009_s2l1_vtest.avi --out patches
  python -m tools.patches clips/ renders/ --out patches --jobs 2     # every video in clips/, every image in renders/
  python -m tools.patches clip.mp4 --out patches --every 12 --min-score 0.3 --size 128

exit codes: 0 done, 1 some inputs could not be read (each is named and skipped), 2 bad arguments, 130 stopped
(run the same command again to resume)."""


# ---- durable CSV logs ---------------------------------------------------------------------------------------------
def _csv_line(values: Sequence[str]) -> str:
    cells = []
    for value in values:
        value = str(value)
        if any(c in value for c in ',"\n\r'):
            value = '"' + value.replace('"', '""') + '"'
        cells.append(value)
    return ",".join(cells) + "\n"


class AppendOnlyCsv:
    """A CSV file that only grows, one durable append per batch of rows (a single write, then fsync), so a stop
    at any moment leaves every earlier batch whole. A torn last line from a crash is cut off on opening. Columns
    the file has beyond ours are kept, and written empty."""

    def __init__(self, path: Path, columns: Sequence[str]):
        self.path = Path(path)
        self.rows: List[Dict[str, str]] = []
        data = self.path.read_bytes() if self.path.is_file() else b""
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as stream:
                stream.truncate(keep)
                stream.flush()
                os.fsync(stream.fileno())
            data = data[:keep]
        if data:
            reader = csv.DictReader(data.decode("utf-8").splitlines())
            header = reader.fieldnames or []
            missing = [c for c in columns if c not in header]
            if missing:
                raise UsageError(f"{self.path} lacks the column(s) {', '.join(missing)}: it was not written by "
                                 f"tools.patches; pick another --out folder")
            self.columns = list(header)
            self.rows = [dict(row) for row in reader]
        else:
            self.columns = list(columns)
            self._write(_csv_line(self.columns))

    def _write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            data = text.encode("utf-8")
            while data:
                written = os.write(handle, data)
                data = data[written:]
            os.fsync(handle)
        finally:
            os.close(handle)

    def append(self, rows: Sequence[Dict[str, object]]) -> None:
        if not rows:
            return
        text = "".join(_csv_line([row.get(c, "") for c in self.columns]) for row in rows)
        self._write(text)
        self.rows.extend({c: str(row.get(c, "")) for c in self.columns} for row in rows)


# ---- inputs ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """One video file, or one folder of images (each image a checkpoint)."""
    kind: str  # "video" | "images"
    path: Path  # resolved
    images: Tuple[Path, ...] = ()

    @property
    def key(self) -> str:
        """The manifest's `video` value: the resolved path."""
        return str(self.path)

    def patch_stem(self, image_name: str) -> str:
        """An image's name in its patches' names: the stem, or the whole name when another image shares the stem
        (a.jpg beside a.png)."""
        stem = Path(image_name).stem
        return stem if sum(p.stem == stem for p in self.images) <= 1 else image_name

    @property
    def folder_name(self) -> str:
        """Patch folder: the name plus a short hash of the full path, so two clip.mp4 never share one."""
        digest = hashlib.sha1(str(self.path).encode("utf-8")).hexdigest()[:6]
        return f"{self.path.stem if self.kind == 'video' else self.path.name}-{digest}"


def list_sources(paths: Sequence[Path]) -> Tuple[List[Source], List[str]]:
    """Videos, image folders and single images from the command line. A folder gives its images (as one source)
    and each other file in it as a video. Returns the sources and a message for each path that is missing."""
    sources, problems = [], []
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            problems.append(f"{given}: no such file or folder")
            continue
        path = path.resolve()
        if path.is_file():
            if path.suffix.lower() in IMAGE_SUFFIXES:
                sources.append(Source("images", path, (path,)))
            else:
                sources.append(Source("video", path))
            continue
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        # A capture set's N_mask.png files are masks, not pictures of people.
        images = tuple(p for p in files if p.suffix.lower() in IMAGE_SUFFIXES and not MASK_PATTERN.match(p.name))
        others = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES and p.suffix.lower() not in
                  (".txt", ".md", ".csv", ".json", ".pdf", ".html")]
        if images:
            sources.append(Source("images", path, images))
        sources.extend(Source("video", p) for p in others)
        if not images and not others:
            problems.append(f"{given}: a folder with neither images ({', '.join(IMAGE_SUFFIXES)}) nor videos")
    unique, seen = [], set()
    for source in sources:
        if source.key not in seen:
            seen.add(source.key)
            unique.append(source)
    return unique, problems


# ---- the frame schedule ------------------------------------------------------------------------------------------
def lookback_offsets(fps: float, every: int, count: int = LOOKBACK_FRAMES) -> Tuple[int, ...]:
    """How many frames before a checkpoint the extra frames lie: `count` spread over the second before it, but
    never back to the previous checkpoint."""
    window = min(int(round(fps)), every - 1)
    if window < 1 or count < 1:
        return ()
    return tuple(sorted({max(1, int(round(window * k / count))) for k in range(1, count + 1)}))


@dataclass
class Checkpoint:
    """A frame to analyse, and the earlier frames to analyse too if it holds a person."""
    frame: object  # int for videos, the image's file name for folders
    image: Optional[np.ndarray]
    lookback: List[Tuple[int, np.ndarray]] = field(default_factory=list)


class VideoFrames:
    """Walks a video once, grabbing every frame but converting only checkpoints and their lookback frames."""

    def __init__(self, path: Path):
        self.path = path
        self.capture = cv2.VideoCapture(str(path))
        if not self.capture.isOpened():
            self.capture.release()
            raise OSError(f"cannot open video {path}: not a video OpenCV can decode (or not a video at all)")
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 0 < fps < 1000 else FALLBACK_FPS
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        self.decoded = 0

    def checkpoints(self, every: int, offsets: Sequence[int], after: int = -1) -> Iterator[Checkpoint]:
        """Checkpoints at frames 0, every, 2 every, ... later than `after` (resume)."""
        wanted = set(offsets)
        pending: List[Tuple[int, np.ndarray]] = []
        index = -1
        while True:
            if not self.capture.grab():
                break
            index += 1
            self.decoded += 1
            next_checkpoint = -(-index // every) * every
            if next_checkpoint <= after:
                continue
            if index == next_checkpoint:
                ok, image = self.capture.retrieve()
                if not ok or image is None:
                    break
                yield Checkpoint(index, image, pending)
                pending = []
            elif next_checkpoint - index in wanted:
                ok, image = self.capture.retrieve()
                if ok and image is not None:
                    pending.append((index, image))
        if index < 0:
            raise OSError(f"cannot read video {self.path}: OpenCV opens it but decodes no frame (damaged or "
                          f"an unsupported codec)")

    def release(self) -> None:
        self.capture.release()


# ---- cutting patches ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PatchSettings:
    out: str
    every: int = 24
    min_score: float = 0.2
    size: int = 256
    margin: float = 0.1


class PatchCutter:
    """Detects people in frames and writes their patches; owns the engines (one per process)."""

    def __init__(self, detector, views, settings: PatchSettings):
        self.detector = detector
        self.views = views
        self.settings = settings

    def people(self, image: np.ndarray):
        return [p for p in self.detector.detect(image) if p.score >= self.settings.min_score]

    def rows_for_frame(self, source: Source, frame, image: np.ndarray, people, checkpoint) -> List[Dict[str, object]]:
        from models.person_boxes import cut_square, square_for_box

        rows = []
        out = Path(self.settings.out)
        for person, found in enumerate(people):
            x, y, side = square_for_box(found.as_tuple(), self.settings.margin)
            patch = cut_square(image, x, y, side, self.settings.size)
            name = f"{frame:06d}_{person}.png" if isinstance(frame, int) else f"{source.patch_stem(frame)}_{person}.png"
            relative = Path("patches") / source.folder_name / name
            write_png(out / relative, patch)
            rows.append({
                "video": source.key, "frame": frame, "person": person, "x": x, "y": y, "side": side,
                "score": f"{found.score:.3f}", "view": self.views.classify(patch).view, "path": relative.as_posix(),
                "checkpoint": checkpoint, "box_x0": f"{found.x0:.1f}", "box_y0": f"{found.y0:.1f}",
                "box_x1": f"{found.x1:.1f}", "box_y1": f"{found.y1:.1f}", "found_by": found.source,
            })
        return rows

    def process(self, source: Source, checkpoint: Checkpoint) -> Tuple[List[Dict[str, object]], int]:
        """Rows for a checkpoint and, when it holds a person, its lookback frames; and the frames analysed."""
        people = self.people(checkpoint.image)
        rows = self.rows_for_frame(source, checkpoint.frame, checkpoint.image, people, checkpoint.frame)
        analysed = 1
        if people:
            for frame, image in checkpoint.lookback:
                rows.extend(self.rows_for_frame(source, frame, image, self.people(image), checkpoint.frame))
                analysed += 1
        return rows, analysed


# Messages from a scan to whoever writes the CSV files: ("checkpoint", key, checkpoint, rows, analysed),
# ("bad_image", key, message) for an unreadable image in a folder (the folder goes on), and last for each source
# either ("done", key, frames decoded, finished) or ("failed", key, message). A video that was read to its end is
# finished for good; a folder never is, so images added to it later, or unreadable ones fixed, are cut next time.
Emit = Callable[[tuple], None]


def scan_source(cutter: PatchCutter, source: Source, finished: Set[str], emit: Emit) -> None:
    """Runs one source, skipping the checkpoints in `finished` (their str() values)."""
    if source.kind == "images":
        read = 0
        for image_path in source.images:
            name = image_path.name
            if name in finished:
                continue
            image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
            if image is None:
                # Not marked finished: a later run tries it again.
                emit(("bad_image", source.key, f"{image_path}: cannot read the image (missing, empty or not an "
                                               f"image format OpenCV reads)"))
                continue
            read += 1
            rows, analysed = cutter.process(source, Checkpoint(name, image))
            emit(("checkpoint", source.key, name, rows, analysed))
        emit(("done", source.key, read, False))
        return
    try:
        video = VideoFrames(source.path)
    except OSError as exc:
        emit(("failed", source.key, str(exc)))
        return
    try:
        offsets = lookback_offsets(video.fps, cutter.settings.every)
        after = max((int(c) for c in finished if c.isdigit()), default=-1)
        for checkpoint in video.checkpoints(cutter.settings.every, offsets, after):
            rows, analysed = cutter.process(source, checkpoint)
            emit(("checkpoint", source.key, checkpoint.frame, rows, analysed))
        emit(("done", source.key, video.decoded, True))
    except OSError as exc:
        emit(("failed", source.key, str(exc)))
    finally:
        video.release()


# ---- engines -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EngineSettings:
    detector: str
    posenet_weights: Optional[str]
    maskrcnn_weights: Optional[str]
    pose_long_side: int
    device: str
    threads: Optional[int]
    runtime: str = "auto"


def build_cutter(engine: EngineSettings, settings: PatchSettings) -> PatchCutter:
    """Loads the networks; raises UsageError with the fix when weights are missing or unusable."""
    from models.checkpoint import CheckpointError
    from models.person_boxes import MaskRCNNDetector, PersonDetector
    from models.posenet import PoseNet, PoseNetWeightsError, require_weights
    from models.view_classes import ViewClassifier

    try:
        posenet = PoseNet.load(require_weights(
            engine.posenet_weights, fix="pass --posenet-weights PATH or run python -m models.posenet.fetch"))
    except PoseNetWeightsError as exc:
        raise UsageError(str(exc)) from None
    if engine.detector == "maskrcnn":
        try:
            from models.segmenter import pick_device

            detector = MaskRCNNDetector(engine.maskrcnn_weights, device=pick_device(engine.device).type)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    else:
        segmenter = None
        if engine.detector != "posenet":
            from models.checkpoint import DEFAULT_WEIGHTS
            from models.segmenter import Segmenter
            try:
                segmenter = Segmenter.load(DEFAULT_WEIGHTS["single"], device=engine.device, runtime=engine.runtime)
            except (CheckpointError, ValueError) as exc:
                raise UsageError(str(exc)) from None
        detector = PersonDetector(posenet, segmenter, mode=engine.detector, pose_long_side=engine.pose_long_side)
    return PatchCutter(detector, ViewClassifier(posenet), settings)


def _worker(engine: EngineSettings, settings: PatchSettings, tasks, results) -> None:
    """A --jobs process: builds its own engines, then scans the sources it is handed until it gets None."""
    from process_settings import configure_process

    configure_process(threads=engine.threads, quiet_opencv=True)
    try:
        cutter = build_cutter(engine, settings)
    except UsageError as exc:
        results.put(("fatal", "", str(exc)))
        return
    while True:
        task = tasks.get()
        if task is None:
            return
        source, finished = task
        try:
            scan_source(cutter, source, finished, results.put)
        except Exception as exc:  # one bad input must not take the other videos down with it
            results.put(("failed", source.key, f"{source.path}: {type(exc).__name__}: {exc}"))


# ---- the run -----------------------------------------------------------------------------------------------------
class Run:
    """Owns the output folder's CSV files and the progress bar; takes the scans' messages in order."""

    def __init__(self, out: Path, sources: Sequence[Source], every: int, show_progress: bool):
        from tqdm import tqdm

        out.mkdir(parents=True, exist_ok=True)
        self._lock = _lock_folder(out)
        self.manifest = AppendOnlyCsv(out / MANIFEST_NAME, MANIFEST_COLUMNS)
        self.progress = AppendOnlyCsv(out / PROGRESS_NAME, PROGRESS_COLUMNS)
        self.listed = {(r["video"], r["frame"], r["person"]) for r in self.manifest.rows}
        self.finished: Dict[str, Set[str]] = {}
        for row in self.progress.rows:
            self.finished.setdefault(row["video"], set()).add(row["checkpoint"])
        self.failures: List[str] = []
        self.new_patches = 0
        self.decoded = 0
        self.analysed = 0
        total = sum(max(0, self._expected_checkpoints(s, every) - len(self.finished.get(s.key, ())))
                    for s in sources if not self.is_done(s))
        self.bar = tqdm(total=total or None, desc="checkpoints", unit="ckpt", disable=not show_progress,
                        dynamic_ncols=True)

    @staticmethod
    def _expected_checkpoints(source: Source, every: int) -> int:
        if source.kind == "images":
            return len(source.images)
        capture = cv2.VideoCapture(str(source.path))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
        capture.release()
        return max(0, math.ceil(count / every))

    def is_done(self, source: Source) -> bool:
        return VIDEO_DONE in self.finished.get(source.key, set())

    def finished_checkpoints(self, source: Source) -> Set[str]:
        return set(self.finished.get(source.key, set()))

    def handle(self, message: tuple) -> None:
        kind, key = message[0], message[1]
        if kind == "checkpoint":
            _, _, checkpoint, rows, analysed = message
            new = [r for r in rows if (r["video"], str(r["frame"]), str(r["person"])) not in self.listed]
            self.manifest.append(new)
            self.listed.update((r["video"], str(r["frame"]), str(r["person"])) for r in new)
            self.progress.append([{"video": key, "checkpoint": checkpoint, "frames_analysed": analysed,
                                   "patches": len(rows)}])
            self.finished.setdefault(key, set()).add(str(checkpoint))
            self.new_patches += len(new)
            self.analysed += analysed
            self.bar.update(1)
            self.bar.set_postfix(patches=self.new_patches, refresh=False)
        elif kind == "done":
            self.decoded += message[2]
            if message[3]:
                self.progress.append([{"video": key, "checkpoint": VIDEO_DONE, "frames_analysed": "",
                                       "patches": ""}])
                self.finished.setdefault(key, set()).add(VIDEO_DONE)
        elif kind in ("failed", "bad_image"):
            self.failures.append(message[2])
            self.bar.write(f"skipped: {message[2]}", file=sys.stderr)
            if kind == "bad_image":
                self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
        os.close(self._lock)


def _lock_folder(out: Path) -> int:
    """Holds DIR/.lock for the run: two runs appending to one manifest would interleave their checkpoints."""
    import fcntl

    handle = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(handle)
        raise UsageError(f"another tools.patches run is writing to {out}; wait for it or stop it first") from None
    return handle


def run_in_process(run: Run, sources: Sequence[Source], engine: EngineSettings, settings: PatchSettings) -> None:
    cutter = build_cutter(engine, settings)
    for source in sources:
        try:
            scan_source(cutter, source, run.finished_checkpoints(source), run.handle)
        except (OSError, ValueError, RuntimeError) as exc:  # one bad input must not stop the others
            run.handle(("failed", source.key, f"{source.path}: {type(exc).__name__}: {exc}"))


def run_in_workers(run: Run, sources: Sequence[Source], engine: EngineSettings, settings: PatchSettings,
                   jobs: int) -> None:
    context = multiprocessing.get_context("spawn")  # no forked copies of torch's thread pools
    tasks, results = context.Queue(), context.Queue()
    for source in sources:
        tasks.put((source, run.finished_checkpoints(source)))
    workers = [context.Process(target=_worker, args=(engine, settings, tasks, results), daemon=True)
               for _ in range(min(jobs, len(sources)))]
    for _ in workers:
        tasks.put(None)
    for worker in workers:
        worker.start()
    open_keys = {s.key for s in sources}
    try:
        while open_keys:
            try:
                message = results.get(timeout=1.0)
            except queue.Empty:
                if not any(w.is_alive() for w in workers):
                    for key in sorted(open_keys):
                        run.handle(("failed", key, f"{key}: its worker process stopped unexpectedly; run again "
                                                   f"to resume"))
                    break
                continue
            if message[0] == "fatal":
                raise UsageError(message[2])
            run.handle(message)
            if message[0] in ("done", "failed"):
                open_keys.discard(message[1])
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join(timeout=5)


# ---- command line ------------------------------------------------------------------------------------------------
def _score(text: str) -> float:
    value = non_negative_float(text)
    if value > 1.0:
        raise UsageError(f"{text!r}: give a score from 0 to 1, e.g. 0.2")
    return value


# models.person_boxes.MODES (default first) and Mask R-CNN, named here so that --help needs no torch import.
DETECTORS = ("segmenter+posenet", "posenet+segmenter", "posenet", "segmenter", "maskrcnn")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m tools.patches", description=__doc__.split("\n\n", 1)[1].rstrip(),
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", type=Path, metavar="VIDEO_OR_FOLDER",
                        help="video files, folders of images (each image a checkpoint), or folders of videos")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created; resumed when it exists)")
    parser.add_argument("--every", type=positive_int, default=24,
                        help="frames from one checkpoint to the next (default 24, about a second)")
    parser.add_argument("--min-score", type=_score, default=0.2,
                        help="a person counts from this detection score on, 0..1 (default 0.2)")
    parser.add_argument("--size", type=positive_int, default=256, help="patch side in pixels (default 256)")
    parser.add_argument("--margin", type=float, default=0.1,
                        help="room around the person's box, as a fraction of its long side on each side "
                             "(default 0.1)")
    detection = parser.add_argument_group("detector")
    detection.add_argument("--detector", choices=DETECTORS, default=DETECTORS[0],
                           help="segmenter+posenet (default): segmenter components split and confirmed by PoseNet, "
                                "plus people only PoseNet finds; posenet+segmenter: PoseNet boxes grown by the "
                                "segmenter; posenet, segmenter: one alone; maskrcnn: torchvision's Mask R-CNN "
                                "(needs --weights)")
    detection.add_argument("--weights", type=Path, metavar="PATH",
                           help="Mask R-CNN weights (torchvision maskrcnn_resnet50_fpn COCO state dict), for "
                                "--detector maskrcnn; never downloaded")
    detection.add_argument("--posenet-weights", metavar="PATH",
                           help="PoseNet .pth (default: the shipped or cached one, see python -m models.posenet)")
    detection.add_argument("--pose-size", type=positive_int, default=513,
                           help="PoseNet's input long side in pixels; larger finds smaller people (default 513)")
    detection.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                           help="auto picks CUDA when PyTorch sees a GPU (default auto)")
    detection.add_argument("--runtime", choices=("auto", "torch", "openvino", "onnxruntime"), default="auto",
                           help="the segmenter's runtime; auto measures once per machine which is fastest "
                                "(default auto)")
    parser.add_argument("--jobs", type=positive_int, default=1, help="processes, one video each (default 1)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads per process (default: PyTorch's choice with --jobs 1, else 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run(args) -> int:
    if args.detector == "maskrcnn" and args.weights is None:
        raise UsageError("--detector maskrcnn needs --weights PATH (a maskrcnn_resnet50_fpn state dict); nothing "
                         "is downloaded")
    if args.weights is not None and args.detector != "maskrcnn":
        raise UsageError("--weights is for --detector maskrcnn; PoseNet's file goes to --posenet-weights")
    if not 0.0 <= args.margin <= 2.0:
        raise UsageError(f"--margin {args.margin} must lie between 0 and 2")
    writable_folder(args.out, "--out")
    sources, problems = list_sources(args.inputs)
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    settings = PatchSettings(out=str(args.out), every=args.every, min_score=args.min_score, size=args.size,
                             margin=args.margin)
    threads = args.threads or (1 if args.jobs > 1 else None)
    engine = EngineSettings(args.detector, args.posenet_weights, str(args.weights) if args.weights else None,
                            args.pose_size, args.device, threads, args.runtime)
    start = time.perf_counter()
    run_state = Run(args.out, sources, args.every, show_progress=not args.no_progress)
    todo = [s for s in sources if not run_state.is_done(s)]
    try:
        if todo and (args.jobs == 1 or len(todo) == 1):
            run_in_process(run_state, todo, engine, settings)
        elif todo:
            run_in_workers(run_state, todo, engine, settings, args.jobs)
    finally:
        run_state.close()
    seconds = time.perf_counter() - start
    failures = problems + run_state.failures
    print(f"{run_state.new_patches} new patch(es) in {args.out / MANIFEST_NAME} "
          f"({len(run_state.manifest.rows)} in all); {len(sources) - len(todo)} input(s) already finished",
          file=sys.stderr)
    print(f"summary: patches={run_state.new_patches} frames_decoded={run_state.decoded} "
          f"frames_analysed={run_state.analysed} seconds={seconds:.1f}")
    if failures:
        print(f"{len(failures)} input(s) failed: " + "; ".join(failures), file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from process_settings import configure_process

    configure_process(threads=args.threads or (1 if args.jobs > 1 else None), quiet_opencv=True)
    return run_command(run, args, "python -m tools.patches",
                       "finished checkpoints are kept; run the same command again to resume")


if __name__ == "__main__":
    sys.exit(main())
