"""training.gray_init: the converted one-channel net reproduces the RGB net on a real desaturated photo."""
import cv2
import pytest
import torch

from models.checkpoint import DEFAULT_WEIGHTS, load_checkpoint
from models.preprocess import prepare_input
from training.gray_init import gray_from_rgb, main


def test_gray_net_matches_rgb_net_on_a_desaturated_photo(shared, tmp_path):
    rgb, _ = load_checkpoint(DEFAULT_WEIGHTS["single"])
    photo = cv2.imread(str(shared("data", "portraits", "ccp", "images", "0001.jpg")))
    desaturated = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    out = tmp_path / "gray.pt"
    assert main([str(DEFAULT_WEIGHTS["single"]), "-o", str(out)]) == 0
    gray, _ = load_checkpoint(out)
    assert gray.config.in_channels == 1 and gray.stem[0].weight.shape[1] == 1
    with torch.no_grad():
        rgb_mask = torch.sigmoid(rgb(torch.from_numpy(prepare_input(desaturated, rgb.config))[None]))
        gray_mask = torch.sigmoid(gray(torch.from_numpy(prepare_input(desaturated, gray.config))[None]))
    assert (rgb_mask > 0.5).float().mean() > 0.1  # the photo's person is found at all
    assert (rgb_mask - gray_mask).abs().max() < 1e-4
    with pytest.raises(ValueError, match="RGB"):
        gray_from_rgb(gray)  # already one channel
