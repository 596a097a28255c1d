"""The inference engine: one API for the app, the annotation assist and the benchmarks.

    seg = Segmenter.load("default")          # both shipped models
    mask = seg.segment(frame_bgr)            # single-frame model
    mask = seg.segment(frame_bgr, plate_bgr) # plate model; the plate's features are cached
"""
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Optional, Union

import cv2
import numpy as np
import torch
import torch.nn as nn

from fileio.atomic_files import atomic_write_bytes
from fileio.cache import cache_dir
from models.checkpoint import DEFAULT_WEIGHTS, CheckpointError, load_checkpoint, model_kind
from models.guided_filter import guided_upsample
from models.preprocess import model_input_size, prepare_input

# bf16 may differ from fp32 by this much in mask probability before the engine falls back to fp32.
BF16_TOLERANCE = 0.05


class PrecisionCache:
    """Remembers which numeric mode was fastest for a model on this CPU, so only the first start pays for timing."""

    def __init__(self, path: Path):
        self.path = path

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}  # missing or damaged: measure again

    def get(self, key: str) -> Optional[str]:
        return self._read().get(key)

    def put(self, key: str, precision: str) -> None:
        data = self._read()
        data[key] = precision
        try:
            atomic_write_bytes(self.path, json.dumps(data, indent=1, sort_keys=True).encode())
        except OSError:
            pass  # a read-only home only costs a re-measurement next time


def pick_device(requested: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU. 'cuda' without a GPU is a clear error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU; use --device cpu or auto")
    if requested not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {requested!r}; use auto, cpu or cuda")
    return torch.device(requested)


def cpu_supports_bf16() -> bool:
    check = getattr(torch.backends.cpu, "get_cpu_capability", None)
    return check is not None and check() in ("AVX512", "AVX512_BF16", "AMX") or bool(
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)())


class _Runner:
    """Holds one network on a device and runs it in the chosen numeric mode."""

    def __init__(self, model: nn.Module, device: torch.device, precision: str):
        self.device = device
        self.config = model.config
        self.model = model.to(device).eval()
        if device.type == "cpu":
            self.model = self.model.to(memory_format=torch.channels_last)
        self.precision = precision

    def autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        if self.precision == "fp16":
            return torch.autocast(self.device.type, dtype=torch.float16)
        return torch.autocast(self.device.type, enabled=False)

    def tensor(self, image_bgr: np.ndarray) -> torch.Tensor:
        """Resize, pad and normalise an image for this network (batch of one)."""
        batch = torch.from_numpy(prepare_input(image_bgr, self.config))[None].to(self.device)
        if self.device.type == "cpu":
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch


class Segmenter:
    def __init__(self, plate_model: Optional[nn.Module] = None, single_model: Optional[nn.Module] = None,
                 device: str = "auto", precision: str = "auto",
                 refine: bool = True):
        if plate_model is None and single_model is None:
            raise ValueError("Segmenter needs at least one model")
        self.device = pick_device(device).type
        self.refine = refine
        self._plate_runner = self._single_runner = None
        if plate_model is not None:
            self._plate_runner = _Runner(plate_model, torch.device(self.device), "fp32")
        if single_model is not None:
            self._single_runner = _Runner(single_model, torch.device(self.device), "fp32")
        self.precision = self._choose_precision(precision)
        for runner in self._runners():
            runner.precision = self.precision
        self._plate_key = None
        self._plate_features = None
        self.last_latency_ms = 0.0

    # ---- construction -------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Union[str, Path] = "default", device: str = "auto", **options) -> "Segmenter":
        """'default' loads both shipped models; a path loads that one checkpoint (plate or single)."""
        if str(path) == "default":
            missing = [str(p) for p in DEFAULT_WEIGHTS.values() if not p.is_file()]
            if missing:
                raise CheckpointError(
                    f"default weights missing: {', '.join(missing)}. Reproduce them with the training "
                    f"command in README.md, or pass a checkpoint path.")
            plate, _ = load_checkpoint(DEFAULT_WEIGHTS["plate"])
            single, _ = load_checkpoint(DEFAULT_WEIGHTS["single"])
            return cls(plate, single, device=device, **options)
        model, _ = load_checkpoint(path)
        if model_kind(model) == "plate":
            return cls(plate_model=model, device=device, **options)
        return cls(single_model=model, device=device, **options)

    def _runners(self):
        return [r for r in (self._plate_runner, self._single_runner) if r is not None]

    def _choose_precision(self, requested: str) -> str:
        if requested != "auto":
            return requested
        if self.device == "cuda":
            return "fp16"
        if not cpu_supports_bf16():
            return "fp32"
        cache = PrecisionCache(cache_dir() / "engine_precision.json")
        key = self._machine_and_model_key()
        cached = cache.get(key)
        if cached in ("fp32", "bf16"):
            return cached
        choice = "bf16" if self._bf16_wins() else "fp32"
        cache.put(key, choice)
        return choice

    def _machine_and_model_key(self) -> str:
        models = [f"{runner.model.ARCH}:{sorted(runner.model.config_dict().items())}" for runner in self._runners()]
        fingerprint = hashlib.sha1("|".join(models).encode()).hexdigest()[:12]
        return (f"torch={torch.__version__} cpu={torch.backends.cpu.get_cpu_capability()} "
                f"threads={torch.get_num_threads()} models={fingerprint}")

    def _bf16_wins(self) -> bool:
        """Times fp32 against bf16 on a 640x480 test card and keeps bf16 only if faster and close enough."""
        rng = np.random.default_rng(0)
        card = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (0, 0), 3)
        plate = card[::-1].copy()
        timings, masks = {"fp32": [], "bf16": []}, {}
        # Alternate the modes, so a burst of load from elsewhere slows both alike; the first round warms up.
        for round_number in range(6):
            for precision in ("fp32", "bf16"):
                for runner in self._runners():
                    runner.precision = precision
                self._plate_key = None
                start = time.perf_counter()
                masks[precision] = self._infer(card, plate if self._plate_runner else None)
                if round_number:
                    timings[precision].append(time.perf_counter() - start)
        self._plate_key = None
        error = float(np.abs(masks["fp32"] - masks["bf16"]).max())
        return min(timings["bf16"]) < 0.9 * min(timings["fp32"]) and error <= BF16_TOLERANCE

    # ---- inference ----------------------------------------------------------------------------------------
    @property
    def has_plate_model(self) -> bool:
        return self._plate_runner is not None

    @property
    def has_single_model(self) -> bool:
        return self._single_runner is not None

    def segment(self, frame_bgr: np.ndarray, plate_bgr: Optional[np.ndarray] = None) -> np.ndarray:
        """Float32 person mask in [0, 1] at the frame's size."""
        if frame_bgr is None or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
            raise ValueError(f"segment() needs an HxWx3 BGR frame, got shape {getattr(frame_bgr, 'shape', None)}")
        if plate_bgr is not None and plate_bgr.shape != frame_bgr.shape:
            raise ValueError(f"plate shape {plate_bgr.shape} differs from frame shape {frame_bgr.shape}; "
                             f"capture the plate with the same camera and resolution")
        start = time.perf_counter()
        mask = self._infer(frame_bgr, plate_bgr)
        self.last_latency_ms = (time.perf_counter() - start) * 1000.0
        return mask

    @torch.inference_mode()
    def _infer(self, frame_bgr: np.ndarray, plate_bgr: Optional[np.ndarray]) -> np.ndarray:
        if plate_bgr is not None and self._plate_runner is not None:
            runner = self._plate_runner
            with runner.autocast():
                frame_features = runner.model.encode(runner.tensor(frame_bgr))
                logits = runner.model.decode(frame_features, self._cached_plate_features(plate_bgr))
        elif self._single_runner is not None:
            runner = self._single_runner
            with runner.autocast():
                logits = runner.model(runner.tensor(frame_bgr))
        else:
            raise ValueError("this Segmenter holds only a plate model: pass plate_bgr, or load a single-frame model")
        return self._to_frame_mask(logits, runner, frame_bgr)

    def _cached_plate_features(self, plate_bgr: np.ndarray):
        # Cheap fingerprint: same buffer, shape and a strided sample of pixels.
        key = (plate_bgr.__array_interface__["data"][0], plate_bgr.shape,
               hash(plate_bgr[::37, ::41].tobytes()))
        if key != self._plate_key:
            runner = self._plate_runner
            self._plate_features = runner.model.encode(runner.tensor(plate_bgr))
            self._plate_key = key
        return self._plate_features

    def _to_frame_mask(self, logits: torch.Tensor, runner: _Runner, frame_bgr: np.ndarray) -> np.ndarray:
        height, width = frame_bgr.shape[:2]
        resized_h, resized_w, padded_h, padded_w = model_input_size(
            height, width, runner.config.input_long_side, runner.config.size_multiple)
        probability = torch.sigmoid(logits.float())[0, 0].cpu().numpy()
        # Logits may come at a fraction of the padded input size; crop away the padding at that scale.
        keep_h = max(1, round(probability.shape[0] * resized_h / padded_h))
        keep_w = max(1, round(probability.shape[1] * resized_w / padded_w))
        probability = np.ascontiguousarray(probability[:keep_h, :keep_w])
        if self.refine:
            guide = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)
            return guided_upsample(probability, guide)
        return cv2.resize(probability, (width, height), interpolation=cv2.INTER_LINEAR)
