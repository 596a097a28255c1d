"""python -m annotation -s N: draw person masks for capture set N."""
import argparse
import sys
from pathlib import Path

from annotation.frames import SetError, choose_frames, open_capture_set
from annotation.labelme_io import DEFAULT_LABEL, HOLE_SUFFIX, label_argument
from annotation.shortcuts import shortcuts_text
from commandline import ArgumentParser, non_negative_int, report_usage_error

PROG = "python -m annotation"
DEFAULT_IMAGES = Path(__file__).resolve().parent.parent / "images"

DESCRIPTION = f"""\
Draw the person's outline on each frame K.png of images/setN/. Every closed or edited polygon is saved at once
(atomically) to K_mask.png (8-bit, 0/255) and K.json (labelme format). Polygons and rectangles labelled
"{DEFAULT_LABEL}" (--label) paint the mask, those labelled "{DEFAULT_LABEL}{HOLE_SUFFIX}" cut holes; they apply in
file order. Every other shape in K.json (other labels, points, lines, ...) is kept and written back unchanged, with
all its fields. Reopening a frame restores its polygons from K.json (or, without one, traces them from K_mask.png).
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = ArgumentParser(prog=PROG, description=DESCRIPTION,
                                     epilog=shortcuts_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-s", "--set", type=non_negative_int, required=True, metavar="N",
                        help="the set to annotate: images/setN/")
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES, metavar="DIR",
                        help=f"capture root holding setN/ (default: {DEFAULT_IMAGES})")
    parser.add_argument("--label", type=label_argument, default=DEFAULT_LABEL,
                        help=f"label of the shapes that paint the mask; LABEL{HOLE_SUFFIX} shapes cut it "
                             f"(default {DEFAULT_LABEL})")
    parser.add_argument("--all", action="store_true",
                        help="list every frame and start at the first; by default only frames without a mask")
    parser.add_argument("--assist", action="store_true",
                        help="prefill each frame that has no annotation with the segmentation model's polygons "
                             "(the Assist button does it on demand)")
    parser.add_argument("--weights", default="default", metavar="PATH",
                        help="checkpoint for assist (default: the shipped models/weights/plate.pt + single.pt)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="device for assist")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        capture_set = open_capture_set(args.images, args.set)
    except SetError as exc:
        return report_usage_error(exc, PROG)
    frames, start_message = choose_frames(capture_set, args.all)

    from PyQt5.QtWidgets import QApplication

    from annotation.assist import Assist
    from annotation.window import AnnotationWindow

    app = QApplication(sys.argv[:1])
    assist = Assist.load(args.weights, device=args.device)
    if args.assist and not assist.available:
        print(f"warning: {assist.unavailable_reason}", file=sys.stderr)
    window = AnnotationWindow(capture_set, frames, assist, auto_assist=args.assist, start_message=start_message,
                              label=args.label)
    window.show()
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main())
