import cv2
import numpy as np
import pytest

from app.views import FLAT_BGR, View, compose, fit_to_frame


@pytest.fixture(scope="module")
def pets_frame(shared):
    capture = cv2.VideoCapture(str(shared("data", "videos", "pets2009_s2l1_vtest.avi")))
    ok, frame = capture.read()
    capture.release()
    assert ok
    return frame


@pytest.fixture
def half_mask(pets_frame):
    mask = np.zeros(pets_frame.shape[:2], np.float32)
    mask[:, : pets_frame.shape[1] // 2] = 1.0  # left half is "person"
    return mask


def test_raw_view_and_missing_mask_return_the_frame(pets_frame, half_mask):
    assert compose(View.RAW, pets_frame, half_mask) is pets_frame
    for view in View:
        assert compose(view, pets_frame, None) is pets_frame


def test_cutout_keeps_person_and_flattens_background(pets_frame, half_mask):
    out = compose(View.CUTOUT, pets_frame, half_mask)
    w = pets_frame.shape[1]
    assert np.array_equal(out[:, : w // 2], pets_frame[:, : w // 2])
    assert (out[:, w // 2:] == np.array(FLAT_BGR, np.uint8)).all()


def test_tint_changes_only_the_person(pets_frame, half_mask):
    out = compose(View.TINT, pets_frame, half_mask)
    w = pets_frame.shape[1]
    assert np.array_equal(out[:, w // 2:], pets_frame[:, w // 2:])
    assert np.abs(out[:, : w // 2].astype(int) - pets_frame[:, : w // 2]).mean() > 10


def test_blur_smooths_background_only(pets_frame, half_mask):
    out = compose(View.BLUR, pets_frame, half_mask)
    w = pets_frame.shape[1]
    assert np.array_equal(out[:, : w // 2], pets_frame[:, : w // 2])
    sharpness = lambda img: cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
    assert sharpness(out[:, w // 2 + 20:]) < 0.2 * sharpness(pets_frame[:, w // 2 + 20:])


def test_replace_uses_the_image_fitted_to_the_frame(pets_frame, half_mask, shared):
    background = cv2.imread(str(sorted(shared("data", "backgrounds").glob("*.jpg"))[0]))
    assert background is not None and background.shape[:2] != pets_frame.shape[:2]
    out = compose(View.REPLACE, pets_frame, half_mask, background)
    fitted = fit_to_frame(background, pets_frame.shape[1], pets_frame.shape[0])
    w = pets_frame.shape[1]
    assert fitted.shape == pets_frame.shape
    assert np.array_equal(out[:, w // 2:], fitted[:, w // 2:])
    assert compose(View.REPLACE, pets_frame, half_mask, None) is pets_frame


def test_soft_and_smaller_masks_blend_at_frame_size(pets_frame):
    mask = np.full((90, 120), 0.5, np.float32)  # a quarter-size model output
    out = compose(View.CUTOUT, pets_frame, mask)
    expected = (pets_frame.astype(np.float32) * 0.5 + np.array(FLAT_BGR, np.float32) * 0.5)
    assert out.shape == pets_frame.shape
    assert np.abs(out.astype(np.float32) - expected).max() <= 1.0


def test_view_lookup():
    assert View.from_key("blur") is View.BLUR
    with pytest.raises(ValueError, match="tint"):
        View.from_key("sepia")
