"""Pure image augmentations that make clean pictures look like a webcam over time.

Every function takes its randomness from an explicit numpy Generator and never changes its inputs, so a sample
is a function of its seed. Geometric transforms take the label with them: images and mask go through the same
affine matrix, so the person in the picture and the person in the mask stay on the same pixels.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

Size = Tuple[int, int]  # (height, width)


# ---- geometry -----------------------------------------------------------------------------------------------
def affine_matrix(scale: float = 1.0, angle_deg: float = 0.0, shift_xy: Tuple[float, float] = (0.0, 0.0),
                  center_xy: Tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """2x3 matrix: rotate/scale about center_xy, then translate by shift_xy."""
    matrix = cv2.getRotationMatrix2D((float(center_xy[0]), float(center_xy[1])), float(angle_deg), float(scale))
    matrix[:, 2] += np.asarray(shift_xy, dtype=np.float64)
    return matrix


def placement_matrix(scale: float, offset_xy: Tuple[float, float]) -> np.ndarray:
    """Scale about the origin, then put the source's top-left corner at offset_xy of the output."""
    return np.array([[scale, 0.0, offset_xy[0]], [0.0, scale, offset_xy[1]]], dtype=np.float64)


def warp_image(image: np.ndarray, matrix: np.ndarray, out_hw: Size,
               border: int = cv2.BORDER_REFLECT_101) -> np.ndarray:
    # Strong shrinking with bilinear sampling aliases; pre-shrink with area averaging like the engine does.
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 0.75:
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        fix = np.diag([image.shape[1] / max(small.shape[1], 1), image.shape[0] / max(small.shape[0], 1), 1.0])
        matrix = matrix @ fix
        image = small
    return cv2.warpAffine(image, matrix, (out_hw[1], out_hw[0]), flags=cv2.INTER_LINEAR, borderMode=border)


def warp_mask(mask: np.ndarray, matrix: np.ndarray, out_hw: Size, border: int = cv2.BORDER_REFLECT_101) -> np.ndarray:
    """Warps a boolean/0-1 mask exactly like warp_image warps its image; returns bool."""
    warped = warp_image(mask.astype(np.float32), matrix, out_hw, border)
    return warped > 0.5


def warp_sample(images: Sequence[np.ndarray], mask: Optional[np.ndarray], matrix: np.ndarray, out_hw: Size,
                border: int = cv2.BORDER_REFLECT_101):
    """The same transform for several aligned images and their mask."""
    warped = [warp_image(image, matrix, out_hw, border) for image in images]
    return warped, (None if mask is None else warp_mask(mask, matrix, out_hw, border))


def random_crop_matrix(rng: np.random.Generator, source_hw: Size, out_hw: Size,
                       zoom: Tuple[float, float] = (1.0, 1.2)) -> np.ndarray:
    """Scale the source to cover out_hw (times a random zoom) and pick a random window."""
    cover = max(out_hw[0] / source_hw[0], out_hw[1] / source_hw[1])
    scale = cover * rng.uniform(*zoom)
    spare_x = source_hw[1] * scale - out_hw[1]
    spare_y = source_hw[0] * scale - out_hw[0]
    return placement_matrix(scale, (-rng.uniform(0, max(spare_x, 0)), -rng.uniform(0, max(spare_y, 0))))


def nudge_matrix(rng: np.random.Generator, hw: Size, max_shift: float, max_angle: float,
                 max_scale: float) -> np.ndarray:
    """A small camera bump: shift (px), rotation (deg) and scale change about the image centre."""
    return affine_matrix(1.0 + rng.uniform(-max_scale, max_scale), rng.uniform(-max_angle, max_angle),
                         (rng.uniform(-max_shift, max_shift), rng.uniform(-max_shift, max_shift)),
                         (hw[1] / 2.0, hw[0] / 2.0))


def hflip(images: Sequence[np.ndarray], mask: Optional[np.ndarray]):
    flipped = [np.ascontiguousarray(image[:, ::-1]) for image in images]
    return flipped, (None if mask is None else np.ascontiguousarray(mask[:, ::-1]))


# ---- photometry -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exposure:
    """One auto-exposure / white-balance state of a webcam."""
    gain: float = 1.0
    gamma: float = 1.0
    contrast: float = 1.0
    offset: float = 0.0  # in 0..255 units
    white_balance: Tuple[float, float, float] = (1.0, 1.0, 1.0)  # B, G, R multipliers


def random_exposure(rng: np.random.Generator, strength: float = 1.0) -> Exposure:
    s = strength
    return Exposure(
        gain=float(np.exp(rng.uniform(-0.3, 0.3) * s)),
        gamma=float(np.exp(rng.uniform(-0.25, 0.25) * s)),
        contrast=float(np.exp(rng.uniform(-0.15, 0.15) * s)),
        offset=float(rng.uniform(-10, 10) * s),
        white_balance=tuple(float(np.exp(g)) for g in rng.uniform(-0.08, 0.08, 3) * s),
    )


def exposure_lut(exposure: Exposure) -> np.ndarray:
    """256x1x3 lookup table; one cv2.LUT call applies the whole exposure change."""
    levels = np.arange(256, dtype=np.float64) / 255.0
    tables = []
    for channel_gain in exposure.white_balance:
        value = np.clip(levels * exposure.gain * channel_gain, 0, 1) ** exposure.gamma
        value = (value - 0.5) * exposure.contrast + 0.5 + exposure.offset / 255.0
        tables.append(np.clip(np.round(value * 255.0), 0, 255))
    return np.stack(tables, axis=1).astype(np.uint8)[:, None, :]


def apply_exposure(image: np.ndarray, exposure: Exposure) -> np.ndarray:
    return cv2.LUT(image, exposure_lut(exposure))


def add_noise(image: np.ndarray, rng: np.random.Generator, sigma: float, chroma: float = 0.5) -> np.ndarray:
    """Sensor noise: a luminance part shared by the channels plus a weaker per-channel (colour) part."""
    if sigma <= 0:
        return image.copy()
    height, width = image.shape[:2]
    luma = rng.standard_normal((height, width, 1), dtype=np.float32) * sigma
    colour = rng.standard_normal(image.shape, dtype=np.float32) * (sigma * chroma)
    return np.clip(image.astype(np.float32) + luma + colour, 0, 255).astype(np.uint8)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return image.copy()
    return cv2.GaussianBlur(image, (0, 0), sigma)


def webcam_look(image: np.ndarray, rng: np.random.Generator, strength: float = 1.0,
                max_noise: float = 5.0) -> np.ndarray:
    """Exposure/white-balance drift, occasional defocus and sensor noise."""
    image = apply_exposure(image, random_exposure(rng, strength))
    if rng.random() < 0.3:
        image = blur(image, rng.uniform(0.3, 1.0))
    return add_noise(image, rng, rng.uniform(0.5, max_noise))


# ---- scene changes (label stays background) ----------------------------------------------------------------
def soft_ellipse(hw: Size, center_xy, axes_xy, angle_deg: float, softness: float) -> np.ndarray:
    canvas = np.zeros(hw, np.float32)
    cv2.ellipse(canvas, (int(round(center_xy[0])), int(round(center_xy[1]))),
                (max(1, int(round(axes_xy[0]))), max(1, int(round(axes_xy[1])))), angle_deg, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(canvas, (0, 0), max(softness, 0.5)) if softness > 0 else canvas


def shadow_map(rng: np.random.Generator, person_mask: np.ndarray) -> np.ndarray:
    """Soft 0..1 shadow coverage near the person: on the floor at the feet, on a wall beside them, or a
    flattened copy of the silhouette thrown sideways from the feet."""
    height, width = person_mask.shape
    ys, xs = np.nonzero(person_mask)
    if len(xs) == 0:  # no person: a lighting change somewhere
        x0, x1, y0, y1 = width * 0.3, width * 0.7, height * 0.3, height * 0.9
    else:
        x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    person_w, person_h = max(x1 - x0, 8), max(y1 - y0, 8)
    kind = rng.choice(["floor", "wall", "silhouette"])
    softness = rng.uniform(2.0, 10.0)
    if kind == "floor":
        center = (rng.uniform(x0 - 0.4 * person_w, x1 + 0.4 * person_w), y1 - rng.uniform(0.0, 0.08) * person_h)
        axes = (person_w * rng.uniform(0.4, 1.3), person_h * rng.uniform(0.04, 0.16))
        return soft_ellipse((height, width), center, axes, rng.uniform(-20, 20), softness)
    if kind == "wall":
        side = x0 - rng.uniform(0.05, 0.6) * person_w if rng.random() < 0.5 else x1 + rng.uniform(0.05, 0.6) * person_w
        center = (side, rng.uniform(y0 + 0.2 * person_h, y1 - 0.1 * person_h))
        axes = (person_w * rng.uniform(0.2, 0.6), person_h * rng.uniform(0.2, 0.5))
        return soft_ellipse((height, width), center, axes, rng.uniform(-15, 15), softness)
    # silhouette: squash the mask towards the feet line and shear it sideways
    squash = rng.uniform(0.15, 0.7)
    shear = rng.uniform(-1.5, 1.5)
    feet = float(y1)
    shift = rng.uniform(-0.2, 0.2) * person_w
    if rng.random() < 0.6:  # lying on the floor in front: mirrored below the feet
        row_y = [0.0, -squash, feet * (1 + squash)]
    else:  # thrown back onto the floor/wall behind: upright, flattened
        row_y = [0.0, squash, feet * (1 - squash)]
    row_x = [1.0, shear * row_y[1], shear * (row_y[2] - feet) + shift]  # x + shear * (y' - feet)
    cast = cv2.warpAffine(person_mask.astype(np.float32), np.array([row_x, row_y], np.float64), (width, height),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return cv2.GaussianBlur(cast, (0, 0), softness)


def cast_shadow(image: np.ndarray, rng: np.random.Generator, person_mask: np.ndarray,
                darkness: Tuple[float, float] = (0.45, 0.85), spare_person: bool = True) -> np.ndarray:
    """Darkens a soft region near the person. With spare_person the person's own pixels keep their values
    (use it when the person is already in the image)."""
    coverage = shadow_map(rng, person_mask)
    factor = 1.0 - (1.0 - rng.uniform(*darkness)) * coverage
    if spare_person:
        factor[person_mask.astype(bool)] = 1.0
    return np.clip(image.astype(np.float32) * factor[:, :, None], 0, 255).astype(np.uint8)


def perturb_background(image: np.ndarray, rng: np.random.Generator, keep: Optional[np.ndarray] = None,
                       area: Tuple[float, float] = (0.002, 0.015)) -> np.ndarray:
    """A small background object moves a few pixels or changes brightness (a mug, a chair, a curtain)."""
    height, width = image.shape[:2]
    region_area = rng.uniform(*area) * height * width
    aspect = rng.uniform(0.5, 2.0)
    region_w = max(3, int(np.sqrt(region_area * aspect)))
    region_h = max(3, int(region_area / region_w))
    x = int(rng.integers(0, max(1, width - region_w)))
    y = int(rng.integers(0, max(1, height - region_h)))
    weight = np.zeros((height, width), np.float32)
    weight[y:y + region_h, x:x + region_w] = 1.0
    weight = cv2.GaussianBlur(weight, (0, 0), 1.5)
    if keep is not None:
        weight[keep.astype(bool)] = 0.0
    if rng.random() < 0.5:
        dx, dy = rng.integers(-6, 7, 2)
        changed = np.roll(image, (int(dy), int(dx)), axis=(0, 1)).astype(np.float32)
    else:
        changed = image.astype(np.float32) * rng.uniform(0.8, 1.2)
    blended = image.astype(np.float32) * (1 - weight[:, :, None]) + changed * weight[:, :, None]
    return np.clip(blended, 0, 255).astype(np.uint8)


def alpha_blend(background: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float32)[:, :, None]
    return np.clip(background.astype(np.float32) * (1 - a) + layer.astype(np.float32) * a + 0.5, 0,
                   255).astype(np.uint8)


def camouflage(person: np.ndarray, backdrop: np.ndarray, alpha: np.ndarray, rng: np.random.Generator,
               pull: Tuple[float, float] = (0.3, 0.8)) -> np.ndarray:
    """Pulls the person's local colour towards the scene behind them, like dark jeans in front of a dark door.

    The person's texture stays and the label does not change; only the contrast with the plate shrinks, so the
    model must use small differences. Pixels where alpha is 0 keep their values.
    """
    weight = alpha.astype(np.float32)
    ys = np.nonzero(weight > 0.5)[0]
    if len(ys) == 0:
        return person.copy()
    sigma = max(2.0, 0.08 * float(ys.max() - ys.min() + 1))  # colour regions about a garment's size
    cover = cv2.GaussianBlur(weight, (0, 0), sigma)[:, :, None] + 1e-4
    person_f = person.astype(np.float32)
    person_local = cv2.GaussianBlur(person_f * weight[:, :, None], (0, 0), sigma) / cover
    behind_local = cv2.GaussianBlur(backdrop.astype(np.float32), (0, 0), sigma)
    shifted = person_f + rng.uniform(*pull) * (behind_local - person_local) * weight[:, :, None]
    return np.clip(shifted + 0.5, 0, 255).astype(np.uint8)


# ---- motion -------------------------------------------------------------------------------------------------
def motion_blur(image: np.ndarray, length: float, angle_deg: float) -> np.ndarray:
    """Linear motion blur: the average along a line of `length` px at angle_deg (a fast limb or body)."""
    size = int(np.ceil(length)) | 1
    if size < 3:
        return image.copy()
    kernel = np.zeros((size, size), np.float32)
    kernel[size // 2, :] = 1.0
    turn = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), float(angle_deg), 1.0)
    kernel = cv2.warpAffine(kernel, turn, (size, size), flags=cv2.INTER_LINEAR)
    kernel /= max(float(kernel.sum()), 1e-6)
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REPLICATE)


# ---- projected shadows (label stays background) ----------------------------------------------------------------
def projected_shadow_map(rng: np.random.Generator, person_mask: np.ndarray,
                         light_dx: Optional[float] = None) -> np.ndarray:
    """Soft 0..1 coverage of the person's own silhouette cast by one light: flattened and sheared along the
    floor from the feet, and, behind a wall line above the feet, standing up the wall offset by the light
    direction. Returns zeros when there is no person."""
    height, width = person_mask.shape
    ys, xs = np.nonzero(person_mask)
    if len(xs) == 0:
        return np.zeros((height, width), np.float32)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    person_w, person_h = max(x1 - x0, 8), max(y1 - y0, 8)
    feet = float(y1)
    silhouette = person_mask.astype(np.float32)
    light_dx = rng.uniform(-1.0, 1.0) if light_dx is None else light_dx  # where the light throws: left..right
    # Floor: squash the silhouette towards the feet line (in front or behind) and shear it by the light.
    squash = rng.uniform(0.15, 0.6) * (-1.0 if rng.random() < 0.5 else 1.0)
    shear = light_dx * rng.uniform(0.5, 2.0)
    row_y = [0.0, squash, feet * (1 - squash)]
    row_x = [1.0, shear * squash, -shear * squash * feet]
    floor = cv2.warpAffine(silhouette, np.array([row_x, row_y], np.float64), (width, height),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    # Wall: where the wall meets the floor, somewhere between the person's knees and a bit above the head.
    wall_line = rng.uniform(y0 - 0.1 * person_h, y0 + 0.75 * person_h)
    scale = rng.uniform(0.9, 1.35)
    offset_x = light_dx * rng.uniform(0.15, 0.9) * person_w
    offset_y = rng.uniform(-0.25, 0.05) * person_h
    center_x = (x0 + x1) / 2.0
    wall_matrix = np.array([[scale, 0.0, center_x * (1 - scale) + offset_x],
                            [0.0, scale, feet * (1 - scale) + offset_y]], np.float64)
    wall = cv2.warpAffine(silhouette, wall_matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)
    rows = np.arange(height, dtype=np.float32)[:, None]
    on_wall = (rows < wall_line).astype(np.float32)
    choice = rng.random()
    if choice < 0.35:
        coverage = floor
    elif choice < 0.6:
        coverage = wall * on_wall
    else:
        coverage = np.maximum(floor * (1 - on_wall), wall * on_wall)
    return cv2.GaussianBlur(coverage, (0, 0), rng.uniform(1.5, 8.0) * max(person_h, 40) / 240.0)


def cast_projected_shadow(image: np.ndarray, rng: np.random.Generator, person_mask: np.ndarray,
                          darkness: Tuple[float, float] = (0.2, 0.6)) -> np.ndarray:
    """Darkens the image by 20-60 % (darkness) under the person's projected shadow. Apply it to the scene
    before the person is pasted, so the person stays as it was."""
    coverage = projected_shadow_map(rng, person_mask)
    factor = 1.0 - rng.uniform(*darkness) * coverage
    return np.clip(image.astype(np.float32) * factor[:, :, None], 0, 255).astype(np.uint8)
