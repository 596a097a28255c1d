"""Image metrics on cases small enough to check by hand."""
import numpy as np
import pytest

from metrics import image_metrics


def test_l1_is_one_between_black_and_white_and_counts_only_the_box_or_the_mask():
    black, white = np.zeros((40, 30, 3), np.uint8), np.full((40, 30, 3), 255, np.uint8)
    assert image_metrics.l1(black, white) == 1.0
    spot = black.copy()
    spot[10:20, 5:15] = 255  # 100 white pixels out of 1,200
    assert image_metrics.l1(spot, black) == pytest.approx(100 / 1200)
    assert image_metrics.l1(spot, black, box=(10, 5, 20, 15)) == 1.0
    assert image_metrics.l1(spot, black, box=(0, 0, 20, 30)) == pytest.approx(100 / 600)
    where = np.zeros((40, 30), bool)
    where[15:25, 5:15] = True  # half of it over the spot
    assert image_metrics.l1(spot, black, where=where) == pytest.approx(0.5)


def test_l1_refuses_images_of_different_sizes():
    with pytest.raises(ValueError, match="shapes differ"):
        image_metrics.l1(np.zeros((4, 4)), np.zeros((4, 5)))


def test_ssim_is_one_for_identical_images_and_near_zero_for_black_against_white():
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    assert image_metrics.ssim(texture, texture) == pytest.approx(1.0)
    black, white = np.zeros((32, 32), np.uint8), np.full((32, 32), 255, np.uint8)
    assert image_metrics.ssim(black, white) < 1e-3
    # Structure lost: a flat grey with the texture's mean scores far below a lightly noised texture.
    noisy = np.clip(texture.astype(int) + rng.integers(-10, 11, texture.shape), 0, 255).astype(np.uint8)
    flat = np.full_like(texture, int(texture.mean()))
    assert image_metrics.ssim(noisy, texture) > 0.8 > 0.1 > image_metrics.ssim(flat, texture)
    assert image_metrics.ssim(noisy, texture) == pytest.approx(image_metrics.ssim(texture, noisy))


def test_silhouette_finds_what_is_not_white_and_drops_single_specks():
    image = np.full((50, 40, 3), 255, np.uint8)
    assert not image_metrics.silhouette(image).any()
    image[10:30, 5:25] = (200, 180, 160)  # a garment-coloured square
    image[45, 35] = 0  # one dark speck of noise
    image[2, 2] = 250  # near-white: background
    found = image_metrics.silhouette(image)
    assert found.sum() == 400 and found[10:30, 5:25].all()
    assert image_metrics.bounding_box(found) == (10, 5, 30, 25)
    assert image_metrics.bounding_box(np.zeros((5, 5), bool)) is None
