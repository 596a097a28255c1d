"""Data for the image-to-image trainer: paired examples (pix2pix) and unpaired image pools (cycleGAN).

Layouts read (each `--data DIR` is recognised by what it holds):
- tryon:     image/NNNNNN_0.jpg, cloth/NNNNNN_1.jpg, image-parse/NNNNNN_0.png (VITON/CP-VTON). Input: the person photo
             plus the worn-garment mask (parse labels 5, 6, 7) as a 4th channel; target: the product photo.
- ab:        images that hold A and B side by side (A|B, as `tools.prepare combine` writes them).
- paired:    A/ and B/ folders with matching file names.
- cutout:    portrait folders (images/ + masks/), capture sets (setK/) or sequence folders: input the photo, target
             the same photo with only the person kept, on white (the human extractor).
ab and paired folders may hold train/ and val/ subfolders (`tools.prepare split`); otherwise, and for tryon, a
fixed share of the examples is held out by a hash of its name, so the split never depends on order or count.

Every training sample is a pure function of (seed, sample number), which makes `--resume` exact.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from fileio.capture_sets import IMAGE_SUFFIXES, read_image, read_mask
from models.gan.imaging import (garment_mask_from_labels, letterbox, mask_channel, read_labels, to_tensor,
                                white_cutout)
from models.gan.tryon import is_held_out

LAYOUTS = ("tryon", "ab", "paired", "cutout")


class GanDataError(ValueError):
    """Data that cannot be used; str() names the folder or file and the fix."""


# ---- conversion -------------------------------------------------------------------------------------------------
def resize_to(image: np.ndarray, size_hw: Tuple[int, int], nearest: bool = False) -> np.ndarray:
    if image.shape[:2] == tuple(size_hw):
        return image
    shrinking = image.shape[0] > size_hw[0]
    interpolation = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return cv2.resize(image, (size_hw[1], size_hw[0]), interpolation=interpolation)


# ---- paired examples --------------------------------------------------------------------------------------------
@dataclass
class PairedExample:
    """One input/target pair, read lazily. load() -> (input image BGR, extra mask or None, target BGR,
    target mask or None: the true silhouette of the target, for IoU)."""
    name: str
    load: Callable[[], Tuple[np.ndarray, Optional[np.ndarray], np.ndarray, Optional[np.ndarray]]]


@dataclass
class PairedData:
    layout: str
    train: List[PairedExample]
    val: List[PairedExample]
    input_channels: int  # 3, or 4 with the mask channel
    has_target_masks: bool
    fit: str = "stretch"  # stretch: resize to the training size; letterbox: keep the aspect, pad (target in white)

    def summary(self) -> str:
        return f"{self.layout}: {len(self.train)} training pairs, {len(self.val)} held out"


def detect_layout(folder: Path) -> str:
    folder = Path(folder)
    if not folder.is_dir():
        raise GanDataError(f"--data {folder}: not a folder")
    if (folder / "image").is_dir() and (folder / "cloth").is_dir():
        return "tryon"
    if (folder / "A").is_dir() and (folder / "B").is_dir():
        return "paired"
    if (folder / "train" / "A").is_dir():
        return "paired"
    from training.data import classify_folder
    if classify_folder(folder) != "unknown":  # portraits, sequences, capture sets
        return "cutout"
    return "ab"


def image_files(folder: Path) -> List[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def tryon_examples(folder: Path) -> List[PairedExample]:
    folder = Path(folder)
    examples = []
    for person in image_files(folder / "image"):
        pair_id = person.stem.rsplit("_", 1)[0]
        cloth = folder / "cloth" / f"{pair_id}_1.jpg"
        cloth_mask = folder / "cloth-mask" / f"{pair_id}_1.png"
        parse = folder / "image-parse" / f"{person.stem}.png"
        if not (cloth.is_file() and parse.is_file()):
            continue

        def load(person=person, cloth=cloth, parse=parse, cloth_mask=cloth_mask):
            target_mask = read_mask(cloth_mask) if cloth_mask.is_file() else None
            return read_image(person), garment_mask_from_labels(read_labels(parse)), read_image(cloth), target_mask
        examples.append(PairedExample(pair_id, load))
    if not examples:
        raise GanDataError(f"--data {folder}: no image/NNNNNN_0.jpg with cloth/NNNNNN_1.jpg and "
                           f"image-parse/NNNNNN_0.png found")
    return examples


def ab_examples(folder: Path) -> List[PairedExample]:
    def load_ab(path: Path):
        both = read_image(path)
        width = both.shape[1] // 2
        if both.shape[1] % 2:
            raise GanDataError(f"{path}: an A|B image needs an even width, found {both.shape[1]}")
        return both[:, :width], None, both[:, width:], None
    files = image_files(folder)
    if not files:
        raise GanDataError(f"--data {folder}: no images found (expected A|B images, A/ and B/ folders, a try-on "
                           f"folder or a portrait folder)")
    return [PairedExample(path.stem, lambda path=path: load_ab(path)) for path in files]


def paired_folder_examples(folder: Path) -> List[PairedExample]:
    folder = Path(folder)
    b_files = {p.stem: p for p in image_files(folder / "B")}
    examples = []
    for a_path in image_files(folder / "A"):
        b_path = b_files.get(a_path.stem)
        if b_path is not None:
            examples.append(PairedExample(
                a_path.stem, lambda a=a_path, b=b_path: (read_image(a), None, read_image(b), None)))
    if not examples:
        raise GanDataError(f"--data {folder}: no file in A/ has a partner of the same name in B/")
    return examples


MaskHint = Callable[[np.ndarray], np.ndarray]  # BGR photo -> boolean person mask, the 4th input channel


def cutout_examples(folders: Sequence[Path], val_fraction: float, split_seed: int, val_sets: Optional[set],
                    val_sequences: Optional[set] = None, progress: bool = False, mask_hint: Optional[MaskHint] = None
                    ) -> Tuple[List[PairedExample], List[PairedExample]]:
    """Portraits, capture sets and sequence folders, read and split by the segmentation trainer's own loader:
    portraits by photo (val_fraction, split_seed), capture sets by set, sequences by sequence. With mask_hint,
    each photo's hint mask is made once here, on the whole photo, as the extractor makes it at run time."""
    from training.data import DataError, load_pool

    try:
        pool = load_pool(folders, (), val_sets, val_fraction, split_seed, progress=progress,
                         val_sequences=val_sequences)
    except DataError as exc:
        raise GanDataError(str(exc)) from exc

    def example(name, image, mask, hint):
        return PairedExample(name, lambda: (image, hint, white_cutout(image, mask), mask))

    def examples(named_pictures, description):
        if mask_hint is not None and progress:
            from tqdm import tqdm
            named_pictures = tqdm(named_pictures, desc=description, dynamic_ncols=True)
        return [example(name, image, mask, None if mask_hint is None else mask_hint(image))
                for name, image, mask in named_pictures]

    train = examples([(p.name, p.image, p.mask) for p in pool.train_photos] +
                     [(p.name, p.frame, p.mask) for p in pool.train_pairs], "hint masks, training")
    val = examples([(p.name, p.image, p.mask) for p in pool.val_photos] +
                   [(p.name, p.frame, p.mask) for p in pool.val_pairs], "hint masks, held out")
    return train, val


def split_folder(folder: Path, read: Callable[[Path], List[PairedExample]],
                 val_fraction: float) -> Tuple[List[PairedExample], List[PairedExample]]:
    """train/ and val/ subfolders when present, else a fixed share held out by name."""
    if (folder / "train").is_dir():
        train = read(folder / "train")
        val = read(folder / "val") if (folder / "val").is_dir() else []
        return train, val
    examples = read(folder)
    return ([e for e in examples if not is_held_out(e.name, val_fraction)],
            [e for e in examples if is_held_out(e.name, val_fraction)])


def load_paired(folders: Sequence[Path], val_fraction: float = 0.1, split_seed: int = 0,
                val_sets: Optional[set] = None, layout: str = "auto", val_sequences: Optional[set] = None,
                progress: bool = False, mask_hint: Optional[MaskHint] = None) -> PairedData:
    """With mask_hint (cutout data only), the input gains a 4th channel: that function's mask of the photo."""
    train, val, layouts, cutout_folders = [], [], set(), []
    for folder in map(Path, folders):
        kind = detect_layout(folder) if layout == "auto" else layout
        layouts.add(kind)
        if kind == "cutout":
            cutout_folders.append(folder)  # split together below, in the order given, as the segmenter's trainer
            continue
        if kind == "tryon":
            part = split_folder(folder, tryon_examples, val_fraction)
        elif kind == "ab":
            part = split_folder(folder, ab_examples, val_fraction)
        elif kind == "paired":
            part = split_folder(folder, paired_folder_examples, val_fraction)
        else:
            raise GanDataError(f"unknown layout {kind!r}; choose one of {', '.join(LAYOUTS)}")
        train += part[0]
        val += part[1]
    if cutout_folders:
        part = cutout_examples(cutout_folders, val_fraction, split_seed, val_sets, val_sequences, progress,
                               mask_hint)
        train += part[0]
        val += part[1]
    if len(layouts) > 1:
        raise GanDataError(f"--data folders of different layouts ({', '.join(sorted(layouts))}) cannot train one "
                           f"model: their inputs differ")
    if not train:
        raise GanDataError("no training pairs: every pair was held out; lower --val-fraction")
    kind = layouts.pop()
    if mask_hint is not None and kind != "cutout":
        raise GanDataError(f"--mask-hint needs cut-out data (portraits, capture sets, sequences), not {kind} data")
    return PairedData(kind, train, val, 4 if kind == "tryon" or mask_hint is not None else 3,
                      kind in ("tryon", "cutout"),
                      "letterbox" if kind == "cutout" else "stretch")


def prepare_pair(example: PairedExample, size_hw: Tuple[int, int], rng: Optional[np.random.Generator] = None,
                 jitter: float = 0.0, fit: str = "stretch"):
    """(input tensor, target tensor, target mask or None) at size_hw. fit="stretch" resizes to size_hw;
    fit="letterbox" keeps the aspect and pads (input by its border, target in white, masks empty). With rng: a
    random flip and the optional scale-and-crop jitter, applied alike to input and target."""
    image, extra, target, target_mask = example.load()
    if image.shape[:2] != target.shape[:2]:
        target = resize_to(target, image.shape[:2])
        if target_mask is not None:
            target_mask = resize_to(target_mask.astype(np.uint8), image.shape[:2], nearest=True).astype(bool)
    height, width = size_hw
    crop = None
    if rng is not None and jitter > 0:
        scale = 1.0 + rng.uniform(0, jitter)
        big = (int(round(height * scale)), int(round(width * scale)))
        top, left = int(rng.integers(0, big[0] - height + 1)), int(rng.integers(0, big[1] - width + 1))
        crop = (big, top, left)
    flip = rng is not None and rng.random() < 0.5

    def place(picture, fill=None):
        if picture is None:
            return None
        mask = picture.dtype == bool
        work_hw = size_hw if crop is None else crop[0]
        if fit == "letterbox":
            out, _ = letterbox(picture, work_hw, fill=(0 if mask else fill))
        else:
            out = resize_to(picture.astype(np.uint8) if mask else picture, work_hw, nearest=mask)
            out = out.astype(bool) if mask else out
        if crop is not None:
            _, top, left = crop
            out = out[top:top + height, left:left + width]
        return np.ascontiguousarray(out[:, ::-1]) if flip else out

    image = place(image)
    target = place(target, fill=(255, 255, 255))
    extra, target_mask = place(extra), place(target_mask)
    source = to_tensor(image) if extra is None else torch.cat([to_tensor(image), mask_channel(extra)], 0)
    return source, to_tensor(target), target_mask


class PairedSamples(Dataset):
    """Sample number -> (input, target) with augmentation; unbounded, the step sampler picks the numbers.
    With with_masks, (input, target, target mask as a 1 x H x W float tensor) for data that has target masks."""

    def __init__(self, examples: Sequence[PairedExample], size_hw: Tuple[int, int], seed: int, jitter: float,
                 fit: str = "stretch", with_masks: bool = False):
        self.examples, self.size_hw, self.seed, self.jitter, self.fit = list(examples), size_hw, seed, jitter, fit
        self.with_masks = with_masks

    def __len__(self):
        return 2 ** 62

    def __getitem__(self, number: int):
        rng = np.random.default_rng([self.seed, number])
        # Epochs in a seeded order: every example once before any twice.
        epoch, position = divmod(number, len(self.examples))
        order = np.random.default_rng([self.seed, epoch, 1]).permutation(len(self.examples))
        example = self.examples[order[position]]
        source, target, target_mask = prepare_pair(example, self.size_hw, rng, self.jitter, self.fit)
        if not self.with_masks:
            return source, target
        if target_mask is None:
            raise GanDataError(f"{example.name}: no target mask, which the gate loss needs")
        return source, target, torch.from_numpy(target_mask.astype(np.float32))[None]


# ---- unpaired pools ---------------------------------------------------------------------------------------------
@dataclass
class UnpairedData:
    train_a: List[Path]
    val_a: List[Path]
    train_b: List[Path]
    val_b: List[Path]

    def summary(self) -> str:
        return (f"A: {len(self.train_a)} training images, {len(self.val_a)} held out; "
                f"B: {len(self.train_b)} training images, {len(self.val_b)} held out")


def _split_images(folder: Path, val_fraction: float) -> Tuple[List[Path], List[Path]]:
    folder = Path(folder)
    if not folder.is_dir():
        raise GanDataError(f"{folder}: not a folder")
    if (folder / "train").is_dir():
        return image_files(folder / "train"), (image_files(folder / "val") if (folder / "val").is_dir() else [])
    files = image_files(folder)
    if not files:
        raise GanDataError(f"{folder}: no images found")
    return ([p for p in files if not is_held_out(p.name, val_fraction)],
            [p for p in files if is_held_out(p.name, val_fraction)])


def load_unpaired(folders_a: Sequence[Path], folders_b: Sequence[Path], val_fraction: float) -> UnpairedData:
    data = UnpairedData([], [], [], [])
    for folder in folders_a:
        train, val = _split_images(folder, val_fraction)
        data.train_a += train
        data.val_a += val
    for folder in folders_b:
        train, val = _split_images(folder, val_fraction)
        data.train_b += train
        data.val_b += val
    if not data.train_a or not data.train_b:
        raise GanDataError("cycleGAN needs training images on both sides: pass --data-a DIR and --data-b DIR")
    return data


def prepare_single(path: Path, size_hw: Tuple[int, int], rng: Optional[np.random.Generator] = None,
                   jitter: float = 0.0) -> torch.Tensor:
    """One unpaired image as a tensor at size_hw: centre crop to the aspect ratio, resize, random jitter/flip."""
    image = read_image(path)
    height, width = size_hw
    target_ratio = width / height
    h, w = image.shape[:2]
    if w / h > target_ratio:
        new_w = int(round(h * target_ratio))
        left = (w - new_w) // 2 if rng is None else int(rng.integers(0, w - new_w + 1))
        image = image[:, left:left + new_w]
    else:
        new_h = int(round(w / target_ratio))
        top = (h - new_h) // 2 if rng is None else int(rng.integers(0, h - new_h + 1))
        image = image[top:top + new_h]
    example = PairedExample(path.stem, lambda: (image, None, image, None))
    source, _, _ = prepare_pair(example, size_hw, rng, jitter)
    return source


class UnpairedSamples(Dataset):
    """Sample number -> (image from A, image from B), drawn independently."""

    def __init__(self, data: UnpairedData, size_hw: Tuple[int, int], seed: int, jitter: float):
        self.data, self.size_hw, self.seed, self.jitter = data, size_hw, seed, jitter

    def __len__(self):
        return 2 ** 62

    def __getitem__(self, number: int):
        rng = np.random.default_rng([self.seed, number])
        a = self.data.train_a[int(rng.integers(len(self.data.train_a)))]
        b = self.data.train_b[int(rng.integers(len(self.data.train_b)))]
        return (prepare_single(a, self.size_hw, rng, self.jitter), prepare_single(b, self.size_hw, rng, self.jitter))
