"""The inference engine and checkpoints: loading (good, wrong, corrupt), output shapes, device choice, plate caching."""
import pickle

import cv2
import numpy as np
import pytest
import torch

from models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from fileio.capture_sets import list_sets, read_image
from models.guided_filter import guided_upsample
from models.plate_net import PlateNet, PlateNetConfig
from models.preprocess import model_input_size, resize_by_halving
from models.segmenter import Segmenter, pick_device
from models.unet import LikeUnet, LikeUnetConfig


@pytest.fixture(scope="module")
def real_pair(shared):
    webcam_set = list_sets(shared("data", "webcam_sets"))[0]
    return read_image(webcam_set.frames[0].image_path), read_image(webcam_set.plate_path)


@pytest.fixture
def plate_checkpoint(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "plate.pt"
    save_checkpoint(path, PlateNet(PlateNetConfig(channels=(8, 8, 16, 16), decoder_channels=8)), note="test")
    return path


def test_checkpoint_round_trip_rebuilds_identical_model(plate_checkpoint):
    model, payload = load_checkpoint(plate_checkpoint)
    assert isinstance(model, PlateNet) and not model.training
    assert model.config.channels == [8, 8, 16, 16] and payload["note"] == "test"
    again, _ = load_checkpoint(plate_checkpoint)
    frame, plate = torch.randn(1, 3, 64, 96), torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        assert torch.equal(model(frame, plate), again(frame, plate))


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found: .*nope.pt"):
        Segmenter.load(tmp_path / "nope.pt")


def test_corrupt_checkpoint_gives_clear_error(tmp_path, plate_checkpoint):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(plate_checkpoint.read_bytes()[:500])
    with pytest.raises(CheckpointError, match="corrupt"):
        Segmenter.load(truncated)


def test_foreign_torch_file_is_rejected(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="not a Backplate checkpoint"):
        Segmenter.load(foreign)


class _Exploder:
    def __reduce__(self):
        return (pytest.fail, ("unpickling ran code from a checkpoint",))


def test_pickled_code_is_never_executed(tmp_path):
    hostile = tmp_path / "hostile.pt"
    with open(hostile, "wb") as stream:
        pickle.dump({"format": "backplate-checkpoint", "payload": _Exploder()}, stream)
    with pytest.raises(CheckpointError):
        Segmenter.load(hostile)


def test_mismatched_weights_are_reported(tmp_path):
    path = tmp_path / "mismatch.pt"
    save_checkpoint(path, LikeUnet(LikeUnetConfig(channels=(8, 16, 32, 64, 96))))
    payload = torch.load(path, weights_only=True)
    payload["config"]["channels"] = [4, 8, 16, 32, 48]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not match"):
        Segmenter.load(path)


@pytest.mark.parametrize("width,height", [(640, 480), (641, 479), (333, 517)])
def test_masks_match_odd_frame_sizes(plate_checkpoint, real_pair, width, height):
    frame, plate = (cv2.resize(image, (width, height)) for image in real_pair)
    segmenter = Segmenter.load(plate_checkpoint, device="cpu")
    mask = segmenter.segment(frame, plate)
    assert mask.shape == (height, width) and mask.dtype == np.float32
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    assert segmenter.last_latency_ms > 0


def test_single_model_segments_without_plate_and_plate_model_demands_one(plate_checkpoint, real_pair, tmp_path):
    frame, _ = real_pair
    single_path = tmp_path / "single_gray.pt"
    save_checkpoint(single_path, LikeUnet(LikeUnetConfig(in_channels=1)))
    single = Segmenter.load(single_path, device="cpu")
    assert single.has_single_model and not single.has_plate_model
    assert single.segment(frame).shape == frame.shape[:2]
    with pytest.raises(ValueError, match="pass plate_bgr"):
        Segmenter.load(plate_checkpoint, device="cpu").segment(frame)


def test_plate_features_are_computed_once_per_plate(plate_checkpoint, real_pair):
    frame, plate = real_pair
    segmenter = Segmenter.load(plate_checkpoint, device="cpu", precision="fp32")
    model = segmenter._plate_runner.model
    calls = []
    original_encode = model.encode
    model.encode = lambda image: calls.append(image.shape) or original_encode(image)
    for _ in range(3):
        segmenter.segment(frame, plate)
    assert len(calls) == 3 + 1  # one per frame, plus the plate once
    segmenter.segment(frame, plate[::-1].copy())
    assert len(calls) == 4 + 2  # a new plate is encoded again


def test_bf16_stays_within_tolerance_of_fp32(plate_checkpoint, real_pair):
    frame, plate = real_pair
    fp32 = Segmenter.load(plate_checkpoint, device="cpu", precision="fp32").segment(frame, plate)
    bf16 = Segmenter.load(plate_checkpoint, device="cpu", precision="bf16").segment(frame, plate)
    assert np.abs(fp32 - bf16).max() < 0.05


def test_device_selection(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto").type == "cpu"
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto").type == "cuda"
    assert pick_device("cpu").type == "cpu"


def test_model_input_size_keeps_aspect_and_pads_to_multiple():
    assert model_input_size(480, 640, 320, 16) == (240, 320, 240, 320)
    assert model_input_size(479, 641, 256, 32) == (191, 256, 192, 256)
    resized_h, resized_w, padded_h, padded_w = model_input_size(830, 550, 256, 32)
    assert (resized_h, padded_h % 32, padded_w % 32) == (256, 0, 0) and padded_w >= resized_w


@pytest.mark.parametrize("width, height", [(288, 216), (256, 191), (320, 240), (700, 500)])
def test_shrinking_in_halving_steps_stays_close_to_one_area_resize(real_pair, width, height):
    frame = cv2.resize(real_pair[0], (641, 479))
    fast = resize_by_halving(frame, width, height)
    reference = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    assert fast.shape == reference.shape and fast.dtype == np.uint8
    assert np.abs(fast.astype(np.float32) - reference).mean() < 2.0  # of 255 levels


def test_guided_upsampling_snaps_mask_edge_to_image_edge():
    guide = np.zeros((240, 320), np.uint8)
    guide[:, 163:] = 255  # true edge at column 163, not on the low-res grid
    low = np.zeros((60, 80), np.float32)
    low[:, 41:] = 1.0  # coarse edge at column 164
    bilinear = cv2.resize(low, (320, 240), interpolation=cv2.INTER_LINEAR) > 0.5
    guided = guided_upsample(low, guide) > 0.5
    truth = guide > 127
    assert (guided != truth).sum() < (bilinear != truth).sum()


def test_guided_upsampling_reads_uint8_and_float_guides_alike(real_pair):
    gray = cv2.cvtColor(real_pair[0], cv2.COLOR_BGR2GRAY)
    low = cv2.resize((gray > 100).astype(np.float32), (160, 120), interpolation=cv2.INTER_AREA)
    from_uint8 = guided_upsample(low, gray)
    from_float = guided_upsample(low, gray.astype(np.float32) / 255.0)
    assert from_uint8.shape == gray.shape and from_uint8.dtype == np.float32
    assert 0.0 <= from_uint8.min() and from_uint8.max() <= 1.0
    assert np.abs(from_uint8 - from_float).max() < 0.02  # only the low-res guide's rounding differs


def test_auto_precision_is_measured_once_then_cached(plate_checkpoint, monkeypatch, tmp_path):
    import models.segmenter as segmenter_module
    monkeypatch.setenv("BACKPLATE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(segmenter_module, "cpu_supports_bf16", lambda: True)
    measured = []
    monkeypatch.setattr(Segmenter, "_bf16_wins", lambda self: measured.append(1) or True)
    first = Segmenter.load(plate_checkpoint, device="cpu")
    second = Segmenter.load(plate_checkpoint, device="cpu")
    assert first.precision == second.precision == "bf16" and len(measured) == 1
    (tmp_path / "cache" / "engine_precision.json").write_text("{damaged")
    assert Segmenter.load(plate_checkpoint, device="cpu").precision == "bf16" and len(measured) == 2
