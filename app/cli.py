"""Command line of the live app: `python main.py --help`."""
import argparse
import re
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from app.buttons import BUTTON_NAMES as PRESS_NAMES
from app.views import View
from commandline import UsageError, non_negative_float, writable_folder

REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_press(text: str) -> Tuple[str, float]:
    match = re.fullmatch(r"(\w+)@(\d+(?:\.\d*)?|\.\d+)", text.strip())
    if not match or match.group(1).lower() not in PRESS_NAMES:
        raise argparse.ArgumentTypeError(
            f"--press {text!r} should be NAME@SECONDS with NAME one of {', '.join(PRESS_NAMES)}, e.g. bkg@0.5")
    return match.group(1).lower(), float(match.group(2))


def non_negative_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more seconds")
    return value


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only when it says something (not for switches and unset options)."""

    def _get_help_string(self, action):
        if action.default in (None, False, [], argparse.SUPPRESS) or isinstance(action.default, Path):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="Backplate live app: shows the camera with a person mask, and captures background plates "
                    "(Bkg) and frames (Sav) into IMAGES/setN/. Press buttons with the mouse, the keyboard "
                    "(b = Bkg, s = Sav, q or Esc = Ext; 1-5 switch views) or by holding a palm on them.",
        formatter_class=_HelpFormatter)
    source = parser.add_argument_group("input")
    source.add_argument("--source", default="0",
                        help="webcam index (0, 1, ...), a video file (loops), or a folder of images (played in "
                             "name order, loops)")
    source.add_argument("--once", action="store_true",
                        help="stop at the end of a video file or image folder instead of looping")
    source.add_argument("--fps", type=non_negative_float, default=None,
                        help="playback rate for video files and image folders (default: the video's own rate, "
                             "10 for folders; 0 = as fast as they decode)")
    source.add_argument("--mirror", action="store_true", help="flip the view horizontally (saved files stay raw)")

    capture = parser.add_argument_group("capture")
    capture.add_argument("--images", type=Path, default=REPO_ROOT / "images",
                         help="capture root: Bkg creates the next setN/ here with bkg.png, Sav adds N.png "
                              "(default: images/ in the project folder)")
    capture.add_argument("-b", "--background-timer", type=non_negative_seconds, default=5.0,
                         help="seconds of countdown before Bkg saves the plate (step out of view meanwhile)")
    capture.add_argument("-s", "--save-timer", type=non_negative_seconds, default=2.0,
                         help="seconds of countdown before Sav saves a frame")

    seg = parser.add_argument_group("segmentation")
    seg.add_argument("--weights", nargs="+", default=["default"], metavar="PATH",
                     help="'default' (models/weights/plate.pt + single.pt), one checkpoint (plate or single), "
                          "or two: a plate and a single-frame checkpoint")
    seg.add_argument("--no-segmentation", action="store_true", help="do not load a model; show the raw frame")
    seg.add_argument("--no-person-gate", action="store_true",
                     help="before the first plate: keep every part of the single-frame model's mask, even where "
                          "PoseNet sees no body part (by default such parts, e.g. blobs on an empty floor, are "
                          "cleared)")
    seg.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where the model runs")
    seg.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                     help="model arithmetic; auto picks fp16 on a GPU and, on a CPU, times bf16 against fp32 "
                          "at startup (a few seconds)")
    seg.add_argument("--view", default="tint", choices=[v.key for v in View],
                     help="first view: " + "; ".join(f"{v.key} (key {v.shortcut}) = {v.description}" for v in View))
    seg.add_argument("--replace", type=Path, default=None, metavar="IMG",
                     help="image that replaces the background in the 'replace' view")

    palm = parser.add_argument_group("palm buttons")
    palm.add_argument("--palm", default="auto", choices=("auto", "posenet", "mediapipe", "none"),
                      help="palm tracker that presses buttons; 'none' turns palm presses off")
    palm.add_argument("--dwell", type=non_negative_seconds, default=0.6,
                      help="seconds a palm must stay on a button to press it")
    palm.add_argument("--posenet-weights", default=None, metavar="PATH",
                      help="PoseNet state dict for --palm posenet/auto (default: the tracker's own choice)")

    output = parser.add_argument_group("recording and virtual camera")
    output.add_argument("--record", default=None, metavar="OUT",
                        help="record what the video shows (the chosen view, without buttons and palm circles) to "
                             "OUT at the source's frame rate, from the start. Recordings are Motion-JPEG .avi "
                             "files that stay playable if the app is killed; an existing OUT is never "
                             "overwritten (OUT-1.avi, OUT-2.avi, ...). In the window, R or the Rec button starts "
                             "and stops recording (to OUT, or IMAGES/recordings/recording.avi)")
    output.add_argument("--record-raw", action="store_true",
                        help="record the raw camera frames instead of the view")
    output.add_argument("--virtual-camera", nargs="?", const="auto", default=None, metavar="DEVICE",
                        help="also send the view to a virtual webcam for video calls (v4l2loopback on Linux, "
                             "e.g. /dev/video2; OBS's virtual camera on Windows and macOS); without DEVICE the "
                             "first one found. With none, the app says how to get one and runs on")

    script = parser.add_argument_group("scripted runs")
    script.add_argument("--headless", action="store_true",
                        help="no window: same capture loop and storage, messages printed to stdout")
    script.add_argument("--press", type=parse_press, action="append", default=[], metavar="NAME@SECONDS",
                        help="press ext, bkg or sav this many seconds after start; repeatable")
    script.add_argument("--duration", type=non_negative_seconds, default=None, metavar="SECONDS",
                        help="quit after this many seconds")
    return parser


def fail(message: str) -> int:
    print(f"backplate: error: {message}", file=sys.stderr)
    return 2


def load_replacement(path: Optional[Path]):
    if path is None:
        return None
    import cv2
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if Path(path).is_file() else None
    if image is None:
        raise UsageError(f"--replace {path}: cannot read it as an image (missing, empty or not an image file); "
                         f"pass a PNG or JPEG")
    return image


def open_segmenter(weights: List[str], device: str, precision: str = "auto", person_gate: bool = True):
    """Segmenter for --weights: 'default', one checkpoint, or a plate + a single-frame checkpoint."""
    from models.checkpoint import CheckpointError, load_checkpoint, model_kind
    from models.segmenter import Segmenter, load_person_gate
    if len(weights) == 1:
        return Segmenter.load(weights[0], device=device, precision=precision, person_gate=person_gate)
    if len(weights) != 2 or "default" in weights:
        raise CheckpointError(f"--weights takes 'default', one checkpoint or two (plate + single); got {weights}")
    models = {}
    for path in weights:
        model, _ = load_checkpoint(path)
        kind = model_kind(model)
        if kind in models:
            raise CheckpointError(f"--weights {' '.join(weights)}: both are {kind} models; pass one plate "
                                  f"and one single-frame checkpoint")
        models[kind] = model
    return Segmenter(plate_model=models["plate"], single_model=models["single"], device=device,
                     precision=precision, person_gate=load_person_gate(person_gate))


def load_segmenter(args) -> Tuple[object, str]:
    """(segmenter or None, note for the status bar)."""
    if args.no_segmentation:
        return None, "turned off with --no-segmentation"
    try:
        from models.checkpoint import CheckpointError
        from models.segmenter import Segmenter  # noqa: F401  (fails early when torch is missing)
    except ImportError as exc:
        return None, f"engine unavailable ({exc})"
    try:
        segmenter = open_segmenter(args.weights, args.device, args.precision, person_gate=not args.no_person_gate)
    except CheckpointError as exc:
        return None, str(exc)
    except ValueError as exc:  # e.g. --device cuda without a GPU
        return None, str(exc)
    models = [kind for kind, present in (("plate", segmenter.has_plate_model),
                                         ("single", segmenter.has_single_model)) if present]
    gate = ", PoseNet person gate" if segmenter.person_gate is not None else ""
    return segmenter, f"{'+'.join(models)} on {segmenter.device}, {segmenter.runtime} {segmenter.precision}{gate}"


def load_palm_tracker(args):
    """(tracker or None, note, make_dwell or None). Nothing palm-related is imported with --palm none."""
    if args.palm == "none":
        return None, "", None
    try:
        from app.dwell import DwellPresser
        from app.palm_tracking import make_palm_tracker
    except ImportError as exc:
        return None, f"palm tracking unavailable ({exc})", None
    try:
        tracker, reason = make_palm_tracker(args.palm, args.posenet_weights)
    except Exception as exc:  # a bad weights file or missing runtime must not stop the app
        return None, f"palm tracking off: {exc}", None
    if tracker is None:
        return None, reason, None
    dwell_s = args.dwell
    return tracker, reason, (lambda hit_test: DwellPresser(hit_test, dwell_s=dwell_s))


def build_session(args):
    """Opens the source, storage, engine and palm tracker for parsed args; returns (session, source spec).
    Raises UsageError or SourceError with a one-line message."""
    from app.capture_storage import CaptureStorage
    from app.frame_source import open_reader, parse_source, read_first_frame
    from app.session import LiveSession, SessionOptions
    from app.workers import CaptureThread

    replacement = load_replacement(args.replace)
    view = View.from_key(args.view)
    if view is View.REPLACE and replacement is None:
        raise UsageError("--view replace needs --replace IMG")
    writable_folder(args.images, "--images")
    spec = parse_source(args.source)
    reader = open_reader(spec, loop=not args.once)
    try:
        first_frame = read_first_frame(reader)
    except Exception:
        reader.release()
        raise
    pace = args.fps if args.fps is not None else reader.native_fps
    reopen = (lambda: open_reader(spec)) if spec.kind == "camera" else None
    capture = CaptureThread(reader, reopen=reopen, pace_fps=pace)
    capture.frames.put(first_frame)

    segmenter, seg_note = load_segmenter(args)
    tracker, palm_note, make_dwell = load_palm_tracker(args)
    options = SessionOptions(bkg_seconds=args.background_timer, sav_seconds=args.save_timer, mirror=args.mirror,
                             view=view, replacement=replacement)
    log = (lambda text: print(text, flush=True)) if args.headless else (lambda text: None)
    session = LiveSession(capture, CaptureStorage(args.images), options, segmenter=segmenter,
                          segmentation_note=seg_note, palm_tracker=tracker, palm_note=palm_note,
                          make_dwell=make_dwell, log=log)
    for name, seconds in args.press:
        session.schedule_press(name, seconds)
    return session, spec


def default_recording_path(images: Path) -> Path:
    from app.recorder import DEFAULT_NAME
    return Path(images) / "recordings" / DEFAULT_NAME


def start_plate_check(session):
    """The stale-plate warning: on the segmentation worker, about once a second while the plate model runs."""
    segmenter = session.segmenter
    if segmenter is None or not segmenter.has_plate_model:
        return None
    from app.stale_plate import PlateCheck
    check = PlateCheck(segment_single=segmenter.segment if segmenter.has_single_model else None,
                       on_change=lambda text: session.set_notice("stale_plate", text, on_screen=True),
                       palms_seen=lambda: bool(session.palms is not None and session.palms.points),
                       clock=session.clock)
    session.add_segmentation_listener(
        lambda frame, plate, result: check(frame, plate, result.mask if result.mode == "plate" else None))
    return check


def start_virtual_camera(session, device: str):
    """Sends the view to a virtual webcam; without one, prints one line that says how to get one."""
    from app.virtual_camera import VirtualCamera, VirtualCameraUnavailable
    _, frame = session.capture.frames.get()
    height, width = frame.shape[:2]
    fps = session.capture.pace_fps or 30.0
    try:
        camera = VirtualCamera.open(width, height, fps, device=None if device == "auto" else device,
                                    on_error=lambda text: session.set_notice("virtual_camera", text))
    except VirtualCameraUnavailable as exc:
        print(f"backplate: {exc}", file=sys.stderr, flush=True)
        session.set_notice("virtual_camera", "virtual camera off: see the terminal for how to get one")
        return None
    session.add_view_sink(camera.send)
    session.set_notice("virtual_camera", f"virtual camera: {camera.device} ({width}x{height})")
    return camera


class Outputs:
    """What the view goes out to besides the screen: recordings, a virtual camera, the stale-plate check."""

    def __init__(self, session, args):
        from app.recorder import RecordingControl
        base = recording_target(args.record) if args.record else default_recording_path(args.images)
        self.recording = RecordingControl(session, base, raw=args.record_raw)
        self.plate_check = start_plate_check(session)
        self.virtual_camera = start_virtual_camera(session, args.virtual_camera) if args.virtual_camera else None
        if args.record:
            self.recording.start()

    def close(self) -> None:
        """After the session closed: finalises the recording and releases the virtual camera."""
        self.recording.close()
        if self.virtual_camera is not None:
            self.virtual_camera.close()


def recording_target(text: str) -> Path:
    from app.recorder import RecordingError, recording_path
    try:
        return recording_path(text)
    except RecordingError as exc:
        raise UsageError(str(exc)) from None


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from process_settings import configure_process
    # OpenCV's backend warnings for a missing camera say less than our own one-line message.
    configure_process(quiet_opencv=True)
    from app.frame_source import SourceError
    try:
        if args.record:
            recording_target(args.record)  # a bad name fails before the camera opens
        session, spec = build_session(args)
    except (UsageError, SourceError) as exc:
        return fail(str(exc))
    outputs = Outputs(session, args)
    try:
        if args.headless:
            from app.headless import run_headless
            return run_headless(session, args.duration)
        from app.window import run_window
        return run_window(session, args.duration, source_name=spec.describe(), recording=outputs.recording)
    finally:
        outputs.close()
