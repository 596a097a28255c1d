"""PoseNet (MobileNetV1, TF.js weights) in PyTorch: network, decoding, weights lookup. No Qt, no app imports."""
from .decode import KEYPOINT_INDEX, KEYPOINT_NAMES, POSE_EDGES, Pose, decode_multiple_poses
from .estimator import PoseNet, input_size_for, preprocess, valid_size
from .mobilenet import MobileNetPoseNet, build_from_state_dict
from .weights import PoseNetWeightsError, candidate_paths, find_weights, load_network, require_weights

__all__ = [
    "KEYPOINT_INDEX", "KEYPOINT_NAMES", "POSE_EDGES", "Pose", "decode_multiple_poses",
    "PoseNet", "input_size_for", "preprocess", "valid_size", "MobileNetPoseNet", "build_from_state_dict",
    "PoseNetWeightsError", "candidate_paths", "find_weights", "load_network", "require_weights",
]
