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
# With --motion-composites: people in motion (any size, turned, cut at the edges, blurred) and empty scenes.
SINGLE_MOTION_MIX = {"photo": 0.36, "composite": 0.10, "webcam": 0.10, "motion": 0.30, "empty": 0.14}
# Chance of 0, 1 or 2 extra people beside the main one in a single-model composite.
GROUP_SIZES = (0.6, 0.25, 0.15)
# Chance of 1, 2, 3 or 4 people in a motion composite.
MOTION_GROUP_SIZES = (0.5, 0.3, 0.12, 0.08)


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
                   kind: str, webcam_scale: Optional[float] = None, cast_shadows: bool = False,
                   camouflage: float = 0.0) -> PlateSample:
    """cast_shadows: most pasted people also throw their own silhouette onto the floor and wall.
    camouflage: the chance that the person's colours are pulled towards the scene behind them."""
    scene = random_scene(rng, picture, out_hw)
    background = scene
    mask = np.zeros(out_hw, bool)
    layer = alpha = None
    if cutout is not None:
        layer, alpha = place_cutout(rng, cutout, out_hw, webcam_scale=webcam_scale)
        mask = alpha > 0.5
        if cast_shadows and rng.random() < 0.6:
            background = augment.cast_projected_shadow(background, rng, mask)
        elif rng.random() < 0.5:
            background = augment.cast_shadow(background, rng, mask, spare_person=False)
    elif rng.random() < 0.15:  # light changes with nobody there
        background = augment.cast_shadow(background, rng, mask, darkness=(0.7, 0.92), spare_person=False)
    if rng.random() < 0.3:
        background = augment.perturb_background(background, rng)
    if layer is not None and camouflage > 0 and rng.random() < camouflage:
        layer = augment.camouflage(layer, background, alpha, rng)
    frame = background if layer is None else augment.alpha_blend(background, layer, alpha)
    plate = augment.warp_image(scene, plate_nudge(rng, out_hw), out_hw)
    return PlateSample(kind, augment.webcam_look(frame, rng), augment.webcam_look(plate, rng), mask)


def real_pair(rng: np.random.Generator, pair: RealPair, out_hw: Size, cast_shadows: bool = False,
              camouflage: float = 0.0) -> PlateSample:
    matrix = augment.random_crop_matrix(rng, pair.frame.shape[:2], out_hw, zoom=(1.0, 1.15))
    (frame, plate), mask = augment.warp_sample([pair.frame, pair.plate], pair.mask, matrix, out_hw)
    if rng.random() < 0.5:
        (frame, plate), mask = augment.hflip([frame, plate], mask)
    if cast_shadows and mask.any() and rng.random() < 0.4:
        shaded = augment.cast_projected_shadow(frame, rng, mask)
        frame = np.where(mask[:, :, None], frame, shaded)  # the person is already in the frame: keep it
    elif mask.any() and rng.random() < 0.3:
        frame = augment.cast_shadow(frame, rng, mask, spare_person=True)
    if camouflage > 0 and mask.any() and rng.random() < camouflage:
        frame = augment.camouflage(frame, plate, mask, rng)
    plate = augment.warp_image(plate, plate_nudge(rng, out_hw, 0.5), out_hw)
    return PlateSample("real", augment.webcam_look(frame, rng, 0.7), augment.webcam_look(plate, rng, 0.7), mask)


def plate_sample(rng: np.random.Generator, pool: DataPool, out_hw: Size, cast_shadows: bool = False,
                 camouflage: float = 0.0, real_share: Optional[float] = None) -> PlateSample:
    """cast_shadows: people throw projected silhouette shadows (labelled background) in synthetic and real pairs.
    camouflage: the chance that a person's colours are pulled towards the scene behind them.
    real_share: the share of real webcam pairs among the samples (None: PLATE_MIX's)."""
    pictures = pool.train_plates
    kind = choose(rng, with_share(PLATE_MIX, "real", real_share),
                  {"real": pool.train_pairs, "portrait": pool.portrait_cutouts and pictures,
                   "webcam_cutout": pool.webcam_cutouts and pictures, "empty": pictures})
    if kind == "real":
        return real_pair(rng, pool.train_pairs[rng.integers(len(pool.train_pairs))], out_hw, cast_shadows, camouflage)
    picture = pictures[rng.integers(len(pictures))]
    if kind == "empty":
        return synthetic_pair(rng, picture, None, out_hw, kind)
    if kind == "portrait":
        return synthetic_pair(rng, picture, pool.portrait_cutouts[rng.integers(len(pool.portrait_cutouts))],
                              out_hw, kind, cast_shadows=cast_shadows, camouflage=camouflage)
    cutout = pool.webcam_cutouts[rng.integers(len(pool.webcam_cutouts))]
    return synthetic_pair(rng, picture, cutout, out_hw, kind, webcam_scale=1.0, cast_shadows=cast_shadows,
                          camouflage=camouflage)


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


def motion_angle(rng: np.random.Generator) -> float:
    """Mostly upright, often leaning or turned up to 60 degrees, sometimes upside down (flips, handstands)."""
    draw = rng.random()
    if draw < 0.35:
        return rng.uniform(-10, 10)
    if draw < 0.88:
        return rng.uniform(-60, 60)
    return 180.0 + rng.uniform(-40, 40)


def place_moving(rng: np.random.Generator, cutout: Cutout, out_hw: Size, height_range: Tuple[float, float]):
    """A person scaled small to large (log-uniform height share), turned by motion_angle, anywhere in the frame
    including cut at any edge, sometimes motion-blurred (image and label together). Returns (layer, alpha)."""
    height, width = out_hw
    crop_h, crop_w = cutout.alpha.shape
    share = float(np.exp(rng.uniform(np.log(height_range[0]), np.log(height_range[1]))))
    scale = height * share / crop_h
    centre = (rng.uniform(0.0, 1.0) * width, rng.uniform(0.1, 1.0) * height)  # at an edge: half cut off
    if cutout.cut_at_bottom:  # a body without legs must leave the frame where it is cut: keep it upright, low
        angle = rng.uniform(-15, 15)
        centre = (centre[0], height - 0.4 * share * height * rng.uniform(0.6, 1.1))
    else:
        angle = motion_angle(rng)
    mirror = -1.0 if rng.random() < 0.5 else 1.0
    # source crop centre -> origin, mirror and scale, turn, then to the chosen centre
    to_origin = np.array([[mirror, 0, mirror * -crop_w / 2], [0, 1, -crop_h / 2], [0, 0, 1]], np.float64)
    turn = np.vstack([augment.affine_matrix(scale, angle, centre), [0, 0, 1]])
    matrix = (turn @ to_origin)[:2]
    layer = augment.warp_image(cutout.image, matrix, out_hw, border=cv2.BORDER_REPLICATE)
    alpha = np.clip(augment.warp_image(cutout.alpha, matrix, out_hw, border=cv2.BORDER_CONSTANT), 0.0, 1.0)
    if rng.random() < 0.35:
        length, direction = rng.uniform(3, 4 + 0.08 * share * height), rng.uniform(0, 180)
        layer = augment.motion_blur(layer, length, direction)
        alpha = augment.motion_blur(alpha, length, direction)
    elif rng.random() < 0.5:  # soften the cut-out's hard edge, as a lens would
        alpha = augment.blur(alpha, rng.uniform(0.5, 1.2))
    return layer, alpha


def motion_composite(rng: np.random.Generator, scene: np.ndarray, people: list, out_hw: Size):
    """One to four moving people on a scene, the smaller (farther) pasted first; each gets its own light."""
    count = 1 + int(rng.choice(len(MOTION_GROUP_SIZES), p=MOTION_GROUP_SIZES))
    placed = [place_moving(rng, people[rng.integers(len(people))], out_hw,
                           (0.2, 1.3) if number == 0 else (0.12, 0.9)) for number in range(count)]
    placed.sort(key=lambda layer_alpha: layer_alpha[1].sum())
    mask = np.zeros(out_hw, bool)
    for _, alpha in placed:
        mask |= alpha > 0.5
    if mask.any() and rng.random() < 0.3:
        scene = augment.cast_projected_shadow(scene, rng, mask)
    for layer, alpha in placed:
        if rng.random() < 0.5:
            layer = augment.apply_exposure(layer, augment.random_exposure(rng, 0.6))
        scene = augment.alpha_blend(scene, layer, alpha)
    return scene, mask


def empty_scene(rng: np.random.Generator, picture: np.ndarray, out_hw: Size) -> np.ndarray:
    """Nobody here: a people-free picture, sometimes with a patch of light or shade on it."""
    scene = random_scene(rng, picture, out_hw)
    if rng.random() < 0.3:
        scene = augment.cast_shadow(scene, rng, np.zeros(out_hw, bool), darkness=(0.55, 0.9), spare_person=False)
    return scene


def with_share(mix: dict, kind: str, share: Optional[float]) -> dict:
    """The mix with one kind at share of its weight and the others scaled to the rest, in the mix's order (the kind
    is added last if the mix lacks it); None: the mix as it is. choose() then renormalises over the kinds the data
    has, so a pool that lacks some kinds draws this one more often."""
    if share is None:
        return mix
    others_total = sum(weight for name, weight in mix.items() if name != kind)
    shared = {name: share if name == kind else weight / others_total * (1.0 - share) for name, weight in mix.items()}
    shared.setdefault(kind, share)
    return shared


def single_sample(rng: np.random.Generator, pool: DataPool, out_hw: Size, motion: bool = False,
                  empty_share: Optional[float] = None) -> SingleSample:
    """A single-model sample; motion=True adds moving-people composites and empty scenes to the mix; empty_share
    sets how often a sample is a people-free scene with an empty mask."""
    people = pool.portrait_cutouts + pool.webcam_cutouts
    full_bodies = [cut for cut in people if not cut.cut_at_bottom] or people
    kind = choose(rng, with_share(SINGLE_MOTION_MIX if motion else SINGLE_MIX, "empty", empty_share),
                  {"photo": pool.train_photos, "composite": people and pool.train_plates,
                   "webcam": pool.train_pairs, "motion": full_bodies and pool.train_plates,
                   "empty": pool.train_plates})
    if kind == "motion":
        scene = random_scene(rng, pool.train_plates[rng.integers(len(pool.train_plates))], out_hw)
        image, mask = motion_composite(rng, scene, people if rng.random() < 0.25 else full_bodies, out_hw)
    elif kind == "empty":
        image = empty_scene(rng, pool.train_plates[rng.integers(len(pool.train_plates))], out_hw)
        mask = np.zeros(out_hw, bool)
    elif kind == "photo":
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
