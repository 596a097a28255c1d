"""The inference engine and checkpoints: loading (good, wrong, corrupt), output shapes, device choice, plate caching,
the compiled runtimes against PyTorch on a real frame, and the measured choice with its cache."""
import dataclasses
import json
import pickle
import time

import cv2
import numpy as np
import pytest
import torch

import models.runtime_choice as runtime_choice
from fileio.capture_sets import list_sets, read_image
from models.checkpoint import DEFAULT_WEIGHTS, CheckpointError, load_checkpoint, save_checkpoint
from models.guided_filter import guided_upsample
from models.plate_net import PlateNet, PlateNetConfig
from models.preprocess import model_input_size, prepare_input, prepare_pixels, resize_by_halving
from models.runtimes import COMPILED_RUNTIMES, runtime_missing
from models.segmenter import Segmenter, pick_device
from models.unet import LikeUnet, LikeUnetConfig

INSTALLED_COMPILED = [name for name in COMPILED_RUNTIMES if not runtime_missing(name)]


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


@pytest.mark.parametrize("runtime", ["torch", *INSTALLED_COMPILED])
def test_plate_features_are_computed_once_per_plate(plate_checkpoint, real_pair, runtime):
    frame, plate = real_pair
    segmenter = Segmenter.load(plate_checkpoint, device="cpu", precision="fp32", runtime=runtime)
    engine = segmenter._engines["plate"].runtime
    calls = []
    original_encode = engine.encode
    engine.encode = lambda pixels: calls.append(pixels.shape) or original_encode(pixels)
    first = segmenter.segment(frame, plate)
    for _ in range(2):
        assert np.array_equal(segmenter.segment(frame, plate), first)  # the cached plate features stay intact
    assert len(calls) == 1  # the plate once; each frame goes through its own one-call graph
    segmenter.segment(frame, plate[::-1].copy())
    assert len(calls) == 2  # a new plate is encoded again


def test_a_capped_mask_is_the_full_size_mask_at_the_capped_size(real_pair):
    frame, plate = (cv2.resize(image, (1280, 720)) for image in real_pair)
    engine = Segmenter.load("default", device="cpu", precision="fp32", runtime="torch")
    full = engine.segment(frame, plate)
    capped = engine.segment(frame, plate, mask_long_side=640)
    assert full.shape == (720, 1280) and capped.shape == (360, 640)
    assert engine.segment(frame, plate, mask_long_side=4000).shape == full.shape  # a cap above the frame: no change
    shrunk = cv2.resize(full, (640, 360), interpolation=cv2.INTER_AREA) > 0.5
    person = capped > 0.5
    assert person.mean() > 0.05
    assert (shrunk & person).sum() / (shrunk | person).sum() > 0.97


def test_output_stride_four_skips_the_finest_level_and_every_runtime_agrees(real_pair, tmp_path):
    frame, plate = real_pair
    torch.manual_seed(0)
    widths = dict(channels=(8, 8, 16, 16), decoder_channels=8)
    coarse = PlateNet(PlateNetConfig(output_stride=4, **widths)).eval()
    fine = PlateNet(PlateNetConfig(output_stride=2, **widths))
    # Only the finest level's fuse and refine layers go; every other weight keeps its name.
    assert set(coarse.state_dict()) < set(fine.state_dict())
    pixels = torch.from_numpy(prepare_input(frame, coarse.config))[None]
    with torch.no_grad():
        features = coarse.encode(pixels)
        logits = coarse.decode(features, features)
    assert len(features) == 3 and logits.shape[-2:] == (pixels.shape[-2] // 4, pixels.shape[-1] // 4)
    path = tmp_path / "coarse.pt"
    save_checkpoint(path, coarse)
    reference = Segmenter.load(path, device="cpu", precision="fp32", runtime="torch").segment(frame, plate)
    assert reference.shape == frame.shape[:2]
    for runtime in INSTALLED_COMPILED:
        mask = Segmenter.load(path, device="cpu", precision="fp32", runtime=runtime).segment(frame, plate)
        assert np.abs(mask - reference).max() <= runtime_choice.TOLERANCE["fp32"], runtime


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


def test_the_fixed_scale_upsampling_gives_the_numbers_of_the_size_read_one_and_refuses_other_sizes():
    from models.layers import upsample_like
    torch.manual_seed(0)
    coarse = torch.randn(1, 4, 7, 9)
    for height, width in ((14, 18), (13, 18), (15, 17)):
        reference = torch.zeros(1, 2, height, width)
        expected = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
        assert torch.equal(upsample_like(coarse, reference), expected)
        if (height, width) == (14, 18):
            assert torch.allclose(upsample_like(coarse, reference, exact_double=True), expected, atol=1e-6)
        else:
            with pytest.raises(ValueError, match="pad the input"):
                upsample_like(coarse, reference, exact_double=True)


def test_exported_graphs_resize_without_shape_arithmetic(tmp_path, monkeypatch):
    """The engine pads its input to the size multiple, so every decoder step is an exact 2x; the graphs say so with
    constants instead of reading the feature maps' shapes at run time."""
    import onnx
    from models.graph_export import export_graphs
    monkeypatch.setenv("BACKPLATE_CACHE_DIR", str(tmp_path / "cache"))
    for kind in ("plate", "single"):
        network, _ = load_checkpoint(DEFAULT_WEIGHTS[kind])
        for name, path in export_graphs(network).items():
            operators = [node.op_type for node in onnx.load(str(path)).graph.node]
            assert "Shape" not in operators, f"{kind} {name}: {sorted(set(operators))}"
            if name != "encoder":
                assert operators.count("Resize") >= 2


def test_guided_upsampling_reads_uint8_and_float_guides_alike(real_pair):
    gray = cv2.cvtColor(real_pair[0], cv2.COLOR_BGR2GRAY)
    low = cv2.resize((gray > 100).astype(np.float32), (160, 120), interpolation=cv2.INTER_AREA)
    from_uint8 = guided_upsample(low, gray)
    from_float = guided_upsample(low, gray.astype(np.float32) / 255.0)
    assert from_uint8.shape == gray.shape and from_uint8.dtype == np.float32
    assert 0.0 <= from_uint8.min() and from_uint8.max() <= 1.0
    assert np.abs(from_uint8 - from_float).max() < 0.02  # only the low-res guide's rounding differs


def test_bf16_is_a_candidate_only_where_the_cpu_has_it(monkeypatch):
    monkeypatch.setattr(runtime_choice, "has_bf16", lambda: False)
    monkeypatch.setattr(runtime_choice, "torch_kernel_isa", lambda: "AVX2")
    assert all(precision == "fp32" for _, precision in runtime_choice.candidates(torch.device("cpu")))
    monkeypatch.setattr(runtime_choice, "has_bf16", lambda: True)
    assert ("torch", "bf16") in runtime_choice.candidates(torch.device("cpu"))
    assert runtime_choice.candidates(torch.device("cpu"), "torch", "bf16") == [("torch", "bf16")]


def test_a_onednn_isa_cap_hides_avx512_and_bf16_from_the_choice(monkeypatch):
    """ONEDNN_MAX_CPU_ISA=AVX2 (how the speed issue measures the AVX2 path on an AVX-512 machine) must take bf16 off
    the candidates: OpenVINO cannot compile for bf16 under it."""
    import models.cpu_features as cpu_features
    monkeypatch.setattr(cpu_features, "cpu_flags", lambda: frozenset({"avx2", "avx512f", "avx512_bf16"}))
    monkeypatch.setattr(runtime_choice, "torch_kernel_isa", lambda: "AVX512")
    for name in cpu_features.ONEDNN_CAP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert cpu_features.has_avx512() and cpu_features.has_bf16()
    assert cpu_features.isa_summary() == "AVX-512 + bf16"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    assert not cpu_features.has_avx512() and not cpu_features.has_bf16()
    assert cpu_features.isa_summary() == "AVX2 (oneDNN capped at AVX2)"
    monkeypatch.setattr(runtime_choice, "has_bf16", cpu_features.has_bf16)
    assert all(precision == "fp32" for _, precision in runtime_choice.candidates(torch.device("cpu")))
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
    assert cpu_features.has_avx512() and cpu_features.has_bf16()
    assert ("torch", "bf16") in runtime_choice.candidates(torch.device("cpu"))


def test_a_runtime_that_cannot_run_here_drops_out_of_the_measurement(monkeypatch):
    from models.runtimes import TorchRuntime
    network = PlateNet(PlateNetConfig(output_stride=4)).eval()

    class CannotCompile:  # as OpenVINO bf16 under ONEDNN_MAX_CPU_ISA=AVX2: opens, then fails on its first call
        def encode(self, pixels):
            raise RuntimeError("object is not initialized")

    monkeypatch.setattr(runtime_choice, "open_runtime", lambda name, net, device, precision, threads:
                        TorchRuntime(net, device) if name == "torch" else CannotCompile())
    measured = []
    real_measure = runtime_choice.measure
    monkeypatch.setattr(runtime_choice, "measure",
                        lambda opened, *args: measured.append(list(opened)) or real_measure(opened, *args, rounds=2))
    options = [("torch", "fp32"), ("openvino", "bf16")]
    assert runtime_choice.measure_choice(network, torch.device("cpu"), options, 1) == ("torch", "fp32")
    assert measured == [[("torch", "fp32")]]


def test_engine_feeds_the_network_exactly_the_trainers_input(real_pair):
    """The graphs take uint8 pixels and normalise them inside; that must give the trainer's very numbers."""
    from models.engine_graphs import PixelInput
    for config in (PlateNetConfig(), LikeUnetConfig(input_long_side=288), LikeUnetConfig(in_channels=1)):
        for image in real_pair:
            pixels = torch.from_numpy(prepare_pixels(image, config))[None]
            trainer_input = torch.from_numpy(prepare_input(image, config))
            assert torch.equal(PixelInput(config.in_channels)(pixels)[0], trainer_input)


def test_the_frame_graph_computes_the_trainers_network_on_frame_and_plate(real_pair):
    """The engine runs a frame through one graph (its encoder and the decoder) against the plate's stored features;
    that must be the network the trainer trained, applied to the frame and the plate."""
    from models.runtimes import TorchRuntime
    network, _ = load_checkpoint(DEFAULT_WEIGHTS["plate"])
    network.eval()
    frame, plate = real_pair
    runtime = TorchRuntime(network, torch.device("cpu"))
    engine_probability = runtime.segment_frame(prepare_pixels(frame, network.config),
                                               runtime.encode(prepare_pixels(plate, network.config)))
    with torch.no_grad():
        logits = network(*(torch.from_numpy(prepare_input(image, network.config))[None] for image in real_pair),
                         low_res=True)
    trainer_probability = torch.sigmoid(logits)[0, 0].numpy()
    assert engine_probability.shape == trainer_probability.shape
    assert np.abs(engine_probability - trainer_probability).max() < 1e-4  # batch norms folded: rounding only
    assert (trainer_probability > 0.5).mean() > 0.05  # a person is there: the comparison means something


@pytest.fixture(scope="module")
def shipped_reference(real_pair):
    """PyTorch fp32 masks of the shipped models on a real frame, at 640x480 and at an odd size (padding)."""
    engine = Segmenter.load("default", device="cpu", precision="fp32", runtime="torch")
    frames = {size: tuple(cv2.resize(image, size) for image in real_pair) for size in ((640, 480), (641, 479))}
    return frames, {(size, kind): engine.segment(frame, plate if kind == "plate" else None)
                    for size, (frame, plate) in frames.items() for kind in ("plate", "single")}


@pytest.mark.skipif(not INSTALLED_COMPILED, reason="no compiled runtime installed")
@pytest.mark.parametrize("runtime", INSTALLED_COMPILED)
def test_compiled_runtime_matches_pytorch_fp32_on_a_real_frame(runtime, shipped_reference):
    frames, reference = shipped_reference
    engine = Segmenter.load("default", device="cpu", precision="fp32", runtime=runtime)
    assert engine.runtime == runtime and engine.precision == "fp32"
    for size, (frame, plate) in frames.items():
        for kind in ("plate", "single"):
            mask = engine.segment(frame, plate if kind == "plate" else None)
            assert mask.shape == frame.shape[:2] and engine.last_model == kind
            assert np.abs(mask - reference[size, kind]).max() <= runtime_choice.TOLERANCE["fp32"]
            assert (reference[size, kind] > 0.5).mean() > 0.05  # a person is there: the comparison means something


def test_exported_graphs_are_cached_by_the_weights_hash(tmp_path, monkeypatch):
    from models.graph_export import export_graphs, model_fingerprint
    monkeypatch.setenv("BACKPLATE_CACHE_DIR", str(tmp_path / "cache"))
    torch.manual_seed(0)
    network = PlateNet(PlateNetConfig(channels=(8, 8, 16, 16), decoder_channels=8))
    paths = export_graphs(network)
    assert sorted(paths) == ["encoder", "frame"] and all(path.stat().st_size > 1000 for path in paths.values())
    assert model_fingerprint(network) in str(paths["encoder"].parent)
    assert not [p for p in paths["encoder"].parent.iterdir() if p.suffix != ".onnx"]  # no temp files left behind
    stamps = {name: path.stat().st_mtime_ns for name, path in paths.items()}
    assert export_graphs(load_checkpoint_copy(network)) == paths  # same weights: the same files, not re-exported
    assert {name: path.stat().st_mtime_ns for name, path in paths.items()} == stamps
    with torch.no_grad():
        network.head.bias += 0.1
    assert export_graphs(network)["encoder"].parent != paths["encoder"].parent  # new weights, new graphs


def load_checkpoint_copy(network):
    """The network as a checkpoint file would bring it back (a new object with the same weights)."""
    clone = PlateNet(network.config)
    clone.load_state_dict(network.state_dict())
    return clone.eval()


def test_runtime_choice_is_measured_once_then_cached(plate_checkpoint, monkeypatch, tmp_path):
    monkeypatch.setenv("BACKPLATE_CACHE_DIR", str(tmp_path / "cache"))
    real_measure = runtime_choice.measure_choice_apart
    measured = []
    monkeypatch.setattr(runtime_choice, "measure_choice_apart",
                        lambda *a, **k: measured.append(1) or real_measure(*a, **k))
    first = Segmenter.load(plate_checkpoint, device="cpu")
    second = Segmenter.load(plate_checkpoint, device="cpu")
    assert len(measured) == (1 if INSTALLED_COMPILED else 0)
    assert first.runtime == second.runtime and first.precision == second.precision
    assert (first.runtime, first.precision) in runtime_choice.candidates(torch.device("cpu"))  # fp32 on AVX2
    if INSTALLED_COMPILED:
        cache_file = tmp_path / "cache" / runtime_choice.CACHE_FILE
        assert list(json.loads(cache_file.read_text()).values()) == [[first.runtime, first.precision]]
        cache_file.write_text("{damaged")
        Segmenter.load(plate_checkpoint, device="cpu")
        assert len(measured) == 2


def test_a_runtime_that_keeps_the_cpu_busy_after_its_call_does_not_handicap_the_one_timed_after_it():
    # PyTorch's worker threads keep spinning for a moment after a call; two equally fast runtimes must still
    # measure alike, whichever of them is listed right after it.
    lingering = {"until": 0.0}

    class FakeRuntime:
        def __init__(self, seconds, leaves_busy=0.0):
            self.seconds, self.leaves_busy = seconds, leaves_busy

        def predict(self, pixels):
            busy_for = max(0.0, lingering["until"] - time.perf_counter())
            time.sleep(self.seconds + busy_for)
            lingering["until"] = time.perf_counter() + self.leaves_busy
            return np.zeros((pixels.shape[-2] // 2, pixels.shape[-1] // 2), np.float32)

    opened = {("torch", "fp32"): FakeRuntime(0.002, leaves_busy=0.008),
              ("openvino", "fp32"): FakeRuntime(0.002), ("onnxruntime", "fp32"): FakeRuntime(0.002)}
    seconds, _ = runtime_choice.measure(opened, LikeUnetConfig(channels=(8, 8, 16, 16)), "single")
    follower, other = seconds[("openvino", "fp32")], seconds[("onnxruntime", "fp32")]
    assert follower < 1.5 * other and other < 1.5 * follower, seconds


def test_a_faster_runtime_that_disagrees_with_pytorch_is_never_chosen(plate_checkpoint, monkeypatch):
    if not INSTALLED_COMPILED:
        pytest.skip("no compiled runtime installed")
    wrong = INSTALLED_COMPILED[0]
    real_measure = runtime_choice.measure
    seen = {}

    def measure_with_a_wrong_runtime(opened, config, kind, rounds=runtime_choice.ROUNDS):
        seconds, errors = real_measure(opened, config, kind, rounds=1)
        seen.update(errors)
        seconds = {candidate: (0.0 if candidate[0] == wrong else 1.0) for candidate in seconds}
        errors = {candidate: (0.5 if candidate[0] == wrong else error) for candidate, error in errors.items()}
        return seconds, errors

    monkeypatch.setattr(runtime_choice, "measure", measure_with_a_wrong_runtime)
    network, _ = load_checkpoint(plate_checkpoint)
    options = runtime_choice.candidates(torch.device("cpu"))
    choice = runtime_choice.measure_choice(network, torch.device("cpu"), options, threads=1)
    assert choice[0] != wrong and choice in options
    assert all(error <= runtime_choice.TOLERANCE["fp32"] for error in seen.values())  # the real ones all agree


def test_unusable_runtime_requests_are_clear_errors(plate_checkpoint):
    with pytest.raises(ValueError, match="unknown runtime 'tensorrt'"):
        Segmenter.load(plate_checkpoint, device="cpu", runtime="tensorrt")
    with pytest.raises(ValueError, match="unknown precision"):
        Segmenter.load(plate_checkpoint, device="cpu", precision="int4")
    assert runtime_choice.candidates(torch.device("cuda"), "auto", "auto") == [("torch", "fp16")]
    if INSTALLED_COMPILED:
        with pytest.raises(ValueError, match="CPU only"):
            runtime_choice.candidates(torch.device("cuda"), INSTALLED_COMPILED[0], "auto")


@pytest.mark.parametrize("stride, finest", [(4, 0), (2, 4)])
def test_single_model_with_the_lean_decoder_agrees_on_every_runtime(real_pair, tmp_path, stride, finest):
    frame, _ = real_pair
    torch.manual_seed(0)
    lean = LikeUnet(LikeUnetConfig(channels=(8, 8, 12, 12, 16), output_stride=stride, decoder_channels=8,
                                   finest_decoder_channels=finest)).eval()
    pixels = torch.from_numpy(prepare_input(frame, lean.config))[None]
    with torch.no_grad():
        low = lean.low_res_logits(pixels)
        full = lean(pixels)
    assert low.shape[-2:] == (pixels.shape[-2] // stride, pixels.shape[-1] // stride)
    assert lean.head.in_channels == (finest or 8)
    assert full.shape[-2:] == pixels.shape[-2:]
    path = tmp_path / "lean.pt"
    save_checkpoint(path, lean)
    reference = Segmenter.load(path, device="cpu", precision="fp32", runtime="torch").segment(frame)
    assert reference.shape == frame.shape[:2]
    for runtime in INSTALLED_COMPILED:
        mask = Segmenter.load(path, device="cpu", precision="fp32", runtime=runtime).segment(frame)
        assert np.abs(mask - reference).max() <= runtime_choice.TOLERANCE["fp32"], runtime


def test_the_scene_context_block_lets_one_side_of_the_frame_inform_the_other_on_every_runtime(real_pair, tmp_path):
    frame, plate = real_pair
    context, _ = load_checkpoint(DEFAULT_WEIGHTS["plate"])  # the shipped plate model has the block
    assert context.config.context_layers > 0
    plain = PlateNet(dataclasses.replace(context.config, context_layers=0))  # the same weights without it
    plain.load_state_dict({name: value for name, value in context.state_dict().items()
                           if not name.startswith("context.")})
    plain.eval()
    context.eval()
    # Change only the frame's right third; look at the mask's left third.
    changed = frame.copy()
    changed[:, 2 * frame.shape[1] // 3:] = 255 - changed[:, 2 * frame.shape[1] // 3:]
    reach = {}
    for network in (plain, context):
        pixels = [torch.from_numpy(prepare_input(image, network.config))[None] for image in (frame, changed, plate)]
        with torch.no_grad():
            first, second = (network(image, pixels[2]) for image in pixels[:2])
        reach[network] = (first - second)[..., : first.shape[-1] // 3].abs().max().item()
    assert reach[plain] < 1e-5 < 0.01 < reach[context]
    path = tmp_path / "context.pt"
    save_checkpoint(path, context)
    reference = Segmenter.load(path, device="cpu", precision="fp32", runtime="torch").segment(frame, plate)
    for runtime in INSTALLED_COMPILED:
        mask = Segmenter.load(path, device="cpu", precision="fp32", runtime=runtime).segment(frame, plate)
        assert np.abs(mask - reference).max() <= runtime_choice.TOLERANCE["fp32"], runtime
