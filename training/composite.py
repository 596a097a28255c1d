"""Builds training samples: real webcam pairs, synthetic plate pairs and single-frame pictures.

A synthetic pair starts from one people-free scene. The frame is that scene with a person pasted in (plus shadows
and small object changes, all labelled background); the plate is the same scene seen by a slightly nudged camera.
Each then gets its own exposure, white balance, blur and noise, like two moments of a webcam with auto-exposure.
Everything here is a pure function of a numpy Generator.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

from training import augment
from training.augment import Size
from training.data import Cutout, DataPool, Photo, RealPair

# How often each kind of plate-model sample is drawn (renormalised over the kinds the data allows).
PLATE_MIX = {"real": 0.25, "portrait": 0.42, "webcam_cutout": 0.15, "empty": 0.18}
SINGLE_MIX = {"photo": 0.55, "composite": 0.30, "webcam": 0.15}
# Chance of 0, 1 or 2 extra people beside the main one in a single-model composite.
GROUP_SIZES = (0.6, 0.25, 0.15)


@dataclass
class PlateSample:
    kind: str
    frame: np.ndarray  # uint8 BGR HxWx3
    plate: np.ndarray
    mask: np.ndarray  # bool HxW


@dataclass
class SingleSample:
    kind: str
    image: np.ndarray
    mask: np.ndarray


def choose(rng: np.random.Generator, mix: dict, available: dict) -> str:
    kinds = [k for k in mix if available.get(k)]
    weights = np.array([mix[k] for k in kinds], np.float64)
    return kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]


def random_scene(rng: np.random.Generator, picture: np.ndarray, out_hw: Size) -> np.ndarray:
    matrix = augment.random_crop_matrix(rng, picture.shape[:2], out_hw, zoom=(1.0, 1.3))
    scene = augment.warp_image(picture, matrix, out_hw)
    return scene[:, ::-1].copy() if rng.random() < 0.5 else scene


def place_cutout(rng: np.random.Generator, cutout: Cutout, out_hw: Size,
                 height_range: Tuple[float, float] = (0.45, 1.35), webcam_scale: Optional[float] = None):
    """Scales and positions a person in an out_hw frame. Returns (layer, alpha) at frame size.

    Portrait people stand at a random webcam distance: full bodies, bodies cut off at the frame's sides or
    bottom, or close-ups. webcam_scale keeps a person cut from a webcam frame at its own size (times jitter).
    """
    height, width = out_hw
    crop_h, crop_w = cutout.alpha.shape
    if webcam_scale is not None:
        scale = webcam_scale * height / cutout.source_height * rng.uniform(0.85, 1.15)
    else:
        scale = height * rng.uniform(*height_range) / crop_h
    person_h, person_w = crop_h * scale, crop_w * scale
    left = rng.uniform(-0.45 * person_w, width - 0.55 * person_w)
    if cutout.cut_at_bottom:  # the body goes on below the crop: its bottom must leave the frame
        bottom = rng.uniform(height, height + 0.15 * person_h)
    else:
        bottom = rng.uniform(0.7 * height, height + 0.35 * person_h)
    matrix = augment.placement_matrix(scale, (left, bottom - person_h))
    if rng.random() < 0.5:
        matrix = matrix @ np.array([[-1, 0, crop_w], [0, 1, 0], [0, 0, 1]], np.float64)  # mirror the person
    layer = augment.warp_image(cutout.image, matrix, out_hw, border=cv2.BORDER_REPLICATE)
    alpha = augment.warp_image(cutout.alpha, matrix, out_hw, border=cv2.BORDER_CONSTANT)
    return layer, np.clip(alpha, 0.0, 1.0)


def plate_nudge(rng: np.random.Generator, hw: Size, strength: float = 1.0) -> np.ndarray:
    scale = hw[1] / 320.0
    return augment.nudge_matrix(rng, hw, 3.0 * scale * strength, 1.0 * strength, 0.015 * strength)


def synthetic_pair(rng: np.random.Generator, picture: np.ndarray, cutout: Optional[Cutout], out_hw: Size,
                   kind: str, webcam_scale: Optional[float] = None) -> PlateSample:
    scene = random_scene(rng, picture, out_hw)
    background = scene
    mask = np.zeros(out_hw, bool)
    layer = alpha = None
    if cutout is not None:
        layer, alpha = place_cutout(rng, cutout, out_hw, webcam_scale=webcam_scale)
        mask = alpha > 0.5
        if rng.random() < 0.5:
            background = augment.cast_shadow(background, rng, mask, spare_person=False)
    elif rng.random() < 0.15:  # light changes with nobody there
        background = augment.cast_shadow(background, rng, mask, darkness=(0.7, 0.92), spare_person=False)
    if rng.random() < 0.3:
        background = augment.perturb_background(background, rng)
    frame = background if layer is None else augment.alpha_blend(background, layer, alpha)
    plate = augment.warp_image(scene, plate_nudge(rng, out_hw), out_hw)
    return PlateSample(kind, augment.webcam_look(frame, rng), augment.webcam_look(plate, rng), mask)


def real_pair(rng: np.random.Generator, pair: RealPair, out_hw: Size) -> PlateSample:
    matrix = augment.random_crop_matrix(rng, pair.frame.shape[:2], out_hw, zoom=(1.0, 1.15))
    (frame, plate), mask = augment.warp_sample([pair.frame, pair.plate], pair.mask, matrix, out_hw)
    if rng.random() < 0.5:
        (frame, plate), mask = augment.hflip([frame, plate], mask)
    if mask.any() and rng.random() < 0.3:
        frame = augment.cast_shadow(frame, rng, mask, spare_person=True)
    plate = augment.warp_image(plate, plate_nudge(rng, out_hw, 0.5), out_hw)
    return PlateSample("real", augment.webcam_look(frame, rng, 0.7), augment.webcam_look(plate, rng, 0.7), mask)


def plate_sample(rng: np.random.Generator, pool: DataPool, out_hw: Size) -> PlateSample:
    pictures = pool.train_plates
    kind = choose(rng, PLATE_MIX, {"real": pool.train_pairs, "portrait": pool.portrait_cutouts and pictures,
                                   "webcam_cutout": pool.webcam_cutouts and pictures, "empty": pictures})
    if kind == "real":
        return real_pair(rng, pool.train_pairs[rng.integers(len(pool.train_pairs))], out_hw)
    picture = pictures[rng.integers(len(pictures))]
    if kind == "empty":
        return synthetic_pair(rng, picture, None, out_hw, kind)
    if kind == "portrait":
        return synthetic_pair(rng, picture, pool.portrait_cutouts[rng.integers(len(pool.portrait_cutouts))],
                              out_hw, kind)
    cutout = pool.webcam_cutouts[rng.integers(len(pool.webcam_cutouts))]
    return synthetic_pair(rng, picture, cutout, out_hw, kind, webcam_scale=1.0)


# ---- validation -----------------------------------------------------------------------------------------------
def hard_empty_frame(plate: np.ndarray, seed: int) -> np.ndarray:
    """A deterministic 'nobody there' frame: the plate after an exposure/white-balance change, sensor noise and
    a 1-2 px camera shift."""
    rng = np.random.default_rng([12345, seed])
    sign = lambda: 1.0 if rng.random() < 0.5 else -1.0  # noqa: E731
    exposure = augment.Exposure(gain=float(np.exp(sign() * rng.uniform(0.12, 0.25))),
                                gamma=float(np.exp(sign() * rng.uniform(0.05, 0.15))),
                                contrast=float(np.exp(sign() * rng.uniform(0.03, 0.1))),
                                offset=float(rng.uniform(-6, 6)),
                                white_balance=tuple(float(np.exp(v)) for v in rng.uniform(-0.06, 0.06, 3)))
    shift = (sign() * rng.integers(1, 3), sign() * rng.integers(1, 3))
    height, width = plate.shape[:2]
    moved = augment.warp_image(plate, augment.affine_matrix(shift_xy=shift), (height, width))
    return augment.add_noise(augment.apply_exposure(moved, exposure), rng, 3.0)


# ---- single-frame model ---------------------------------------------------------------------------------------
def photo_sample(rng: np.random.Generator, photo: Photo, out_hw: Size) -> Tuple[np.ndarray, np.ndarray]:
    """The photo at a random scale and place in the canvas (mirror-padded at the sides), a little rotated."""
    height, width = out_hw
    photo_h, photo_w = photo.mask.shape
    # Fit the photo's height (mirror padding above a person looks unlike any camera, so keep it thin).
    scale = height / photo_h * rng.uniform(0.95, 1.2)
    spare_x, spare_y = width - photo_w * scale, height - photo_h * scale
    offset = (rng.uniform(min(spare_x, 0), max(spare_x, 0)), rng.uniform(min(spare_y, 0), max(spare_y, 0)))
    matrix = np.vstack([augment.placement_matrix(scale, offset), [0, 0, 1]])
    turn = np.vstack([augment.affine_matrix(angle_deg=rng.uniform(-8, 8), center_xy=(width / 2, height / 2)),
                      [0, 0, 1]])
    (image,), mask = augment.warp_sample([photo.image], photo.mask, (turn @ matrix)[:2], out_hw)
    return image, mask


def paste_group(rng: np.random.Generator, scene: np.ndarray, people: list, out_hw: Size):
    """Pastes one to three people into a scene, far ones first so that nearer ones cover them.

    Groups and passers-by behind the main person are common in photos; every one of them is labelled person.
    """
    count = int(rng.choice(len(GROUP_SIZES), p=GROUP_SIZES))
    placed = [place_cutout(rng, people[rng.integers(len(people))], out_hw,
                           height_range=(0.45, 1.35) if number == 0 else (0.25, 0.9))
              for number in range(count + 1)]
    placed.sort(key=lambda layer_alpha: layer_alpha[1].sum())  # smaller looks farther: paste first
    mask = np.zeros(out_hw, bool)
    for _, alpha in placed:
        mask |= alpha > 0.5
    if rng.random() < 0.3:
        scene = augment.cast_shadow(scene, rng, mask, spare_person=False)
    for layer, alpha in placed:
        scene = augment.alpha_blend(scene, layer, alpha)
    return scene, mask


def single_sample(rng: np.random.Generator, pool: DataPool, out_hw: Size) -> SingleSample:
    people = pool.portrait_cutouts + pool.webcam_cutouts
    kind = choose(rng, SINGLE_MIX, {"photo": pool.train_photos, "composite": people and pool.train_plates,
                                    "webcam": pool.train_pairs})
    if kind == "photo":
        image, mask = photo_sample(rng, pool.train_photos[rng.integers(len(pool.train_photos))], out_hw)
    elif kind == "composite":
        scene = random_scene(rng, pool.train_plates[rng.integers(len(pool.train_plates))], out_hw)
        image, mask = paste_group(rng, scene, people, out_hw)
    else:
        pair = pool.train_pairs[rng.integers(len(pool.train_pairs))]
        frame = Photo(pair.name, pair.frame, pair.mask)
        image, mask = photo_sample(rng, frame, out_hw)
    if rng.random() < 0.5:
        (image,), mask = augment.hflip([image], mask)
    return SingleSample(kind, augment.webcam_look(image, rng), mask)
