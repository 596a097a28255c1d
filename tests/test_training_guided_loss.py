"""The guided loss scores the mask the engine shows: the PyTorch guided filter must agree with the engine's OpenCV
one, its guide must be the frame's gray, and its gradient must push a missed part of a person up."""
import cv2
import numpy as np
import pytest
import torch

from fileio.capture_sets import list_sets, read_image
from models.guided_filter import guided_upsample, guided_upsample_tensor
from models.preprocess import normalise_image
from training.losses import guide_from_input, guided_mask_loss


@pytest.fixture(scope="module")
def people(shared):
    """(frame, person mask) of the first frame of four real webcam sets."""
    found = []
    for webcam_set in list_sets(shared("data", "webcam_sets"))[:4]:
        frame_file = webcam_set.frames[0]
        mask = read_image(frame_file.mask_path)[:, :, 0] > 127
        found.append((read_image(frame_file.image_path), mask))
    return found


def as_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]


@pytest.mark.parametrize("low_size", [(80, 60), (72, 54)])  # exact halvings, and the engine's odd last step
def test_the_tensor_filter_agrees_with_the_engine_s_on_real_frames(people, low_size):
    for frame, mask in people:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        low = cv2.resize(mask.astype(np.float32), low_size, interpolation=cv2.INTER_AREA)
        engine = guided_upsample(low, gray)
        tensor = guided_upsample_tensor(as_tensor(low), as_tensor(gray / 255.0))[0, 0].numpy()
        assert tensor.shape == engine.shape
        assert np.abs(tensor - engine).mean() < 1e-3
        assert np.abs(tensor - engine).max() < 0.03  # OpenCV's fixed-point bilinear steps


def test_the_guide_is_the_frame_s_gray_in_rgb_and_gray_inputs(people):
    frame = people[0][0]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) / 255.0
    from_rgb = guide_from_input(torch.from_numpy(normalise_image(frame))[None])[0, 0].numpy()
    from_gray = guide_from_input(torch.from_numpy(normalise_image(frame, in_channels=1))[None])[0, 0].numpy()
    assert np.abs(from_rgb - gray).max() < 1.0 / 255.0  # OpenCV rounds its gray to whole levels
    assert np.abs(from_gray - gray).max() < 1e-5


def test_the_loss_prefers_the_true_mask_and_pushes_a_missed_part_up(people):
    frame, mask = people[1]
    low = cv2.resize(mask.astype(np.float32), (80, 60), interpolation=cv2.INTER_AREA)
    to_logits = lambda p: torch.logit(as_tensor(p).clamp(0.02, 0.98))  # noqa: E731
    image = torch.from_numpy(normalise_image(frame))[None]
    target = as_tensor(mask)
    shifted = np.roll(low, 3, axis=1)
    assert guided_mask_loss(to_logits(low), image, target) < guided_mask_loss(to_logits(shifted), image, target)

    rows, cols = np.nonzero(cv2.erode(low, np.ones((5, 5), np.uint8)) > 0.99)
    hole = (slice(rows[len(rows) // 2] - 1, rows[len(rows) // 2] + 2), slice(cols[len(cols) // 2] - 1,
                                                                          cols[len(cols) // 2] + 2))
    missed = low.copy()
    missed[hole] = 0.0
    logits = to_logits(missed).requires_grad_(True)
    guided_mask_loss(logits, image, target, hard_weight=2.0).backward()
    assert (logits.grad[0, 0][hole] < 0).all()  # raising the hole's logits lowers the loss
