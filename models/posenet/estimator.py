"""PoseNet on a BGR frame: preprocessing, network, decoding, and mapping back to frame pixels."""
import time
from typing import List, Tuple

import cv2
import numpy as np
import torch

from models.preprocess import resize_by_halving

from .decode import Pose, decode_multiple_poses, scale_poses
from .mobilenet import OUTPUT_STRIDE, MobileNetPoseNet
from .weights import load_network


def valid_size(pixels: float) -> int:
    """Nearest network input size of the form 16k + 1 (at least 33): the size the TF.js weights
    were trained at, and the one for which strided 'same' padding lines cells up with pixels."""
    k = max(2, int(round((pixels - 1) / OUTPUT_STRIDE)))
    return k * OUTPUT_STRIDE + 1


def input_size_for(frame_w: int, frame_h: int, long_side: int) -> Tuple[int, int]:
    """(width, height) for the network keeping the frame's aspect ratio, long side ~ long_side."""
    scale = long_side / max(frame_w, frame_h)
    return valid_size(frame_w * scale), valid_size(frame_h * scale)


def preprocess(frame_bgr: np.ndarray, size: Tuple[int, int]) -> torch.Tensor:
    """BGR uint8 -> 1 x 3 x H x W RGB in [-1, 1] (TF.js MobileNet PoseNet's input)."""
    if frame_bgr is None or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        raise ValueError(f"PoseNet needs an H x W x 3 BGR image, got shape "
                         f"{None if frame_bgr is None else frame_bgr.shape}")
    if size[0] < frame_bgr.shape[1]:
        resized = resize_by_halving(frame_bgr, *size)  # an area resize at any factor costs far more at 1080p
    else:
        resized = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_LINEAR)
    rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB).astype(np.float32)
    rgb = rgb * (1.0 / 127.5) - 1.0
    return torch.from_numpy(rgb.transpose(2, 0, 1).copy()).unsqueeze(0)


RUNTIMES = ("auto", "torch", "onnxruntime")


class PoseNet:
    """Finds people in frames. long_side: network input's long side in pixels (speed vs. range). runtime: 'auto'
    runs the network in ONNX Runtime on a CPU when it is installed (several times faster than eager PyTorch there),
    else in PyTorch; 'torch' or 'onnxruntime' fixes it."""

    def __init__(self, network: MobileNetPoseNet, long_side: int = 257, device: str = "cpu", runtime: str = "auto"):
        if runtime not in RUNTIMES:
            raise ValueError(f"PoseNet runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
        self.network = network.eval().to(device)
        self.long_side = long_side
        self.device = device
        self.last_network_ms = 0.0
        self.last_decode_ms = 0.0
        self._compiled = None
        if runtime != "torch" and str(device) == "cpu":
            try:
                from .compiled import OnnxPoseNetwork
                self._compiled = OnnxPoseNetwork(self.network, torch.get_num_threads())
            except ImportError:
                if runtime == "onnxruntime":
                    raise
        elif runtime == "onnxruntime":
            raise ValueError(f"PoseNet runs in ONNX Runtime on the CPU only, not on {device}")
        self.runtime = "onnxruntime" if self._compiled is not None else "torch"

    @classmethod
    def load(cls, path, long_side: int = 257, device: str = "cpu", runtime: str = "auto") -> "PoseNet":
        return cls(load_network(path, device), long_side, device, runtime)

    def maps(self, frame_bgr: np.ndarray) -> Tuple[List[np.ndarray], Tuple[int, int]]:
        """Raw output maps (heatmaps, offsets, fwd, bwd) as numpy arrays, and the input size used."""
        h, w = frame_bgr.shape[:2]
        size = input_size_for(w, h, self.long_side)
        start = time.perf_counter()
        image = preprocess(frame_bgr, size)
        if self._compiled is not None:
            maps = [output[0] for output in self._compiled(image.numpy())]
        else:
            with torch.inference_mode():
                outputs = self.network(image.to(self.device))
            maps = [o[0].float().cpu().numpy() for o in outputs]
        self.last_network_ms = (time.perf_counter() - start) * 1000
        return maps, size

    def estimate(self, frame_bgr: np.ndarray, max_poses: int = 5, part_score_threshold: float = 0.5,
                 nms_radius: float = 20.0, min_pose_score: float = 0.15) -> List[Pose]:
        """People in the frame, best first, keypoints in frame pixels. nms_radius is in network pixels."""
        (heatmaps, offsets, fwd, bwd), size = self.maps(frame_bgr)
        start = time.perf_counter()
        poses = decode_multiple_poses(heatmaps, offsets, fwd, bwd, OUTPUT_STRIDE, max_poses,
                                      part_score_threshold, nms_radius, min_pose_score)
        result = scale_poses(poses, frame_bgr.shape[1] / size[0], frame_bgr.shape[0] / size[1])
        self.last_decode_ms = (time.perf_counter() - start) * 1000
        return result
