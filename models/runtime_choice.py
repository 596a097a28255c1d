"""Which runtime and precision run a network fastest on this machine, measured once and remembered.

Each candidate (runtime, precision) that can run here segments the same test card as PyTorch fp32, interleaved
round by round, so a burst of load from elsewhere slows all of them alike, and each round starts one candidate
later, so none always runs in the wake of the same one; each is ranked by its lower-quartile time, which other
programs' load disturbs least. The fastest candidate whose mask stays within TOLERANCE of
PyTorch fp32 wins. The choice is kept in a JSON file in the cache folder, keyed by the CPU, the
thread count, the libraries' versions and a hash of the network's weights, so only the first start pays for it.
The measurement runs in a child process, so the runtimes that lose are never loaded into the app.
"""
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn

from fileio.atomic_files import atomic_write_bytes
from fileio.cache import cache_dir
from models.checkpoint import checkpoint_payload, load_checkpoint, model_kind
from models.cpu_features import cpu_name, has_bf16, isa_summary, onednn_isa_cap, torch_kernel_isa
from models.graph_export import model_fingerprint
from models.guided_filter import mask_at_frame_size
from models.preprocess import prepare_pixels
from models.runtimes import COMPILED_RUNTIMES, RUNTIMES, open_runtime, runtime_missing
from process_settings.allocator import keep_freed_memory

# Largest allowed difference in mask probability from PyTorch fp32, per precision.
TOLERANCE = {"fp32": 1e-3, "bf16": 0.05, "fp16": 0.05}
ROUNDS = 30  # timed rounds; one untimed warm-up round comes first
CACHE_FILE = "engine_choice.json"
CHILD_TIMEOUT_S = 600
MEASUREMENT = 2  # part of the cache key: choices from an older measurement are measured again
CHILD_COMMAND = "import sys; from models.runtime_choice import _measure_for_parent; sys.exit(_measure_for_parent())"

Candidate = Tuple[str, str]  # (runtime, precision)


class ChoiceCache:
    """A small JSON map in the cache folder; a damaged or unwritable file only costs a new measurement."""

    def __init__(self, path: Optional[Path] = None):
        self.path = path or cache_dir() / CACHE_FILE

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def get(self, key: str) -> Optional[Candidate]:
        value = self._read().get(key)
        if isinstance(value, list) and len(value) == 2 and value[0] in RUNTIMES and value[1] in TOLERANCE:
            return value[0], value[1]
        return None

    def put(self, key: str, choice: Candidate) -> None:
        data = self._read()
        data[key] = list(choice)
        try:
            atomic_write_bytes(self.path, json.dumps(data, indent=1, sort_keys=True).encode())
        except OSError:
            pass


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def candidates(device: torch.device, runtime: str = "auto", precision: str = "auto") -> List[Candidate]:
    """Every (runtime, precision) worth trying for these requests; ValueError when a request cannot run here."""
    if runtime != "auto":
        missing = runtime_missing(runtime)
        if missing:
            raise ValueError(missing)
        if runtime != "torch" and device.type != "cpu":
            raise ValueError(f"runtime {runtime!r} runs on the CPU only; use runtime 'torch' or 'auto' on "
                             f"{device.type}")
    if precision not in ("auto", *TOLERANCE):
        raise ValueError(f"unknown precision {precision!r}; use auto, fp32, bf16 or fp16")
    if device.type == "cuda":
        options = [("torch", "fp16"), ("torch", "fp32"), ("torch", "bf16")]
    else:
        options = [("torch", "fp32")] + [(name, "fp32") for name in COMPILED_RUNTIMES if not runtime_missing(name)]
        if has_bf16() or (onednn_isa_cap() is None and torch_kernel_isa() in ("AVX512", "AVX512_BF16", "AMX")):
            options += [("torch", "bf16")] + ([("openvino", "bf16")] if not runtime_missing("openvino") else [])
    chosen = [(r, p) for r, p in options if runtime in ("auto", r) and precision in ("auto", p)]
    if not chosen and precision != "auto":
        chosen = [(runtime if runtime != "auto" else "torch", precision)]  # asked for: let the runtime say no
    if device.type == "cuda" and precision == "auto":
        chosen = chosen[:1]  # fp16 on a GPU, as before: no measurement
    return chosen


def choice_key(fingerprint: str, options: List[Candidate], threads: int) -> str:
    versions = " ".join(f"{name}={_version(name)}" for name in ("torch", "openvino", "onnxruntime"))
    tried = ",".join(f"{r}:{p}" for r, p in options)
    return (f"cpu={cpu_name()} isa={isa_summary()} torch_isa={torch_kernel_isa()} threads={threads} {versions} "
            f"model={fingerprint} candidates={tried} measurement={MEASUREMENT}")


def test_card(size: Tuple[int, int] = (480, 640)) -> Tuple[np.ndarray, np.ndarray]:
    """(frame, plate): a blurred noise texture and the same texture with a person-sized blob, as a camera might
    see them; no data file needed."""
    rng = np.random.default_rng(0)
    plate = cv2.GaussianBlur(rng.integers(0, 256, (*size, 3), dtype=np.uint8), (0, 0), 3)
    frame = plate.copy()
    height, width = size
    cv2.ellipse(frame, (width // 2, height // 2 + height // 10), (width // 6, height * 2 // 5), 0, 0, 360,
                (60, 90, 160), -1)
    return frame, plate


def segment_test_card(runtime, network_config, kind: str, frame: np.ndarray, plate: np.ndarray,
                      plates: dict) -> np.ndarray:
    """The full-size mask of frame through runtime, as the engine makes it; plates caches plate features per
    runtime, as the live app does."""
    if kind != "plate":
        return mask_at_frame_size(runtime.predict(prepare_pixels(frame, network_config)), network_config, frame)
    if runtime not in plates:
        plates[runtime] = runtime.encode(prepare_pixels(plate, network_config))
    probability = runtime.segment_frame(prepare_pixels(frame, network_config), plates[runtime])
    return mask_at_frame_size(probability, network_config, frame)


def measure(opened: Dict[Candidate, object], network_config, kind: str,
            rounds: int = ROUNDS) -> Tuple[Dict[Candidate, float], Dict[Candidate, float]]:
    """(lower-quartile seconds, largest difference from torch fp32) of each opened candidate, timed round by
    round on the test card."""
    frame, plate = test_card()
    timings = {candidate: [] for candidate in opened}
    masks, plates = {}, {}
    order = list(opened.items())
    for round_number in range(rounds + 1):
        # Each round starts one candidate later: a runtime's worker threads stay busy for a moment after its
        # call (PyTorch's most of all) and slow whatever runs next, so no candidate may always follow the same one.
        shift = round_number % len(order)
        for candidate, runtime in order[shift:] + order[:shift]:
            start = time.perf_counter()
            masks[candidate] = segment_test_card(runtime, network_config, kind, frame, plate, plates)
            if round_number:
                timings[candidate].append(time.perf_counter() - start)
    reference = masks.get(("torch", "fp32"))
    errors = {candidate: float(np.abs(mask - reference).max()) if reference is not None else 0.0
              for candidate, mask in masks.items()}
    return {candidate: float(np.percentile(times, 25)) for candidate, times in timings.items()}, errors


def fastest_within_tolerance(options: List[Candidate], seconds: Dict[Candidate, float],
                             errors: Dict[Candidate, float]) -> Candidate:
    """The quickest measured option whose mask agrees with PyTorch fp32; PyTorch fp32 when none does."""
    eligible = [c for c in options if c in seconds and errors.get(c, float("inf")) <= TOLERANCE[c[1]]]
    return min(eligible, key=seconds.get) if eligible else ("torch", "fp32")


def measure_choice(network: nn.Module, device: torch.device, options: List[Candidate], threads: int) -> Candidate:
    """Opens every option (and PyTorch fp32, the reference), measures them and returns the winner."""
    torch_fp32 = ("torch", "fp32")
    kind = model_kind(network)
    frame, plate = test_card()
    opened = {}
    for candidate in options if torch_fp32 in options else [torch_fp32, *options]:
        # A runtime that cannot load or run this network here simply drops out. OpenVINO compiles on the first
        # call, so one test-card mask is part of the check (bf16 cannot compile under ONEDNN_MAX_CPU_ISA=AVX2).
        try:
            runtime = open_runtime(candidate[0], network, device, candidate[1], threads)
            segment_test_card(runtime, network.config, kind, frame, plate, {})
        except Exception:
            if candidate == torch_fp32:
                raise
            continue
        opened[candidate] = runtime
    seconds, errors = measure(opened, network.config, kind)
    return fastest_within_tolerance(options, seconds, errors)


def measure_choice_apart(network: nn.Module, device: torch.device, options: List[Candidate],
                         threads: int) -> Candidate:
    """measure_choice in a fresh Python process, so the runtimes that lose are never loaded into this one;
    measured here when no child process can run."""
    package_root = str(Path(__file__).resolve().parents[1])
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root,
                                                                            os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory(prefix="backplate-measure-") as folder:
        network_file = Path(folder) / "network.pt"
        torch.save(checkpoint_payload(network), network_file)
        request = {"network": str(network_file), "device": str(device), "options": options, "threads": threads}
        try:
            child = subprocess.run([sys.executable, "-c", CHILD_COMMAND], input=json.dumps(request),
                                   capture_output=True, text=True, env=environment, timeout=CHILD_TIMEOUT_S)
            choice = tuple(json.loads(child.stdout.strip().splitlines()[-1]))
            if child.returncode == 0 and choice in [tuple(option) for option in options]:
                return choice
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            pass
    return measure_choice(network, device, options, threads)


def _measure_for_parent() -> int:
    """The child's side of measure_choice_apart: a JSON request on stdin, the choice as JSON on stdout."""
    request = json.loads(sys.stdin.read())
    # A process of its own: set up as the app's entry point set up the parent.
    keep_freed_memory()
    torch.set_num_threads(request["threads"])
    network, _ = load_checkpoint(request["network"])
    options = [tuple(option) for option in request["options"]]
    print(json.dumps(measure_choice(network, torch.device(request["device"]), options, request["threads"])))
    return 0


def choose_runtime(network: nn.Module, device: torch.device, runtime: str, precision: str, threads: int):
    """(runtime object, (runtime name, precision)) for this network: the only candidate, the cached choice, or
    the measured fastest within tolerance (measured in a child process, then cached)."""
    options = candidates(device, runtime, precision)
    choice = options[0] if len(options) == 1 else None
    if choice is None:
        cache = ChoiceCache()
        key = choice_key(model_fingerprint(network), options, threads)
        choice = cache.get(key)
        if choice not in options:
            choice = measure_choice_apart(network, device, options, threads)
            cache.put(key, choice)
    return open_runtime(choice[0], network, device, choice[1], threads), choice
