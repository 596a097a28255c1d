"""python -m models.posenet IMAGE [--weights PATH] [--json]: prints the people PoseNet finds in an image."""
import argparse
import json
import sys

import cv2

from commandline import positive_int

from .decode import KEYPOINT_NAMES
from .estimator import PoseNet
from .weights import PoseNetWeightsError, candidate_paths, find_weights


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.posenet",
        description="Find people in an image with PoseNet and print each one's 17 keypoints "
                    "(x, y in image pixels, score 0..1).")
    parser.add_argument("image", help="an image file OpenCV can read (jpg, png, ...)")
    parser.add_argument("--weights", default=None,
                        help="converted PoseNet .pth; default: the first found of $BACKPLATE_POSENET_WEIGHTS, "
                             "the shipped models/weights/posenet_mobilenet_v1_050.pth, "
                             "~/.cache/backplate/posenet_mobilenet_v1_*.pth")
    parser.add_argument("--json", action="store_true",
                        help="print JSON: a list of people, each {score, keypoints: [{name, x, y, score}]}")
    parser.add_argument("--long-side", type=positive_int, default=257,
                        help="network input's long side in pixels (larger: farther people, slower; default 257)")
    parser.add_argument("--max-people", type=positive_int, default=5, help="most people to report (default 5)")
    args = parser.parse_args(argv)

    image = cv2.imread(args.image)
    if image is None:
        print(f"error: cannot read image {args.image}: not found or not an image format OpenCV reads",
              file=sys.stderr)
        return 2
    try:
        path = find_weights(args.weights)
    except PoseNetWeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if path is None:
        looked = ", ".join(str(p) for p in candidate_paths())
        print(f"error: no PoseNet weights found (looked in: {looked}). Run `python -m models.posenet.fetch` "
              f"or pass --weights PATH.", file=sys.stderr)
        return 2
    try:
        posenet = PoseNet.load(path, long_side=args.long_side)
    except PoseNetWeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    people = posenet.estimate(image, max_poses=args.max_people)
    if args.json:
        print(json.dumps([p.to_dict() for p in people], indent=1))
        return 0
    print(f"{len(people)} people in {args.image} ({image.shape[1]}x{image.shape[0]}), weights {path}")
    for n, person in enumerate(people, 1):
        print(f"person {n}: score {person.score:.2f}")
        for i, name in enumerate(KEYPOINT_NAMES):
            x, y = person.keypoints[i]
            print(f"  {name:15s} x={x:7.1f} y={y:7.1f} score={person.keypoint_scores[i]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
