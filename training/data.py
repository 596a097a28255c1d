"""Finds the training data, decodes it once into memory and splits it into train and validation.

A --data folder is either a capture root (setK/ folders with bkg.png, N.png, N_mask.png), one setK/ folder, a
portrait folder (images/ + masks/), or a sequence folder: a portrait folder whose images are all named
SEQUENCE_NNNNN (video frames, e.g. ../shared/data/motion). A --backgrounds folder holds people-free pictures used as
plates. Validation is split by capture set (--val-sets), by whole sequence (--val-sequences) or by photo
(--val-fraction), never by frame.
"""
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence, Set

import cv2
import numpy as np

from fileio.capture_sets import (PortraitSample, is_portrait_folder, list_portraits, list_sets,
                                 list_pictures, list_sequences, mask_at_image_size, read_image, read_mask, read_set,
                                 set_number, split_pictures, split_portraits)

# Portraits are kept at this long side: enough for a person filling a 320x240 frame or a 256 single-model input.
PORTRAIT_CACHE_LONG_SIDE = 400
BACKGROUND_CACHE_LONG_SIDE = 640


class DataError(ValueError):
    """No usable training data; str() says which folders were searched and what they should hold."""


@dataclass
class RealPair:
    """One annotated webcam frame with its set's plate (both at capture resolution)."""
    name: str
    set_number: int
    frame: np.ndarray
    plate: np.ndarray
    mask: np.ndarray  # bool


@dataclass
class Photo:
    """An image with a person mask (portrait photo or annotated webcam frame)."""
    name: str
    image: np.ndarray
    mask: np.ndarray  # bool
    path: Optional[Path] = None
    mask_path: Optional[Path] = None


@dataclass
class Cutout:
    """A person cut out along its mask, cropped to the mask's bounding box."""
    name: str
    image: np.ndarray
    alpha: np.ndarray  # float32 0..1
    cut_at_bottom: bool  # the body continues below the crop (legs not in the picture)
    source_height: int  # height of the picture it came from, for keeping webcam people at webcam size


@dataclass
class DataPool:
    train_pairs: List[RealPair] = field(default_factory=list)
    val_pairs: List[RealPair] = field(default_factory=list)
    train_plates: List[np.ndarray] = field(default_factory=list)  # captured plates + background pictures
    val_plates: List[np.ndarray] = field(default_factory=list)
    val_backgrounds: List[Path] = field(default_factory=list)  # people-free pictures kept out of training
    train_photos: List[Photo] = field(default_factory=list)  # portraits
    val_photos: List[Photo] = field(default_factory=list)
    portrait_cutouts: List[Cutout] = field(default_factory=list)
    webcam_cutouts: List[Cutout] = field(default_factory=list)
    train_sequences: List[str] = field(default_factory=list)  # "folder/sequence" of sequence folders
    val_sequences: List[str] = field(default_factory=list)
    searched: List[str] = field(default_factory=list)

    def summary(self) -> str:
        sequences = (f"sequences {len(self.train_sequences)} train / {len(self.val_sequences)} val "
                     f"(held out: {', '.join(self.val_sequences) or 'none'}), "
                     if self.train_sequences or self.val_sequences else "")
        return (f"real pairs {len(self.train_pairs)} train / {len(self.val_pairs)} val, "
                f"portraits {len(self.train_photos)} train / {len(self.val_photos)} val, {sequences}"
                f"plates {len(self.train_plates)} train / {len(self.val_plates)} val, "
                f"cut-outs {len(self.portrait_cutouts)} portrait + {len(self.webcam_cutouts)} webcam")


def print_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def shrink_to(image: np.ndarray, long_side: int, interpolation=cv2.INTER_AREA) -> np.ndarray:
    scale = long_side / max(image.shape[:2])
    if scale >= 1.0:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=interpolation)


def cutout_from(name: str, image: np.ndarray, mask: np.ndarray, margin: int = 2) -> Optional[Cutout]:
    ys, xs = np.nonzero(mask)
    if len(xs) < 50:
        return None
    y0, y1 = max(0, ys.min() - margin), min(mask.shape[0], ys.max() + 1 + margin)
    x0, x1 = max(0, xs.min() - margin), min(mask.shape[1], xs.max() + 1 + margin)
    alpha = mask[y0:y1, x0:x1].astype(np.float32)
    return Cutout(name, image[y0:y1, x0:x1], alpha, cut_at_bottom=bool(ys.max() >= mask.shape[0] - 3),
                  source_height=mask.shape[0])


def parse_val_sets(text: Optional[str]) -> Optional[Set[int]]:
    """'4,9,16,20' -> {4, 9, 16, 20}; 'none' -> empty set; None -> None (automatic)."""
    if text is None:
        return None
    if text.strip().lower() in ("", "none"):
        return set()
    try:
        return {int(part) for part in text.replace(" ", "").split(",") if part}
    except ValueError:
        raise DataError(f"--val-sets {text!r}: expected set numbers separated by commas, e.g. 4,9,16,20")


class _Loader:
    def __init__(self, warn: Callable[[str], None], workers: int = 2):
        self.warn = warn
        self.workers = workers

    def image(self, path: Path, long_side: Optional[int] = None) -> Optional[np.ndarray]:
        try:
            image = read_image(path)
        except ValueError as exc:
            self.warn(f"skipping {path}: {exc}")
            return None
        return shrink_to(image, long_side) if long_side else image

    def image_and_mask(self, image_path: Path, mask_path: Path, long_side: Optional[int] = None):
        image = self.image(image_path)
        if image is None:
            return None
        try:
            mask = read_mask(mask_path)
        except ValueError as exc:
            self.warn(f"skipping {image_path}: {exc}")
            return None
        try:
            mask = mask_at_image_size(mask, image.shape[:2], mask_path)
        except ValueError as exc:
            self.warn(f"skipping {image_path}: {exc}")
            return None
        if long_side:
            image = shrink_to(image, long_side)
            mask = shrink_to(mask.astype(np.float32), long_side) > 0.5
        return image, mask

    def map(self, function, items: Sequence, description: str = "", progress: bool = False) -> list:
        with ThreadPoolExecutor(self.workers) as pool:  # OpenCV decoding releases the GIL
            results = pool.map(function, items)
            if progress:
                from tqdm import tqdm
                results = tqdm(results, total=len(items), desc=description, leave=False)
            return list(results)


def parse_val_sequences(text: Optional[str]) -> Optional[Set[str]]:
    """'dance-twirl,hike' -> {'dance-twirl', 'hike'}; 'none' -> empty set; None -> None (automatic)."""
    if text is None:
        return None
    if text.strip().lower() in ("", "none"):
        return set()
    return {part.strip() for part in text.split(",") if part.strip()}


def classify_folder(path: Path) -> str:
    if set_number(path) is not None and path.is_dir():
        return "set"
    if is_portrait_folder(path):
        return "sequences" if list_sequences(path) else "portraits"
    if list_sets(path):
        return "sets"
    return "unknown"


def load_pool(data_dirs: Iterable, background_dirs: Iterable = (), val_sets: Optional[Set[int]] = None,
              val_fraction: float = 0.1, seed: int = 0, warn: Callable[[str], None] = print_warning,
              need_plates: bool = False, progress: bool = False,
              val_sequences: Optional[Set[str]] = None, val_backgrounds: float = 0.0) -> DataPool:
    """Reads every folder once into memory. val_sets=None holds out every fifth set automatically, and
    val_sequences=None every fifth sequence (by name) of each sequence folder. val_backgrounds keeps that share of
    each --backgrounds folder out of training (fileio.capture_sets.split_pictures with `seed`)."""
    loader = _Loader(warn)
    pool = DataPool()
    capture_sets, portrait_dirs, sequence_dirs = [], [], []
    for folder in map(Path, data_dirs):
        pool.searched.append(str(folder))
        if not folder.is_dir():
            warn(f"--data folder {folder} does not exist; skipping it")
            continue
        kind = classify_folder(folder)
        if kind == "set":
            capture_sets.append(read_set(folder))
        elif kind == "sets":
            capture_sets.extend(list_sets(folder))
        elif kind == "portraits":
            portrait_dirs.append(folder)
        elif kind == "sequences":
            sequence_dirs.append(folder)
        else:
            warn(f"{folder} holds neither setK/ capture folders nor images/ + masks/ portraits; skipping it")

    numbers = sorted({s.number for s in capture_sets})
    if val_sets is None:  # automatic: every fifth set, but keep at least one for training
        val_sets = set(numbers[4::5]) if len(numbers) >= 5 else set()
    missing = sorted(set(val_sets) - set(numbers))
    if missing and capture_sets:
        warn(f"validation sets {missing} not found among sets {numbers}")

    for capture in capture_sets:
        plate = loader.image(capture.plate_path) if capture.has_plate else None
        if plate is None and not capture.has_plate:
            warn(f"{capture.path} has no bkg.png plate; its frames are used only as person pictures")
        is_val = capture.number in val_sets
        for frame in capture.frames:
            if frame.mask_path is None:
                warn(f"skipping {frame.image_path}: no {frame.index}_mask.png (not annotated yet)")
                continue
            loaded = loader.image_and_mask(frame.image_path, frame.mask_path)
            if loaded is None:
                continue
            image, mask = loaded
            name = f"set{capture.number}/{frame.index}"
            if plate is not None and plate.shape != image.shape:
                warn(f"skipping {frame.image_path}: plate {capture.plate_path} is {plate.shape[1]}x"
                     f"{plate.shape[0]} but the frame is {image.shape[1]}x{image.shape[0]}")
                continue
            if plate is not None:
                (pool.val_pairs if is_val else pool.train_pairs).append(RealPair(name, capture.number, image,
                                                                                 plate, mask))
            if not is_val:
                cut = cutout_from(name, image, mask)
                if cut is not None:
                    pool.webcam_cutouts.append(cut)
        if plate is not None:
            (pool.val_plates if is_val else pool.train_plates).append(plate)

    for folder in portrait_dirs:
        if not list_portraits(folder):
            warn(f"{folder} has images/ and masks/ but no image with a same-named mask PNG; skipping it")
    for folder, train_samples, val_samples in split_portraits(portrait_dirs, val_fraction, seed):
        samples = sorted(train_samples + val_samples, key=lambda s: s.image_path)
        add_photos(pool, loader, folder.name, samples, set(val_samples), f"reading {folder.name}", progress)

    load_sequences(pool, loader, sequence_dirs, val_sequences, progress)

    for folder in map(Path, background_dirs):
        pool.searched.append(f"{folder} (backgrounds)")
        if not folder.is_dir():
            warn(f"--backgrounds folder {folder} does not exist; skipping it")
            continue
        paths = list_pictures(folder)
        if not paths:
            warn(f"--backgrounds folder {folder} has no images; skipping it")
        paths, held_out = split_pictures(paths, val_backgrounds, seed)
        pool.val_backgrounds.extend(held_out)
        images = loader.map(lambda p: loader.image(p, BACKGROUND_CACHE_LONG_SIDE), paths)
        pool.train_plates.extend(image for image in images if image is not None)

    check_pool(pool, need_plates)
    return pool


def add_photos(pool: DataPool, loader: _Loader, folder_name: str, samples: Sequence[PortraitSample],
               held_out: Set[PortraitSample], description: str, progress: bool) -> None:
    """Reads each image and mask: held-out photos go to validation, the others to training with their cut-outs."""
    loaded = loader.map(lambda s: loader.image_and_mask(s.image_path, s.mask_path, PORTRAIT_CACHE_LONG_SIDE),
                        samples, description, progress)
    for sample, item in zip(samples, loaded):
        if item is None:
            continue
        photo = Photo(f"{folder_name}/{sample.image_path.stem}", item[0], item[1], sample.image_path,
                      sample.mask_path)
        if sample in held_out:
            pool.val_photos.append(photo)
        else:
            pool.train_photos.append(photo)
            cut = cutout_from(photo.name, photo.image, photo.mask)
            if cut is not None:
                pool.portrait_cutouts.append(cut)


def held_out_sequences(names: Sequence[str], val_sequences: Optional[Set[str]]) -> Set[str]:
    if val_sequences is None:  # automatic: every fifth sequence, but keep at least one for training
        return set(sorted(names)[4::5]) if len(names) >= 5 else set()
    return set(val_sequences) & set(names)


def load_sequences(pool: DataPool, loader: _Loader, folders: Sequence[Path], val_sequences: Optional[Set[str]],
                   progress: bool = False) -> None:
    """Frames of held-out sequences go to validation whole; the rest train like portraits (with cut-outs)."""
    found = set()
    for folder in folders:
        sequences = list_sequences(folder)
        found.update(sequences)
        held_out = held_out_sequences(list(sequences), val_sequences)
        for name in sorted(sequences):
            is_val = name in held_out
            (pool.val_sequences if is_val else pool.train_sequences).append(f"{folder.name}/{name}")
            samples: List[PortraitSample] = sequences[name]
            add_photos(pool, loader, folder.name, samples, set(samples) if is_val else set(),
                       f"reading {folder.name}/{name}", progress)
    missing = sorted(set(val_sequences or ()) - found)
    if missing and folders:
        warn_text = f"--val-sequences {', '.join(missing)} not found among sequences {', '.join(sorted(found))}"
        loader.warn(warn_text)


def check_pool(pool: DataPool, need_plates: bool) -> None:
    searched = ", ".join(pool.searched) or "(none)"
    has_people = pool.train_pairs or pool.train_photos or pool.webcam_cutouts
    if not has_people:
        raise DataError(
            f"no usable training data found; searched: {searched}. Each --data folder must hold setK/ captures "
            f"(bkg.png, N.png, N_mask.png) or a portrait folder with images/ and masks/ (same file names).")
    if need_plates and not (pool.train_pairs or pool.train_plates):
        raise DataError(
            f"the plate model needs background plates, but none were found; searched: {searched}. Add capture "
            f"sets with bkg.png, or people-free pictures with --backgrounds DIR.")
