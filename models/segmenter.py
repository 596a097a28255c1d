"""The inference engine: one API for the app, the annotation assist and the benchmarks.

    seg = Segmenter.load("default")          # both shipped models
    mask = seg.segment(frame_bgr)            # single-frame model
    mask = seg.segment(frame_bgr, plate_bgr) # plate model; the plate's features are cached
    seg = Segmenter.load("default", person_gate=True)  # single-frame masks kept only where PoseNet sees a person

Each network runs on the runtime (PyTorch, OpenVINO, ONNX Runtime) and precision that models.runtime_choice
measured fastest on this machine within tolerance of PyTorch fp32; runtime= and precision= can fix either.
"""
import copy
import time
from pathlib import Path
from typing import Dict, Optional, Union

import numpy as np
import torch
import torch.nn as nn

from models.checkpoint import DEFAULT_WEIGHTS, CheckpointError, load_checkpoint, model_kind
from models.guided_filter import upsample_to_frame, without_padding
from models.person_gate import PersonGate
from models.posenet import PoseNetWeightsError
from models.preprocess import prepare_pixels
from models.runtime_choice import choose_runtime


def load_person_gate(wanted: bool = True) -> Optional[PersonGate]:
    """The PoseNet person gate from the shipped weights, or None when not wanted; missing or unreadable PoseNet
    weights raise CheckpointError, as missing model weights do."""
    if not wanted:
        return None
    try:
        return PersonGate.load()
    except PoseNetWeightsError as exc:
        raise CheckpointError(str(exc)) from None


def _check_gate(person_gate: Optional[PersonGate], has_single_model: bool) -> None:
    if person_gate is not None and not has_single_model:
        raise ValueError("a person gate checks the single-frame model's masks; this Segmenter has none")


def pick_device(requested: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU. 'cuda' without a GPU is a clear error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU; use --device cpu or auto")
    if requested not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {requested!r}; use auto, cpu or cuda")
    return torch.device(requested)


class _Engine:
    """One network on its runtime."""

    def __init__(self, network: nn.Module, device: torch.device, runtime: str, precision: str, threads: int):
        self.kind = model_kind(network)
        self.config = network.config
        self.runtime, (self.runtime_name, self.precision) = choose_runtime(network, device, runtime, precision,
                                                                           threads)

    def describe(self) -> str:
        return f"{self.runtime_name} {self.precision}"


class Segmenter:
    def __init__(self, plate_model: Optional[nn.Module] = None, single_model: Optional[nn.Module] = None,
                 device: str = "auto", precision: str = "auto", runtime: str = "auto",
                 person_gate: Optional[PersonGate] = None):
        """runtime: 'auto' (measured), 'torch', 'openvino' or 'onnxruntime'. precision: 'auto' (measured), 'fp32',
        'bf16' or 'fp16'. The compiled runtimes use as many threads as torch.get_num_threads().
        person_gate: clears the single-frame model's mask components that PoseNet sees no body part in (see
        models.person_gate); the plate model's masks never go through it."""
        if plate_model is None and single_model is None:
            raise ValueError("Segmenter needs at least one model")
        _check_gate(person_gate, single_model is not None)
        self.person_gate = person_gate
        torch_device = pick_device(device)
        self.device = torch_device.type
        threads = torch.get_num_threads()
        self._engines: Dict[str, _Engine] = {}
        for kind, network in (("plate", plate_model), ("single", single_model)):
            if network is not None:
                self._engines[kind] = _Engine(network, torch_device, runtime, precision, threads)
        self._plate_key = None
        self._plate_features = None
        self.last_latency_ms = 0.0
        self.last_model = ""  # which model the last segment() ran: "plate" or "single"

    def with_person_gate(self, person_gate: Optional[PersonGate]) -> "Segmenter":
        """This Segmenter's engines (nothing loaded or compiled again) behind another person gate, or none."""
        _check_gate(person_gate, self.has_single_model)
        twin = copy.copy(self)
        twin.person_gate = person_gate
        return twin

    @classmethod
    def load(cls, path: Union[str, Path] = "default", device: str = "auto", person_gate: bool = False,
             **options) -> "Segmenter":
        """'default' loads both shipped models; a path loads that one checkpoint (plate or single).
        person_gate=True puts the PoseNet person gate behind the single-frame model (ignored for a plate model)."""
        if str(path) == "default":
            missing = [str(p) for p in DEFAULT_WEIGHTS.values() if not p.is_file()]
            if missing:
                raise CheckpointError(
                    f"default weights missing: {', '.join(missing)}. Reproduce them with the training "
                    f"command in README.md, or pass a checkpoint path.")
            plate, _ = load_checkpoint(DEFAULT_WEIGHTS["plate"])
            single, _ = load_checkpoint(DEFAULT_WEIGHTS["single"])
            return cls(plate, single, device=device, person_gate=load_person_gate(person_gate), **options)
        model, _ = load_checkpoint(path)
        if model_kind(model) == "plate":
            return cls(plate_model=model, device=device, **options)
        return cls(single_model=model, device=device, person_gate=load_person_gate(person_gate), **options)

    # ---- what runs ----------------------------------------------------------------------------------------
    @property
    def has_plate_model(self) -> bool:
        return "plate" in self._engines

    @property
    def has_single_model(self) -> bool:
        return "single" in self._engines

    def _summary(self, field: str) -> str:
        values = {kind: getattr(engine, field) for kind, engine in self._engines.items()}
        if len(set(values.values())) == 1:
            return next(iter(values.values()))
        return ", ".join(f"{kind} {value}" for kind, value in values.items())

    @property
    def precision(self) -> str:
        """'fp32', 'bf16' or 'fp16'; 'plate X, single Y' when the two models differ."""
        return self._summary("precision")

    @property
    def runtime(self) -> str:
        """'torch', 'openvino' or 'onnxruntime'; 'plate X, single Y' when the two models differ."""
        return self._summary("runtime_name")

    def describe(self) -> str:
        """E.g. 'plate: openvino fp32, single: openvino fp32 on cpu'."""
        gate = f" + {self.person_gate.describe()}" if self.person_gate is not None else ""
        return ", ".join(f"{kind}: {engine.describe()}" for kind, engine in self._engines.items()) + \
            f" on {self.device}" + gate

    # ---- inference ----------------------------------------------------------------------------------------
    def segment(self, frame_bgr: np.ndarray, plate_bgr: Optional[np.ndarray] = None,
                mask_long_side: Optional[int] = None) -> np.ndarray:
        """Float32 person mask in [0, 1] at the frame's size; with mask_long_side, at most that long side (same
        aspect): for a display that scales it up anyway, this saves the guided filter's full-size work."""
        if frame_bgr is None or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
            raise ValueError(f"segment() needs an HxWx3 BGR frame, got shape {getattr(frame_bgr, 'shape', None)}")
        if plate_bgr is not None and plate_bgr.shape != frame_bgr.shape:
            raise ValueError(f"plate shape {plate_bgr.shape} differs from frame shape {frame_bgr.shape}; "
                             f"capture the plate with the same camera and resolution")
        start = time.perf_counter()
        if plate_bgr is not None and self.has_plate_model:
            engine = self._engines["plate"]
            self.last_model = "plate"
            probability = engine.runtime.segment_frame(prepare_pixels(frame_bgr, engine.config),
                                                       self._cached_plate_features(engine, plate_bgr))
        elif self.has_single_model:
            engine = self._engines["single"]
            self.last_model = "single"
            probability = engine.runtime.predict(prepare_pixels(frame_bgr, engine.config))
        else:
            raise ValueError("this Segmenter holds only a plate model: pass plate_bgr, or load a single-frame model")
        probability = without_padding(probability, engine.config, frame_bgr.shape)
        if self.last_model == "single" and self.person_gate is not None:
            # At the network's scale, before upsampling: the components are cheap to find there, and the
            # upsampling then leaves no fringe where one was cleared.
            probability = self.person_gate.apply(frame_bgr, probability)
        mask = upsample_to_frame(probability, frame_bgr, mask_long_side)
        self.last_latency_ms = (time.perf_counter() - start) * 1000.0
        return mask

    def _cached_plate_features(self, engine: _Engine, plate_bgr: np.ndarray):
        # Cheap fingerprint: same buffer, shape and a strided sample of pixels.
        key = (plate_bgr.__array_interface__["data"][0], plate_bgr.shape, hash(plate_bgr[::37, ::41].tobytes()))
        if key != self._plate_key:
            self._plate_features = engine.runtime.encode(prepare_pixels(plate_bgr, engine.config))
            self._plate_key = key
        return self._plate_features
