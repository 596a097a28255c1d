"""python -m tools.cutout: cut the people out of a photo, a folder of photos, a video or a camera.

Formats:
  mask       8-bit masks (0 background .. 255 person, soft at the edges), NAME.png
  rgba       transparent PNG cut-outs (the mask as alpha), NAME.png
  composite  the person over a flat colour (--color), a blur (--blur) or a picture (--replace IMG), NAME.png;
             a video or camera input gives one NAME.mp4 instead

Models: the single-frame RGB model by default, its grayscale variant with --gray, or the plate model with
--plate IMG (a photo of the same scene without the person, taken by the same camera at the same size).

Outputs are named after the inputs; video and camera frames are NAME_000000.png, NAME_000001.png, ... Existing
outputs are never replaced unless --force. An unreadable input is named and skipped, and the exit code is 1.
"""
import argparse
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from app.frame_source import FALLBACK_VIDEO_FPS
from app.views import FLAT_BGR, View, compose
from commandline.arguments import positive_int
from commandline.usage import ArgumentParser, UsageError, report_usage_error
from fileio.atomic_files import atomic_path, write_png
from fileio.capture_sets import IMAGE_SUFFIXES, read_image
from models.checkpoint import DEFAULT_WEIGHTS, WEIGHTS_DIR, CheckpointError
from models.segmenter import Segmenter

EXIT_OK, EXIT_SOME_FAILED = 0, 1
GRAY_WEIGHTS = WEIGHTS_DIR / "single_gray.pt"
FORMATS = ("mask", "rgba", "composite")
DEFAULT_CAMERA_FRAMES = 100
CAMERA_FALLBACK_FPS = 30.0
VIDEO_FOURCC = "mp4v"  # MPEG-4 Part 2 in .mp4: OpenCV's bundled FFmpeg always has the encoder
EMPTY_READS_ALLOWED = 20  # webcams often deliver a few empty reads right after opening

EXAMPLES = """examples:
  python -m tools.cutout photo.jpg                          # cutouts/photo.png, transparent
  python -m tools.cutout photos/ --format mask --out masks  # masks/NAME.png for every image in photos/
  python -m tools.cutout photos/ --gray                     # the grayscale single-frame model
  python -m tools.cutout clip.avi --blur                    # cutouts/clip.mp4, background blurred
  python -m tools.cutout clip.avi --replace beach.jpg       # cutouts/clip.mp4 on a beach
  python -m tools.cutout images/set1 --plate images/set1/bkg.png --format composite --color 255,255,255
  python -m tools.cutout 0 --frames 50 --format rgba        # 50 webcam frames, cutouts/camera0_000000.png ...

exit codes: 0 all written, 1 some inputs could not be read (each is named), 2 bad arguments."""


@dataclass(frozen=True)
class Source:
    kind: str  # "image" | "folder" | "video" | "camera"
    path: Optional[Path] = None
    camera_index: Optional[int] = None

    @property
    def name(self) -> str:
        return f"camera{self.camera_index}" if self.kind == "camera" else self.path.stem


@dataclass(frozen=True)
class Background:
    """What a composite puts behind the person: 'color' (bgr), 'blur', or 'replace' (image)."""
    kind: str
    bgr: Tuple[int, int, int] = FLAT_BGR
    image: Optional[np.ndarray] = None


# ---- arguments --------------------------------------------------------------------------------------------------
def parse_colour(text: str) -> Tuple[int, int, int]:
    """'R,G,B' (0-255 each) or '#RRGGBB' -> a BGR tuple."""
    text = text.strip()
    match = re.fullmatch(r"#?([0-9a-fA-F]{6})", text)
    if match and (text.startswith("#") or "," not in text):
        value = match.group(1)
        red, green, blue = (int(value[i:i + 2], 16) for i in (0, 2, 4))
        return blue, green, red
    parts = text.split(",")
    try:
        red, green, blue = (int(part) for part in parts)
    except ValueError:
        raise UsageError(f"{text!r} is not a colour; use R,G,B (e.g. 0,180,80) or #RRGGBB") from None
    if not all(0 <= v <= 255 for v in (red, green, blue)):
        raise UsageError(f"{text!r}: each of R,G,B must be 0..255")
    return blue, green, red


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m tools.cutout", description=__doc__.split("\n\n", 1)[1].rstrip(), epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="an image, a folder of images, a video file, or a camera index (0, 1, ...)")
    parser.add_argument("--out", type=Path, default=Path("cutouts"), help="output folder (default: cutouts)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="mask, rgba or composite (default: composite when --color, --blur or --replace is "
                             "given, else rgba)")
    model = parser.add_argument_group("model")
    model.add_argument("--plate", type=Path, metavar="IMG",
                       help="background plate (same scene, no person, same size as the frames): runs the plate model")
    model.add_argument("--gray", action="store_true", help=f"the grayscale single-frame model ({GRAY_WEIGHTS.name})")
    model.add_argument("--weights", type=Path, metavar="CKPT",
                       help="any Backplate checkpoint instead of the shipped weights (a plate model needs --plate)")
    model.add_argument("--no-person-gate", action="store_true",
                       help="single-frame model: keep every part of the mask, even where PoseNet sees no body part "
                            "(by default such parts, e.g. blobs on an empty floor, are cleared)")
    model.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="auto picks CUDA when PyTorch sees a GPU (default: auto)")
    background = parser.add_argument_group("composite background (pick one; default: flat green)")
    choice = background.add_mutually_exclusive_group()
    choice.add_argument("--color", "--colour", type=parse_colour, metavar="R,G,B",
                        help="a flat colour, R,G,B or #RRGGBB, e.g. 255,255,255")
    choice.add_argument("--blur", action="store_true", help="the input itself, strongly blurred")
    choice.add_argument("--replace", type=Path, metavar="IMG", help="a picture, scaled and cropped to fill the frame")
    parser.add_argument("--frames", type=positive_int, default=DEFAULT_CAMERA_FRAMES,
                        help=f"frames to take from a camera (default {DEFAULT_CAMERA_FRAMES})")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--threads", type=positive_int, default=2, help="CPU threads for the network (default 2)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def classify_source(text: str) -> Source:
    if re.fullmatch(r"\d+", text.strip()):
        return Source("camera", camera_index=int(text))
    path = Path(text).expanduser()
    if path.is_dir():
        return Source("folder", path=path)
    if path.is_file():
        return Source("image" if path.suffix.lower() in IMAGE_SUFFIXES else "video", path=path)
    raise UsageError(f"{text}: no such file or folder; give an image, a folder of images, a video or a camera index")


def resolve_format(args) -> str:
    chosen_background = args.color is not None or args.blur or args.replace is not None
    if args.format is None:
        return "composite" if chosen_background else "rgba"
    if chosen_background and args.format != "composite":
        raise UsageError(f"--color, --blur and --replace set a composite's background; they do not apply to "
                         f"--format {args.format} (use --format composite)")
    return args.format


def resolve_background(args) -> Background:
    if args.blur:
        return Background("blur")
    if args.replace is not None:
        try:
            return Background("replace", image=read_image(args.replace))
        except ValueError as exc:
            raise UsageError(f"--replace: {exc}") from None
    return Background("color", bgr=args.color if args.color is not None else FLAT_BGR)


def check_model_flags(args) -> None:
    if args.gray and args.plate is not None:
        raise UsageError("--gray picks the grayscale single-frame model, --plate the plate model: pass one of them")
    if args.weights is not None and args.gray:
        raise UsageError("--weights and --gray both pick a model: pass one of them")


def load_segmenter(args) -> Segmenter:
    path = args.weights or (DEFAULT_WEIGHTS["plate"] if args.plate is not None
                            else GRAY_WEIGHTS if args.gray else DEFAULT_WEIGHTS["single"])
    try:
        segmenter = Segmenter.load(path, device=args.device, person_gate=not args.no_person_gate)
    except (CheckpointError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if args.plate is not None and not segmenter.has_plate_model:
        raise UsageError(f"--plate needs a plate model, but {path} holds a single-frame model")
    if args.plate is None and not segmenter.has_single_model:
        raise UsageError(f"{path} holds a plate model: pass --plate IMG (a picture of the scene without the person)")
    return segmenter


def read_plate(args) -> Optional[np.ndarray]:
    if args.plate is None:
        return None
    try:
        return read_image(args.plate)
    except ValueError as exc:
        raise UsageError(f"--plate: {exc}") from None


def plate_mismatch(plate: Optional[np.ndarray], frame: np.ndarray, plate_path: Path, input_name: str) -> Optional[str]:
    if plate is None or plate.shape[:2] == frame.shape[:2]:
        return None
    return (f"the plate {plate_path} is {plate.shape[1]}x{plate.shape[0]} but {input_name} is "
            f"{frame.shape[1]}x{frame.shape[0]}: the plate must come from the same camera at the same size")


# ---- rendering and writing --------------------------------------------------------------------------------------
def render(fmt: str, frame: np.ndarray, mask: np.ndarray, background: Background) -> np.ndarray:
    """The output image for one frame: an 8-bit mask, a BGRA cut-out or a BGR composite."""
    alpha = np.round(np.clip(mask, 0.0, 1.0) * 255.0).astype(np.uint8)
    if fmt == "mask":
        return alpha
    if fmt == "rgba":
        return np.dstack([frame, alpha])
    if background.kind == "blur":
        return compose(View.BLUR, frame, mask)
    if background.kind == "replace":
        return compose(View.REPLACE, frame, mask, background.image)
    flat = np.empty_like(frame)
    flat[:] = background.bgr
    return compose(View.REPLACE, frame, mask, flat)


@contextmanager
def atomic_video(path: Path, fps: float, size: Tuple[int, int], overwrite: bool) -> Iterator[cv2.VideoWriter]:
    """A video writer whose file appears at path only once it is complete."""
    with atomic_path(path, overwrite=overwrite) as temp_name:
        staging = temp_name + path.suffix  # OpenCV picks the container from the file's extension
        writer = cv2.VideoWriter(staging, cv2.VideoWriter_fourcc(*VIDEO_FOURCC), fps, size)
        try:
            if not writer.isOpened():
                raise OSError(f"cannot write video {path}: OpenCV has no {VIDEO_FOURCC} encoder here")
            yield writer
            writer.release()
            os.replace(staging, temp_name)
        finally:
            writer.release()
            if os.path.exists(staging):
                os.unlink(staging)


def output_stems(paths: Sequence[Path]) -> Dict[Path, str]:
    """NAME for each input; inputs that share a name (a.jpg, a.png) keep their suffix too (a_jpg, a_png)."""
    counts: Dict[str, int] = {}
    for path in paths:
        counts[path.stem] = counts.get(path.stem, 0) + 1
    return {p: p.stem if counts[p.stem] == 1 else f"{p.stem}_{p.suffix.lstrip('.').lower()}" for p in paths}


def refuse_existing(outputs: Sequence[Path], force: bool) -> None:
    existing = [p for p in outputs if p.exists()]
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise UsageError(f"{existing[0]} already exists{more}; pass --force to overwrite, or choose another --out")


# ---- the work ---------------------------------------------------------------------------------------------------
class Job:
    def __init__(self, args, fmt: str, segmenter: Segmenter, plate: Optional[np.ndarray], background: Background):
        self.args, self.fmt, self.segmenter, self.plate, self.background = args, fmt, segmenter, plate, background
        self.failed: List[str] = []
        self.written = 0

    def cutout(self, frame: np.ndarray) -> np.ndarray:
        return render(self.fmt, frame, self.segmenter.segment(frame, self.plate), self.background)

    def fail(self, message: str) -> None:
        self.failed.append(message)
        tqdm.write(f"skipped: {message}", file=sys.stderr)

    def run_images(self, paths: List[Path]) -> None:
        stems = output_stems(paths)
        refuse_existing([self.args.out / f"{stems[p]}.png" for p in paths], self.args.force)
        for path in tqdm(paths, desc="cut-outs", unit="image", disable=self.args.no_progress or None):
            frame = self._read(path)
            if frame is None:
                continue
            mismatch = plate_mismatch(self.plate, frame, self.args.plate, str(path))
            if mismatch and len(paths) == 1:
                raise UsageError(mismatch)  # the one input cannot work with this plate: a bad argument
            if mismatch:
                self.fail(mismatch)
                continue
            self._write_png(self.args.out / f"{stems[path]}.png", self.cutout(frame))

    def _read(self, path: Path) -> Optional[np.ndarray]:
        try:
            return read_image(path)
        except ValueError as exc:
            self.fail(str(exc))
            return None

    def _write_png(self, path: Path, image: np.ndarray) -> None:
        try:
            write_png(path, image, overwrite=self.args.force)
            self.written += 1
        except FileExistsError:
            self.fail(f"{path} appeared meanwhile; pass --force to overwrite it")

    def run_stream(self, reader, source: Source, total: Optional[int], fps: float) -> None:
        """Frames from a video or camera: PNGs per frame, or one composite video."""
        first = read_first(reader, live=source.kind == "camera")
        if first is None:
            self.fail(f"{reader.label} opened but delivered no frame")
            return
        mismatch = plate_mismatch(self.plate, first, self.args.plate, f"the frames of {reader.label}")
        if mismatch:
            raise UsageError(mismatch)
        bar = tqdm(total=total, desc="cut-outs", unit="frame", disable=self.args.no_progress or None)
        frames = frames_from(reader, first, total if source.kind == "camera" else None)
        with bar:
            if self.fmt == "composite":
                video_path = self.args.out / f"{source.name}.mp4"
                refuse_existing([video_path], self.args.force)
                height, width = first.shape[:2]
                try:
                    with atomic_video(video_path, fps, (width, height), overwrite=self.args.force) as writer:
                        for frame in frames:
                            writer.write(self.cutout(frame))
                            bar.update(1)
                except FileExistsError:
                    self.fail(f"{video_path} appeared meanwhile; pass --force to overwrite it")
                    return
                self.written += 1
                return
            refuse_existing([self.args.out / f"{source.name}_{0:06d}.png"], self.args.force)
            for index, frame in enumerate(frames):
                self._write_png(self.args.out / f"{source.name}_{index:06d}.png", self.cutout(frame))
                bar.update(1)


def read_first(reader, live: bool) -> Optional[np.ndarray]:
    for _ in range(EMPTY_READS_ALLOWED if live else 1):
        frame = reader.read()
        if frame is not None:
            return frame
    return None


def frames_from(reader, first: np.ndarray, limit: Optional[int]) -> Iterator[np.ndarray]:
    """first, then the reader's frames until it ends or limit frames were given."""
    yield first
    count = 1
    while limit is None or count < limit:
        frame = reader.read()
        if frame is None:
            return
        yield frame
        count += 1


class CaptureFrames:
    """A video file or a webcam as a reader of frames; read() gives None at the end or on an empty grab."""

    def __init__(self, source: Source):
        self.label = str(source.path) if source.kind == "video" else f"camera {source.camera_index}"
        self.capture = cv2.VideoCapture(str(source.path) if source.kind == "video" else source.camera_index)
        if not self.capture.isOpened():
            self.capture.release()
            raise OSError(f"cannot open {self.label}: " + (
                "not a video OpenCV can decode" if source.kind == "video"
                else "no camera at that index, or another program uses it"))
        fps = self.capture.get(cv2.CAP_PROP_FPS)
        fallback = FALLBACK_VIDEO_FPS if source.kind == "video" else CAMERA_FALLBACK_FPS
        self.fps = fps if fps and 0 < fps < 1000 else fallback
        count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT)) if source.kind == "video" else 0
        self.frame_count = count if count > 0 else None

    def read(self) -> Optional[np.ndarray]:
        ok, frame = self.capture.read()
        return frame if ok and frame is not None and frame.size else None

    def release(self) -> None:
        self.capture.release()


def folder_images(folder: Path) -> List[Path]:
    images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise UsageError(f"{folder} has no images ({', '.join(IMAGE_SUFFIXES)})")
    return images


def run(args) -> int:
    check_model_flags(args)
    source = classify_source(args.path)
    fmt = resolve_format(args)
    background = resolve_background(args)
    plate = read_plate(args)
    images = folder_images(source.path) if source.kind == "folder" else [source.path] if source.kind == "image" else []
    segmenter = load_segmenter(args)
    job = Job(args, fmt, segmenter, plate, background)
    if images:
        job.run_images(images)
    else:
        try:
            reader = CaptureFrames(source)
        except OSError as exc:
            job.fail(str(exc))
        else:
            try:
                total = args.frames if source.kind == "camera" else reader.frame_count
                job.run_stream(reader, source, total, reader.fps)
            finally:
                reader.release()
    print(f"wrote {job.written} file(s) to {args.out}", file=sys.stderr)
    if job.failed:
        print(f"{len(job.failed)} input(s) skipped, named above", file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # a malformed flag exits 2 with one line
    from process_settings import configure_process
    configure_process(threads=args.threads, quiet_opencv=True)
    try:
        return run(args)
    except UsageError as exc:
        return report_usage_error(exc, "python -m tools.cutout")
    except OSError as exc:  # the output side: a full disk, a read-only folder, no video encoder
        print(f"error: cannot write the output: {exc}", file=sys.stderr)
        return EXIT_SOME_FAILED
    except KeyboardInterrupt:
        print("interrupted: finished files are kept, the one being written is dropped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
