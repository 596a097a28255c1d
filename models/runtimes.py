"""The inference runtimes behind the engine: PyTorch (training's own, and CUDA), OpenVINO and ONNX Runtime.

Each runs the graphs of models.engine_graphs for one network, and offers the same three calls:
    encode(pixels) -> features                              plate model: the plate's features, computed once
    segment_frame(pixels, plate_features) -> probability    plate model: one frame against those features
    predict(pixels) -> probability                          single-frame model
pixels is one H x W x C uint8 image from models.preprocess.prepare_pixels; probability is the float32 mask, padding
included, at 1/output_stride of the input. Features are opaque to the caller, and stay valid after later calls.

Thread counts are per runtime (OpenVINO's and ONNX Runtime's own settings), never process-wide.
"""
import importlib.util
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

from models.engine_graphs import build_graphs, graph_io_names

RUNTIMES = ("torch", "openvino", "onnxruntime")
COMPILED_RUNTIMES = ("openvino", "onnxruntime")
PRECISIONS = ("fp32", "bf16", "fp16")
_MODULES = {"openvino": "openvino", "onnxruntime": "onnxruntime"}


def runtime_missing(name: str) -> Optional[str]:
    """None when the runtime can be used here, else why not (for messages)."""
    if name not in RUNTIMES:
        return f"unknown runtime {name!r}; use one of {', '.join(RUNTIMES)}"
    module = _MODULES.get(name)
    if module and importlib.util.find_spec(module) is None:
        return f"runtime {name!r} is not installed (pip install -r requirements.txt)"
    return None


class TorchRuntime:
    """Eager PyTorch on CPU (fp32 or bf16 autocast) or CUDA (fp16 autocast)."""
    name = "torch"

    def __init__(self, network: nn.Module, device: torch.device, precision: str = "fp32"):
        self.device = device
        self.precision = precision
        self.graphs = build_graphs(network)
        for name, graph in self.graphs.items():
            graph = graph.to(device)
            self.graphs[name] = graph.to(memory_format=torch.channels_last) if device.type == "cpu" else graph

    def _autocast(self):
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def _pixels(self, pixels: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(pixels)[None].to(self.device, non_blocking=True)

    @staticmethod
    def _probability(output: torch.Tensor) -> np.ndarray:
        return output[0, 0].float().cpu().numpy()

    @torch.inference_mode()
    def encode(self, pixels: np.ndarray):
        with self._autocast():
            return self.graphs["encoder"](self._pixels(pixels))

    @torch.inference_mode()
    def segment_frame(self, pixels: np.ndarray, plate_features) -> np.ndarray:
        with self._autocast():
            return self._probability(self.graphs["frame"](self._pixels(pixels), *plate_features))

    @torch.inference_mode()
    def predict(self, pixels: np.ndarray) -> np.ndarray:
        with self._autocast():
            return self._probability(self.graphs["single"](self._pixels(pixels)))


class OpenVinoRuntime:
    """OpenVINO on the CPU, LATENCY hint, compiled for each input size it meets (static shapes)."""
    name = "openvino"

    def __init__(self, network: nn.Module, threads: int, precision: str = "fp32"):
        import openvino as ov
        from models.graph_export import export_graphs
        self.precision = precision
        self._core = ov.Core()
        self._paths = export_graphs(network)
        self._config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": int(threads),
                        "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                        # Other threads of the app (capture, palms, display) share the cores: let the OS move ours.
                        "ENABLE_CPU_PINNING": False}
        # (graph name, *input shapes) -> (compiled model, its one infer request); the model is kept with its request.
        self._compiled: Dict[tuple, tuple] = {}

    def _request(self, name: str, shapes: List[tuple]):
        """The infer request for this graph and input shapes, compiled on first use."""
        key = (name, *shapes)
        if key not in self._compiled:
            model = self._core.read_model(self._paths[name])
            model.reshape({port.any_name: list(shape) for port, shape in zip(model.inputs, shapes)})
            compiled = self._core.compile_model(model, "CPU", self._config)
            if len(self._compiled) >= 8:  # a camera changes size rarely; don't hoard compiled models
                self._compiled.clear()
            self._compiled[key] = (compiled, compiled.create_infer_request())
        return self._compiled[key][1]

    def encode(self, pixels: np.ndarray):
        batch = pixels[None]
        # Copied out (share_outputs=False): the features must outlive the request's next run.
        outputs = self._request("encoder", [batch.shape]).infer([batch], share_inputs=True, share_outputs=False)
        return [outputs[index] for index in range(len(outputs))]

    def segment_frame(self, pixels: np.ndarray, plate_features) -> np.ndarray:
        inputs = [pixels[None], *plate_features]
        request = self._request("frame", [array.shape for array in inputs])
        return request.infer(inputs, share_inputs=True, share_outputs=False)[0][0, 0]

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        batch = pixels[None]
        return self._request("single", [batch.shape]).infer([batch], share_inputs=True, share_outputs=False)[0][0, 0]


def onnxruntime_cpu_session(path, threads: int):
    """An ONNX Runtime CPU session for a graph file, with this many threads and no spinning between runs."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning idle threads would take the CPU from the app's other threads between frames.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxRuntimeRuntime:
    """ONNX Runtime's CPU provider (its shapes stay dynamic)."""
    name = "onnxruntime"

    def __init__(self, network: nn.Module, threads: int, precision: str = "fp32"):
        from models.graph_export import export_graphs
        if precision != "fp32":
            raise ValueError(f"runtime 'onnxruntime' runs fp32 only, not {precision}")
        self.precision = precision
        self._sessions = {name: onnxruntime_cpu_session(path, threads) for name, path in export_graphs(network).items()}
        self._frame_inputs = graph_io_names("frame", network)[0] if "frame" in self._sessions else []

    def encode(self, pixels: np.ndarray):
        return self._sessions["encoder"].run(None, {"pixels": pixels[None]})

    def segment_frame(self, pixels: np.ndarray, plate_features) -> np.ndarray:
        inputs = dict(zip(self._frame_inputs, [pixels[None], *plate_features]))
        return self._sessions["frame"].run(None, inputs)[0][0, 0]

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        return self._sessions["single"].run(None, {"pixels": pixels[None]})[0][0, 0]


def open_runtime(name: str, network: nn.Module, device: torch.device, precision: str, threads: int):
    """A runtime for one network; ValueError (with the reason) when it cannot run here."""
    missing = runtime_missing(name)
    if missing:
        raise ValueError(missing)
    if name == "torch":
        return TorchRuntime(network, device, precision)
    if device.type != "cpu":
        raise ValueError(f"runtime {name!r} runs on the CPU only; use runtime 'torch' on {device.type}")
    if name == "openvino":
        return OpenVinoRuntime(network, threads, precision)
    return OnnxRuntimeRuntime(network, threads, precision)
