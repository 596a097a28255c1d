"""Reads Backplate's data layouts: capture sets (setK/bkg.png, N.png, N_mask.png) and portrait folders (images/, masks/)."""
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

SET_DIR_PATTERN = re.compile(r"^set(\d+)$")
FRAME_PATTERN = re.compile(r"^(\d+)\.png$")
MASK_PATTERN = re.compile(r"^(\d+)_mask\.png$")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class CaptureFrame:
    index: int
    image_path: Path
    mask_path: Optional[Path]  # None until the frame is annotated


@dataclass(frozen=True)
class CaptureSet:
    number: int
    path: Path
    frames: List[CaptureFrame]

    @property
    def plate_path(self) -> Path:
        return self.path / "bkg.png"

    @property
    def has_plate(self) -> bool:
        return self.plate_path.is_file()


@dataclass(frozen=True)
class PortraitSample:
    image_path: Path
    mask_path: Path


def set_number(path: Path) -> Optional[int]:
    match = SET_DIR_PATTERN.match(Path(path).name)
    return int(match.group(1)) if match else None


def frame_index(path: Path) -> Optional[int]:
    match = FRAME_PATTERN.match(Path(path).name)
    return int(match.group(1)) if match else None


def read_set(path: Path) -> CaptureSet:
    path = Path(path)
    frames = []
    for image_path in path.iterdir():
        index = frame_index(image_path)
        if index is None:
            continue
        mask_path = path / f"{index}_mask.png"
        frames.append(CaptureFrame(index, image_path, mask_path if mask_path.is_file() else None))
    frames.sort(key=lambda f: f.index)
    return CaptureSet(set_number(path), path, frames)


def list_sets(root: Path) -> List[CaptureSet]:
    """All setK/ folders directly under root, in numeric order."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [read_set(p) for p in root.iterdir() if p.is_dir() and set_number(p) is not None]
    return sorted(found, key=lambda s: s.number)


def is_portrait_folder(path: Path) -> bool:
    path = Path(path)
    return (path / "images").is_dir() and (path / "masks").is_dir()


def list_portraits(root: Path) -> List[PortraitSample]:
    """Pairs images/NAME.* with masks/NAME.png; images without a mask are left out."""
    root = Path(root)
    masks = {p.stem: p for p in (root / "masks").iterdir() if p.suffix.lower() == ".png"}
    samples = [
        PortraitSample(p, masks[p.stem])
        for p in sorted((root / "images").iterdir())
        if p.suffix.lower() in IMAGE_SUFFIXES and p.stem in masks
    ]
    return samples


def split_portraits(folders: Sequence[Path], held_out_fraction: float,
                    seed: int) -> List[Tuple[Path, List[PortraitSample], List[PortraitSample]]]:
    """(folder, training photos, held-out photos) for each portrait folder that has photos, split by photo.

    One seeded generator walks the folders in the order given, so the trainer (--val-fraction, --split-seed) and
    the accuracy benchmark (--held-out, --split-seed) hold out the same photos when given the same folders in the
    same order.
    """
    rng = np.random.default_rng(seed)
    splits = []
    for folder in map(Path, folders):
        samples = list_portraits(folder)
        if not samples:
            continue
        order = rng.permutation(len(samples))
        held_out = set(order[:int(round(len(samples) * held_out_fraction))].tolist())
        splits.append((folder,
                       [s for i, s in enumerate(samples) if i not in held_out],
                       [s for i, s in enumerate(samples) if i in held_out]))
    return splits


SEQUENCE_FRAME_NAME = re.compile(r"^(?P<sequence>.+)_(?P<frame>\d+)$")


def sequence_name(path: Path) -> Optional[str]:
    """'dance-twirl' for images/dance-twirl_00012.jpg; None for a name that is not SEQUENCE_NNNNN."""
    match = SEQUENCE_FRAME_NAME.match(Path(path).stem)
    return match.group("sequence") if match else None


def list_sequences(folder: Path) -> Dict[str, List[PortraitSample]]:
    """{sequence: its frames} of a portrait-layout folder of video frames (images/SEQUENCE_NNNNN.jpg), or {} when
    it is not one (some image is not named SEQUENCE_NNNNN, or no sequence has two frames)."""
    sequences: Dict[str, List[PortraitSample]] = {}
    for sample in list_portraits(folder):
        name = sequence_name(sample.image_path)
        if name is None:
            return {}
        sequences.setdefault(name, []).append(sample)
    return sequences if any(len(frames) > 1 for frames in sequences.values()) else {}


def list_pictures(folder: Path) -> List[Path]:
    """The image files of a folder of plain pictures (e.g. people-free backgrounds), in name order."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def split_pictures(paths: Sequence[Path], held_out_fraction: float, seed: int) -> Tuple[List[Path], List[Path]]:
    """(kept, held out) by picture, seeded: the trainer's --val-backgrounds and the benchmarks' people-free
    frames hold out the same pictures."""
    paths = sorted(map(Path, paths))
    order = np.random.default_rng([seed, len(paths)]).permutation(len(paths))
    held_out = set(order[:int(round(len(paths) * held_out_fraction))].tolist())
    return ([p for i, p in enumerate(paths) if i not in held_out], [p for i, p in enumerate(paths) if i in held_out])


def mask_at_image_size(mask: np.ndarray, image_hw: Tuple[int, int], mask_path=None) -> np.ndarray:
    """The mask at its image's size. Some web masks are saved scaled; with the same aspect ratio (within 2 %) they
    are resized (nearest), otherwise ValueError names the file, since such a mask belongs to another picture."""
    height, width = image_hw
    if mask.shape == (height, width):
        return mask
    mask_h, mask_w = mask.shape
    if abs((mask_w / mask_h) / (width / height) - 1.0) > 0.02:
        raise ValueError(f"mask {mask_path or ''} is {mask_w}x{mask_h} but its image is {width}x{height} (another "
                         f"aspect ratio); re-annotate it or fix the mask size")
    resized = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
    return resized.astype(bool)


def read_image(path: Path) -> np.ndarray:
    """BGR uint8 image; raises ValueError naming the file when it can't be read."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read image {path}: the file is missing, empty or not an image")
    return image


def read_mask(path: Path) -> np.ndarray:
    """Boolean HxW person mask; any value > 127 in the first channel is person."""
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise ValueError(f"cannot read mask {path}: the file is missing, empty or not an image")
    if mask.ndim == 3:
        mask = mask[:, :, 0]
    return mask > 127
