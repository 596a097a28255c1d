"""The trainer's augmentations and composites: pure, seeded, and the label stays on the person."""
import cv2
import numpy as np
import pytest

from training import augment, composite
from training.data import cutout_from, load_pool


def marked_image(hw=(120, 160)):
    """A noisy picture with a saturated green block, and the block's mask: the 'person' we can find by colour."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 120, (*hw, 3), dtype=np.uint8)
    image[:, :, 1] = np.minimum(image[:, :, 1], 100)
    mask = np.zeros(hw, bool)
    mask[40:90, 60:100] = True
    image[mask] = (0, 255, 0)
    return image, mask


def green_where(image):
    return (image[:, :, 1] > 180) & (image[:, :, 2] < 80)


@pytest.mark.parametrize("seed", range(5))
def test_geometric_transforms_keep_the_label_on_the_marked_pixels(seed):
    image, mask = marked_image()
    rng = np.random.default_rng(seed)
    matrix = augment.random_crop_matrix(rng, image.shape[:2], (96, 128), zoom=(1.0, 1.4))
    matrix = np.vstack([matrix, [0, 0, 1]]) @ np.vstack([augment.affine_matrix(
        1.1, rng.uniform(-10, 10), (rng.uniform(-5, 5), 3), (80, 60)), [0, 0, 1]])
    (warped,), warped_mask = augment.warp_sample([image], mask, matrix[:2], (96, 128))
    (warped,), warped_mask = augment.hflip([warped], warped_mask)
    assert warped_mask.shape == (96, 128) and warped_mask.sum() > 300
    # Away from the block's blurred border the colour and the label agree exactly.
    inner = cv2.erode(warped_mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    outer = ~cv2.dilate(warped_mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert green_where(warped)[inner].all()
    assert not green_where(warped)[outer].any()


def test_placed_cutout_alpha_covers_exactly_the_cut_person():
    image, mask = marked_image()
    cut = cutout_from("block", image, mask)
    assert cut.image.shape[:2] == cut.alpha.shape and cut.alpha.sum() == mask.sum()
    for seed in range(8):
        layer, alpha = composite.place_cutout(np.random.default_rng(seed), cut, (120, 160))
        person = alpha > 0.5
        if person.sum() < 50:
            continue
        inner = cv2.erode(person.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert green_where(layer)[inner].all()


def test_group_composites_label_every_pasted_person_and_only_them():
    """Two differently coloured 'people' pasted into a grey scene: each visible colour lies under the label."""
    green, green_mask = marked_image()
    red = green[:, :, ::-1].copy()  # the same block in red
    people = [cutout_from("green", green, green_mask), cutout_from("red", red, green_mask)]
    scene = np.full((120, 160, 3), 128, np.uint8)
    groups = 0
    for seed in range(30):
        image, mask = composite.paste_group(np.random.default_rng(seed), scene.copy(), people, (120, 160))
        coloured = np.ptp(image.astype(int), axis=2) > 60  # shadows on the grey scene stay grey
        inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        outer = ~cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert not coloured[outer].any(), "colour outside the label: a pasted person was left unlabelled"
        if inner.any():
            assert coloured[inner].mean() > 0.95
        pieces, _ = cv2.connectedComponents(mask.astype(np.uint8))
        groups += pieces - 1 > 1
    assert groups >= 3, "extra people should be pasted into some composites"


def test_cutouts_cut_at_the_bottom_leave_the_frame_at_the_bottom():
    image, mask = marked_image()
    mask[40:, 60:100] = True  # the 'body' runs off the bottom of its picture
    cut = cutout_from("legless", image, mask)
    assert cut.cut_at_bottom
    for seed in range(10):
        _, alpha = composite.place_cutout(np.random.default_rng(seed), cut, (120, 160))
        if (alpha > 0.5).any():
            assert (alpha[-1] > 0.5).any(), "a body cut off in its photo must continue past the frame's bottom"


def test_exposure_is_a_monotonic_lookup_and_identity_by_default():
    image, _ = marked_image()
    assert np.array_equal(augment.apply_exposure(image, augment.Exposure()), image)
    lut = augment.exposure_lut(augment.Exposure(gain=1.2, gamma=0.9, contrast=1.1, offset=4,
                                                white_balance=(0.95, 1.0, 1.05)))
    assert lut.shape == (256, 1, 3) and (np.diff(lut[:, 0, :].astype(int), axis=0) >= 0).all()
    brighter = augment.apply_exposure(image, augment.Exposure(gain=1.3))
    assert brighter.mean() > image.mean() + 5


def test_randomness_comes_only_from_the_generator():
    image, mask = marked_image()
    first = augment.webcam_look(image, np.random.default_rng(7))
    again = augment.webcam_look(image, np.random.default_rng(7))
    other = augment.webcam_look(image, np.random.default_rng(8))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert np.array_equal(image, marked_image()[0]), "inputs must not be modified"


def test_shadows_darken_near_the_person_but_never_the_person():
    image = np.full((120, 160, 3), 200, np.uint8)
    mask = np.zeros((120, 160), bool)
    mask[30:100, 70:90] = True
    darkened_any = False
    for seed in range(12):
        shaded = augment.cast_shadow(image, np.random.default_rng(seed), mask, spare_person=True)
        assert (shaded <= image).all()
        assert np.array_equal(shaded[mask], image[mask])
        darkened_any |= bool((shaded < 190).any())
    assert darkened_any


def test_background_changes_stay_small_and_outside_the_kept_region():
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    keep = np.zeros((120, 160), bool)
    keep[:, :80] = True
    for seed in range(10):
        changed = augment.perturb_background(image, np.random.default_rng(seed), keep)
        assert np.array_equal(changed[keep], image[keep])
        assert (changed != image).any(axis=2).mean() < 0.05


def test_hard_empty_frames_are_deterministic_shifted_and_exposure_changed():
    plate = cv2.GaussianBlur(np.random.default_rng(3).integers(0, 255, (96, 128, 3), dtype=np.uint8), (0, 0), 2)
    first = composite.hard_empty_frame(plate, 5)
    assert np.array_equal(first, composite.hard_empty_frame(plate, 5))
    assert not np.array_equal(first, composite.hard_empty_frame(plate, 6))
    assert np.abs(first.astype(float) - plate).mean() > 3


@pytest.fixture(scope="module")
def small_pool(shared):
    sets = shared("data", "webcam_sets")
    return load_pool([sets / "set1", sets / "set2", sets / "set4"], [shared("data", "backgrounds")],
                     val_sets={4}, seed=0, need_plates=True)


def test_plate_samples_from_real_data_are_seeded_and_cover_every_kind(small_pool):
    kinds = set()
    for number in range(40):
        sample = composite.plate_sample(np.random.default_rng([0, number]), small_pool, (120, 160))
        kinds.add(sample.kind)
        assert sample.frame.shape == sample.plate.shape == (120, 160, 3)
        assert sample.mask.shape == (120, 160) and sample.mask.dtype == bool
        if sample.kind == "empty":
            assert not sample.mask.any()
    assert kinds == {"real", "webcam_cutout", "empty"}  # no portraits in this pool
    again = composite.plate_sample(np.random.default_rng([0, 3]), small_pool, (120, 160))
    first = composite.plate_sample(np.random.default_rng([0, 3]), small_pool, (120, 160))
    assert np.array_equal(again.frame, first.frame) and np.array_equal(again.mask, first.mask)


def test_real_share_raises_the_real_pairs_and_keeps_the_synthetic_kinds_in_proportion(small_pool):
    def kind_counts(real_share):
        kinds = [composite.plate_sample(np.random.default_rng([2, number]), small_pool, (60, 80),
                                        real_share=real_share).kind for number in range(400)]
        return {kind: kinds.count(kind) / len(kinds) for kind in ("real", "webcam_cutout", "empty")}

    usual, more_real = kind_counts(None), kind_counts(0.6)
    # With no portraits in this pool (0.42 of the synthetic 0.75), real pairs are 0.25 of 0.58 of the usual mix,
    # and with a share of 0.6, 0.6 of 0.6 + 0.4 * 0.33 / 0.75.
    assert abs(usual["real"] - 0.25 / 0.58) < 0.07 and abs(more_real["real"] - 0.6 / 0.776) < 0.07
    for counts in (usual, more_real):  # the synthetic kinds keep their 0.15 : 0.18 ratio
        synthetic = counts["webcam_cutout"] + counts["empty"]
        assert abs(counts["webcam_cutout"] / synthetic - 0.15 / 0.33) < 0.12


def test_real_pairs_keep_the_annotated_person_under_the_label():
    """Crop, zoom, flip, shadows, plate nudge and exposure changes: the marked person stays under its label."""
    from training.data import RealPair
    frame, mask = marked_image((240, 320))
    plate = np.random.default_rng(2).integers(0, 120, (240, 320, 3), dtype=np.uint8)
    pair = RealPair("marked", 1, frame, plate, mask)
    for number in range(10):
        sample = composite.real_pair(np.random.default_rng(number), pair, (120, 160))
        if sample.mask.sum() < 100:
            continue
        green = (sample.frame[:, :, 1] > 150) & (sample.frame[:, :, 2] < 110) & (sample.frame[:, :, 0] < 110)
        inner = cv2.erode(sample.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        outer = ~cv2.dilate(sample.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert green[inner].mean() > 0.99 and green[outer].mean() < 0.01


def test_single_frame_samples_are_webcam_like(small_pool):
    for number in range(10):
        sample = composite.single_sample(np.random.default_rng([0, number]), small_pool, (128, 128))
        assert sample.image.shape == (128, 128, 3) and sample.mask.shape == (128, 128)


def test_moving_people_keep_their_label_when_turned_blurred_or_cut_at_the_edge():
    """A green 'person' placed by place_moving: every visible green pixel is labelled, away from the blurred rim."""
    image, mask = marked_image()
    cut = cutout_from("block", image, mask)
    angles, cut_at_edge, heights = [], 0, []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        layer, alpha = composite.place_moving(rng, cut, (160, 160), (0.2, 1.3))
        person = alpha > 0.5
        heights.append(np.ptp(np.nonzero(person)[0]) if person.any() else 0)
        if person.sum() < 60:
            continue
        inner = cv2.erode(person.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert green_where(layer)[inner].mean() > 0.97
        scene = np.full((160, 160, 3), 128, np.uint8)
        pasted = augment.alpha_blend(scene, layer, alpha)
        outer = ~cv2.dilate(person.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        assert not green_where(pasted)[outer].any()
        cut_at_edge += bool(person[0].any() or person[-1].any() or person[:, 0].any() or person[:, -1].any())
    angles = [composite.motion_angle(np.random.default_rng(seed)) for seed in range(400)]
    assert max(heights) > 3 * max(min(h for h in heights if h), 1)  # small to large
    assert cut_at_edge >= 5
    assert any(abs(a) > 40 and abs(a) <= 60 for a in angles) and any(abs(a - 180) <= 40 for a in angles)


def test_motion_blur_smears_along_its_direction_only():
    image = np.zeros((41, 41), np.float32)
    image[20, 20] = 1.0
    smeared = augment.motion_blur(image, 9, 0.0)
    assert smeared.sum() == pytest.approx(1.0, abs=1e-3)
    assert (smeared[20, 16:25] > 0.05).all() and smeared[15:26, 20].sum() < 0.2 + smeared[20, 20]


def test_motion_composites_and_empty_scenes_from_real_data(small_pool):
    kinds = {}
    for number in range(60):
        sample = composite.single_sample(np.random.default_rng([0, number]), small_pool, (128, 128), motion=True)
        kinds[sample.kind] = kinds.get(sample.kind, 0) + 1
        assert sample.image.shape == (128, 128, 3) and sample.mask.shape == (128, 128)
        if sample.kind == "empty":
            assert not sample.mask.any()
    assert {"motion", "empty", "webcam"} <= set(kinds)  # this pool has no portraits
    assert "motion" not in {composite.single_sample(np.random.default_rng([0, n]), small_pool, (64, 64)).kind
                            for n in range(30)}, "the old mix stays the default"


def test_empty_scenes_share_sets_how_often_a_sample_is_people_free(small_pool):
    def empty_count(share, motion=False):
        samples = [composite.single_sample(np.random.default_rng([1, n]), small_pool, (64, 64), motion, share)
                   for n in range(80)]
        assert all(not s.mask.any() for s in samples if s.kind == "empty")
        return sum(s.kind == "empty" for s in samples)

    assert empty_count(None) == 0, "without the option the plain mix has no people-free samples"
    assert empty_count(0.0, motion=True) == 0 < empty_count(None, motion=True), "0 turns off even the motion mix's"
    assert 0 < empty_count(0.1) < empty_count(0.5)


def test_projected_shadows_are_the_silhouette_darkening_20_to_60_percent_and_spare_no_label():
    image = np.full((200, 200, 3), 200, np.uint8)
    mask = np.zeros((200, 200), bool)
    mask[60:160, 90:110] = True
    assert not augment.projected_shadow_map(np.random.default_rng(0), np.zeros_like(mask)).any()
    darkest = []
    for seed in range(20):
        shaded = augment.cast_projected_shadow(image, np.random.default_rng(seed), mask)
        assert (shaded <= image).all()
        ratio = shaded[:, :, 0].astype(float) / 200
        darkest.append(ratio.min())
        assert ratio.min() >= 0.4 - 0.01
        # the shadow lies beside/below/behind the person, as large as a body at most a few times over
        assert (ratio < 0.97).sum() < 6 * mask.sum()
    assert min(darkest) < 0.6 and max(darkest) > 0.7


def test_hard_pixel_weighting_weighs_only_the_wrong_pixels():
    import torch
    from training.losses import bce_dice_loss, hard_pixel_weights
    target = torch.zeros(1, 1, 4, 4)
    target[..., :2, :] = 1.0
    logits = torch.full((1, 1, 4, 4), -3.0)
    logits[..., :2, :] = 3.0
    logits[..., 0, 0] = -1.0  # one missed person pixel
    weights = hard_pixel_weights(logits, target, 4.0)
    assert weights[..., 0, 0].item() == 5.0 and (weights.sum() - 5.0).item() == 15.0
    assert bce_dice_loss(logits, target, 4.0) > bce_dice_loss(logits, target)
    assert bce_dice_loss(logits, target, 0.0) == bce_dice_loss(logits, target)


def test_camouflage_brings_the_person_close_to_the_plate_and_keeps_texture_and_background(small_pool):
    pair = next(p for p in small_pool.train_pairs if p.mask.sum() > 5000)
    pulled = augment.camouflage(pair.frame, pair.plate, pair.mask, np.random.default_rng(0), pull=(0.7, 0.7))
    inside, outside = pair.mask, ~pair.mask
    assert np.array_equal(pulled[outside], pair.frame[outside])

    def local_gap(image):  # colour gap to the plate at garment scale
        smooth = lambda x: cv2.GaussianBlur(x.astype(np.float32), (0, 0), 8)  # noqa: E731
        return np.abs(smooth(image) - smooth(pair.plate))[inside].mean()

    assert local_gap(pulled) < 0.6 * local_gap(pair.frame)
    detail = lambda x: cv2.Laplacian(cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(np.float32), cv2.CV_32F)  # noqa: E731
    inner = cv2.erode(inside.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert np.corrcoef(detail(pulled)[inner], detail(pair.frame)[inner])[0, 1] > 0.9
    none = augment.camouflage(pair.frame, pair.plate, np.zeros_like(pair.mask), np.random.default_rng(0))
    assert np.array_equal(none, pair.frame)


def test_camouflage_changes_only_samples_with_a_person_and_never_their_label(small_pool):
    changed = 0
    for number in range(16):
        plain = composite.plate_sample(np.random.default_rng([1, number]), small_pool, (120, 160), True)
        pulled = composite.plate_sample(np.random.default_rng([1, number]), small_pool, (120, 160), True, 1.0)
        assert np.array_equal(plain.mask, pulled.mask)
        if not plain.mask.any():
            assert np.array_equal(plain.frame, pulled.frame) and np.array_equal(plain.plate, pulled.plate)
        changed += not np.array_equal(plain.frame, pulled.frame)
    assert changed >= 4
