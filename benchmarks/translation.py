"""Translation between person domains (A real people, B game-engine people) beside its baselines, held out.

    python -m benchmarks.translation --a runs/domains/A/test --b runs/domains/B/test \
        --classifier-a runs/domains/A/classifier --classifier-b runs/domains/B/classifier \
        --model cycleGAN=models/weights/person_translator.pt \
        --model pix2pix=models/weights/person_translator_pairs.pt --grid docs/translation_samples.png

Every image is first brought to 256x256. Measures, per direction (a2b turns the --a test images into B, b2a the
--b test images into A):

  pose px       median distance, in pixels at 256x256, between the PoseNet keypoints of the input and of the
                output, over the keypoints confident (score >= 0.5) in both; "pose lost" is the share of inputs
                with a confident keypoint whose output shares none with them
  target share  the share of outputs that a domain classifier calls the target domain. The classifier is
                trained in this run (seeded) on --classifier-a and --classifier-b, held out from the GAN's
                training and from the test images; its accuracy on the untranslated test images is printed first.
                By default it is a linear layer on frozen PoseNet (MobileNet) features: with a few dozen game
                images, a CNN trained from scratch (--classifier cnn) stays near chance on held-out game patches
  cycle L1      mean absolute error in [0, 1] units of input -> other domain -> back (cycleGAN: both generators;
                colour transfer: the inverse transfer); n/a for one-way pix2pix

Rows: the input unchanged (identity), a colour transfer (each Lab channel's mean and standard deviation matched to
the target domain's, measured on its classifier images), then every --model (a cycleGAN translates both ways, a
pix2pix only a2b).
"""
import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from benchmarks._table import format_number, print_table
from commandline import ArgumentParser, UsageError, positive_int, run_command
from fileio.capture_sets import IMAGE_SUFFIXES, read_image
from metrics.image_metrics import l1

SIDE = 256  # the pose displacement is measured at this size
CLASSIFIER_SIDE = 64
CLASSIFIER_PAD = 72  # classifier images are resized to this, then cropped
KEYPOINT_SCORE = 0.5
DOMAINS = ("A", "B")


# ---- colour transfer baseline -----------------------------------------------------------------------------------
def lab_statistics(images: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation in OpenCV's float Lab, over every pixel of the images."""
    pixels = np.concatenate([cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_BGR2LAB).reshape(-1, 3)
                             for image in images])
    return pixels.mean(axis=0), pixels.std(axis=0)


def colour_transfer(image_bgr: np.ndarray, target: Tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The image with each Lab channel shifted and scaled to the target's mean and standard deviation."""
    lab = cv2.cvtColor(image_bgr.astype(np.float32) / 255.0, cv2.COLOR_BGR2LAB)
    mean, std = lab.reshape(-1, 3).mean(axis=0), lab.reshape(-1, 3).std(axis=0)
    moved = (lab - mean) * (target[1] / np.maximum(std, 1e-6)) + target[0]
    moved[..., 0] = np.clip(moved[..., 0], 0.0, 100.0)
    bgr = cv2.cvtColor(moved.astype(np.float32), cv2.COLOR_LAB2BGR)
    return np.clip(bgr * 255.0 + 0.5, 0, 255).astype(np.uint8)


# ---- domain classifier ------------------------------------------------------------------------------------------
class DomainClassifier(nn.Module):
    """Four strided convolutions and a linear layer: 64x64 BGR -> logit of domain B."""

    def __init__(self, width: int = 16):
        super().__init__()
        layers, channels = [], 3
        for level in range(4):
            layers += [nn.Conv2d(channels, width << level, 3, stride=2, padding=1), nn.BatchNorm2d(width << level),
                       nn.ReLU(inplace=True)]
            channels = width << level
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, 1)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))[:, 0]


def classifier_batch(images: Sequence[np.ndarray], crop: Optional[np.random.Generator] = None) -> torch.Tensor:
    """Images at CLASSIFIER_PAD square, then a CLASSIFIER_SIDE crop: random with a generator (and a random flip),
    else the centre."""
    pad = CLASSIFIER_PAD
    tiles = []
    for image in images:
        small = cv2.resize(image, (pad, pad), interpolation=cv2.INTER_AREA)
        y, x = (crop.integers(0, pad - CLASSIFIER_SIDE + 1, size=2) if crop is not None else
                ((pad - CLASSIFIER_SIDE) // 2,) * 2)
        tile = small[y:y + CLASSIFIER_SIDE, x:x + CLASSIFIER_SIDE]
        tiles.append(tile[:, ::-1] if crop is not None and crop.random() < 0.5 else tile)
    return torch.from_numpy(np.stack(tiles).astype(np.float32) / 127.5 - 1.0).permute(0, 3, 1, 2).contiguous()


def train_domain_classifier(images_a: Sequence[np.ndarray], images_b: Sequence[np.ndarray], steps: int,
                            seed: int = 0, batch: int = 32) -> DomainClassifier:
    """Seeded; each batch holds as many A as B images (the domains differ in size), cropped and flipped at
    random, since the classifier images are few."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = DomainClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    model.train()
    for _ in range(steps):
        picks = [images[i] for images in (images_a, images_b) for i in rng.integers(len(images), size=batch // 2)]
        y = torch.cat([torch.zeros(batch // 2), torch.ones(batch // 2)])
        loss = F.binary_cross_entropy_with_logits(model(classifier_batch(picks, rng)), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@torch.inference_mode()
def called_b(model: DomainClassifier, images: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([(model(classifier_batch(images[i:i + 64])) > 0).numpy()
                           for i in range(0, len(images), 64)]) if len(images) else np.zeros(0, bool)


class PoseNetFeatureClassifier:
    """A linear domain classifier on frozen PoseNet (MobileNet) features: the mean and standard deviation of each
    feature channel at a 129x129 input. Trained in the run (class-balanced logistic regression, L2), it learns from
    a few dozen images far better than a CNN trained from scratch."""

    SIDE = 129

    def __init__(self, network: nn.Module, images_a: Sequence[np.ndarray], images_b: Sequence[np.ndarray],
                 steps: int, seed: int = 0):
        from models.posenet.estimator import preprocess
        self.network, self.preprocess = network, preprocess
        torch.manual_seed(seed)
        features_a, features_b = self.features(images_a), self.features(images_b)
        x = torch.cat([features_a, features_b])
        self.mean, self.std = x.mean(0), x.std(0) + 1e-6
        x = (x - self.mean) / self.std
        y = torch.cat([torch.zeros(len(features_a)), torch.ones(len(features_b))])
        balance = torch.where(y > 0, len(features_a) / len(features_b), 1.0)
        self.weight = torch.zeros(x.shape[1], requires_grad=True)
        self.bias = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.Adam([self.weight, self.bias], lr=0.01)
        for _ in range(steps):
            loss = (F.binary_cross_entropy_with_logits(x @ self.weight + self.bias, y, reduction="none") *
                    balance).mean() + 1e-2 * (self.weight ** 2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    @torch.inference_mode()
    def features(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        rows = []
        for image in images:
            maps = self.network.features(self.preprocess(image, (self.SIDE, self.SIDE)))
            rows.append(torch.cat([maps.mean(dim=(2, 3)), maps.std(dim=(2, 3))], 1)[0])
        return torch.stack(rows)

    @torch.inference_mode()
    def called_b(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if not len(images):
            return np.zeros(0, bool)
        x = (self.features(images) - self.mean) / self.std
        return (x @ self.weight + self.bias > 0).numpy()


class ScratchCnnClassifier:
    """The DomainClassifier CNN trained from scratch, with the same called_b interface."""

    def __init__(self, images_a, images_b, steps: int, seed: int = 0):
        self.model = train_domain_classifier(images_a, images_b, steps, seed)

    def called_b(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return called_b(self.model, images)


# ---- pose displacement ------------------------------------------------------------------------------------------
def has_confident_keypoint(pose) -> bool:
    return pose is not None and bool((pose.keypoint_scores >= KEYPOINT_SCORE).any())


class PoseMeter:
    """PoseNet's main person in each image (models.view_classes, as tools.views and tools.pairs find it)."""

    def __init__(self, weights: Optional[str]):
        from models.view_classes import ViewClassifier
        from tools.views import load_posenet
        self.classifier = ViewClassifier(load_posenet(weights))

    def pose(self, image: np.ndarray):
        return self.classifier.pose(image)

    def displacements(self, input_poses: Sequence, outputs: Sequence[np.ndarray]) -> Tuple[List[float], int]:
        """Per-keypoint distances (pixels) over keypoints confident in both; and how many outputs had none."""
        distances, lost = [], 0
        for source_pose, output in zip(input_poses, outputs):
            if not has_confident_keypoint(source_pose):
                continue
            output_pose = self.pose(output)
            if output_pose is None:
                lost += 1
                continue
            both = (source_pose.keypoint_scores >= KEYPOINT_SCORE) & (output_pose.keypoint_scores >= KEYPOINT_SCORE)
            if not both.any():
                lost += 1
                continue
            distances += np.linalg.norm(source_pose.keypoints[both] - output_pose.keypoints[both], axis=1).tolist()
        return distances, lost


# ---- methods ----------------------------------------------------------------------------------------------------
class Method:
    """One row: translate(image, direction) and, where it has one, the way back."""

    def __init__(self, name: str, directions: Sequence[str], forward: Callable, back: Optional[Callable] = None):
        self.name, self.directions, self.forward, self.back = name, tuple(directions), forward, back
        self.times: List[float] = []

    def __call__(self, image: np.ndarray, direction: str) -> np.ndarray:
        start = time.perf_counter()
        output = self.forward(image, direction)
        self.times.append((time.perf_counter() - start) * 1000.0)
        return output


def opposite(direction: str) -> str:
    return "b2a" if direction == "a2b" else "a2b"


def model_method(name: str, path: str, device: str) -> Method:
    from models.gan.translation import DomainTranslator
    translator = DomainTranslator(path, device)
    back = translator.translate if "b2a" in translator.directions else None
    return Method(name, translator.directions, translator.translate, back)


def parse_model(text: str) -> Tuple[str, str]:
    name, _, path = text.partition("=")
    if not name or not path:
        raise UsageError(f"--model {text!r}: expected NAME=CHECKPOINT, e.g. "
                         f"cycleGAN=models/weights/person_translator.pt")
    if not Path(path).is_file():
        raise UsageError(f"--model {text!r}: {path} does not exist; train and export it first (README)")
    return name, path


def folder_images(folder: Path, flag: str, limit: int = 0) -> Tuple[List[Path], List[np.ndarray]]:
    if not folder.is_dir():
        raise UsageError(f"{flag} {folder} is not a folder; pass a folder of patches (python -m tools.prepare split)")
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if limit:
        paths = paths[:limit]
    if not paths:
        raise UsageError(f"{flag} {folder} holds no images")
    return paths, [cv2.resize(read_image(p), (SIDE, SIDE), interpolation=cv2.INTER_AREA) for p in paths]


def run(args) -> int:
    from models.cpu_features import describe_cpu

    models = [parse_model(text) for text in args.model]
    _, test = zip(*(folder_images(folder, flag, args.limit) for folder, flag in ((args.a, "--a"), (args.b, "--b"))))
    _, known = zip(*(folder_images(folder, flag) for folder, flag in
                     ((args.classifier_a, "--classifier-a"), (args.classifier_b, "--classifier-b"))))
    test = dict(zip(DOMAINS, test))
    known = dict(zip(DOMAINS, known))
    print(f"held-out test images: A {len(test['A'])}, B {len(test['B'])}; classifier images: A {len(known['A'])}, "
          f"B {len(known['B'])}")
    print(f"CPU: {describe_cpu()}; torch threads {torch.get_num_threads()}")

    meter = PoseMeter(args.posenet_weights)
    start = time.perf_counter()
    if args.classifier == "posenet":
        classifier = PoseNetFeatureClassifier(meter.classifier.posenet.network, known["A"], known["B"],
                                              args.classifier_steps, seed=args.seed)
        described = f"linear on frozen PoseNet features, {args.classifier_steps} steps"
    else:
        classifier = ScratchCnnClassifier(known["A"], known["B"], args.classifier_steps, seed=args.seed)
        described = f"CNN from scratch, {args.classifier_steps} steps at {CLASSIFIER_SIDE}x{CLASSIFIER_SIDE}"
    accuracy = {"A": float(np.mean(~classifier.called_b(test["A"]))),
                "B": float(np.mean(classifier.called_b(test["B"])))}
    print(f"domain classifier ({described}, seed {args.seed}, {time.perf_counter() - start:.0f} s): accuracy on "
          f"the untranslated test images A {accuracy['A']:.3f}, B {accuracy['B']:.3f}")

    statistics = {domain: lab_statistics(known[domain]) for domain in DOMAINS}
    source_of = {"a2b": "A", "b2a": "B"}
    methods = [Method("identity (input unchanged)", ("a2b", "b2a"), lambda image, direction: image,
                      lambda image, direction: image),
               Method("colour transfer (Lab mean/std)", ("a2b", "b2a"),
                      lambda image, direction: colour_transfer(image, statistics[source_of[opposite(direction)]]),
                      lambda image, direction: colour_transfer(image, statistics[source_of[opposite(direction)]]))]
    methods += [model_method(name, path, args.device) for name, path in models]

    input_poses = {domain: [meter.pose(image) for image in tqdm(test[domain], desc=f"poses {domain}",
                                                                 disable=args.no_progress)] for domain in DOMAINS}
    rows, figures, outputs = [], {}, {}
    for method in methods:
        for direction in ("a2b", "b2a"):
            if direction not in method.directions:
                rows.append([method.name, direction] + ["n/a"] * 5)
                continue
            source, target = source_of[direction], source_of[opposite(direction)]
            translated = [method(image, direction) for image in tqdm(test[source], desc=f"{method.name} {direction}",
                                                                     disable=args.no_progress)]
            outputs[(method.name, direction)] = translated
            distances, lost = meter.displacements(input_poses[source], translated)
            with_pose = sum(map(has_confident_keypoint, input_poses[source]))
            called = classifier.called_b(translated)
            share = float(np.mean(called if target == "B" else ~called))
            cycle = None
            if method.back is not None:
                cycle = float(np.mean([l1(method.back(image, opposite(direction)), original)
                                       for image, original in zip(translated, test[source])]))
            figure = {"pose_px": float(np.median(distances)) if distances else None,
                      "pose_lost": lost / with_pose if with_pose else None, "target_share": share, "cycle_l1": cycle,
                      "ms": float(np.median(method.times)) if method.times else None}
            figures[(method.name, direction)] = figure
            rows.append([method.name, direction, format_number(figure["pose_px"], 1),
                         format_number(figure["pose_lost"]), format_number(share),
                         format_number(cycle) if cycle is not None else "n/a", format_number(figure["ms"], 1)])
            method.times.clear()
    print_table(["method", "direction", "pose px (median, 256 px)", "pose lost", "called target domain",
                 "cycle L1", "ms/image"], rows,
                title=f"translation on held-out patches (A = real, B = game-engine); timings on {describe_cpu()}, "
                      f"shared load: compare rows of this run only")
    say_winners(figures, [m.name for m in methods[2:]])
    if args.grid:
        write_sample_grid(Path(args.grid), test, outputs, methods, args.grid_rows)
        print(f"sample grid -> {args.grid}")
    print(machine_line(figures, models))
    return 0


def say_winners(figures: Dict[Tuple[str, str], dict], learned: List[str]) -> None:
    """Which method wins each measure, per direction (identity is left out of the pose and cycle race: it
    keeps both trivially, and out of the domain race: it never changes the domain)."""
    print("winners (the identity row is left out: it keeps pose and cycle trivially and never changes the domain):")
    for direction in ("a2b", "b2a"):
        contenders = {name: fig for (name, d), fig in figures.items() if d == direction and not
                      name.startswith("identity")}
        for key, label, best in (("pose_px", "smallest pose displacement", min),
                                 ("target_share", "most called the target domain", max),
                                 ("cycle_l1", "lowest cycle L1", min)):
            scored = {name: fig[key] for name, fig in contenders.items() if fig[key] is not None}
            if scored:
                top = best(scored.values())
                winners = [name for name, value in scored.items() if abs(value - top) < 5e-4]
                tie = " (tie)" if len(winners) > 1 else ""
                print(f"{direction}: {label}: {' and '.join(winners)}{tie} ({top:.3f})")


def machine_line(figures: Dict[Tuple[str, str], dict], models: List[Tuple[str, str]]) -> str:
    parts = []
    for name in ["colour_transfer"] + [name for name, _ in models]:
        key_name = "colour transfer (Lab mean/std)" if name == "colour_transfer" else name
        for direction in ("a2b", "b2a"):
            figure = figures.get((key_name, direction))
            if figure is None:
                continue
            label = name.lower().replace(" ", "_")
            for key in ("pose_px", "target_share", "cycle_l1"):
                if figure[key] is not None:
                    parts.append(f"{label}_{direction}_{key}={figure[key]:.3f}")
    return " ".join(parts)


def write_sample_grid(path: Path, test: Dict[str, List[np.ndarray]], outputs: dict, methods: List[Method],
                      rows_per_direction: int) -> None:
    """input | each translation, rows_per_direction held-out patches per direction spread over the test set; a
    blank cell where a method lacks the direction."""
    from benchmarks.extractors import write_grid
    tile = 128
    columns = [m for m in methods if not m.name.startswith("identity")]
    columns = columns[1:] + columns[:1]  # the learned models first, the colour transfer last
    rows = []
    for direction, source in (("a2b", "A"), ("b2a", "B")):
        count = len(test[source])
        for index in np.linspace(0, count - 1, min(rows_per_direction, count)).round().astype(int):
            row = [cv2.resize(test[source][index], (tile, tile), interpolation=cv2.INTER_AREA)]
            for method in columns:
                translated = outputs.get((method.name, direction))
                row.append(np.full((tile, tile, 3), 255, np.uint8) if translated is None else
                           cv2.resize(translated[index], (tile, tile), interpolation=cv2.INTER_AREA))
            rows.append(row)
    labels = ["input (A, then B)"] + [m.name.split(" (")[0] for m in columns]
    write_grid(path, rows, labels)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m benchmarks.translation", description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--a", type=Path, required=True, metavar="DIR", help="held-out test patches of domain A")
    parser.add_argument("--b", type=Path, required=True, metavar="DIR", help="held-out test patches of domain B")
    parser.add_argument("--classifier-a", type=Path, required=True, metavar="DIR",
                        help="domain A images for the domain classifier (and the colour statistics)")
    parser.add_argument("--classifier-b", type=Path, required=True, metavar="DIR", help="the same for domain B")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=CKPT",
                        help="a translator to measure (cycleGAN or pix2pix, exported or last.pt); repeatable")
    parser.add_argument("--classifier", choices=["posenet", "cnn"], default="posenet",
                        help="domain classifier: posenet (default), a linear layer on frozen PoseNet features; cnn, "
                             "a small CNN trained from scratch at 64x64")
    parser.add_argument("--classifier-steps", type=positive_int, default=500,
                        help="domain classifier training steps (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the domain classifier (default 0)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N test images of each domain")
    parser.add_argument("--grid", metavar="PNG", help="write a sample grid of held-out patches")
    parser.add_argument("--grid-rows", type=positive_int, default=4, help="patches per direction in the grid")
    parser.add_argument("--posenet-weights", metavar="PATH", help="PoseNet .pth (default: the shipped one)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def main(argv=None) -> int:
    from models.checkpoint import CheckpointError
    from process_settings import configure_process

    args = build_parser().parse_args(argv)
    configure_process(threads=args.threads, quiet_opencv=True)

    def guarded(arguments):
        try:
            return run(arguments)
        except CheckpointError as exc:
            raise UsageError(str(exc)) from exc

    return run_command(guarded, args, "python -m benchmarks.translation", "nothing was written")


if __name__ == "__main__":
    sys.exit(main())
