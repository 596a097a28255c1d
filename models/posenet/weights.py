"""Where PoseNet weights live and how they are loaded (never downloaded here: see models.posenet.fetch)."""
import os
from pathlib import Path
from typing import Dict, List, Optional

import torch

from fileio.cache import cache_dir

from .mobilenet import MobileNetPoseNet, build_from_state_dict

# Shipped with the project (Apache-2.0, see the .LICENSE.txt beside it), so palms work offline from the start.
SHIPPED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "posenet_mobilenet_v1_050.pth"
# Names the fetcher writes, fastest network first: the lookup prefers the cheapest one present.
CACHED_NAMES = ("posenet_mobilenet_v1_050.pth", "posenet_mobilenet_v1_075.pth",
                "posenet_mobilenet_v1_100.pth", "posenet_mobilenet_v1_101.pth")
ENV_VAR = "BACKPLATE_POSENET_WEIGHTS"


class PoseNetWeightsError(Exception):
    """A weights file that cannot be used; str(exc) names the file and the fix."""


def candidate_paths(explicit: Optional[str] = None) -> List[Path]:
    """Lookup order: the explicit path (--posenet-weights), then $BACKPLATE_POSENET_WEIGHTS, then the shipped
    file, then the fetcher's cache files (0.50 first)."""
    paths = []
    if explicit:
        paths.append(Path(explicit).expanduser())
    if os.environ.get(ENV_VAR):
        paths.append(Path(os.environ[ENV_VAR]).expanduser())
    paths.append(SHIPPED_WEIGHTS)
    paths.extend(cache_dir() / name for name in CACHED_NAMES)
    return paths


def find_weights(explicit: Optional[str] = None) -> Optional[Path]:
    """The first existing weights file in lookup order, or None. An explicit path that does not exist
    is an error (the user asked for it), not a silent fallback."""
    if explicit and not Path(explicit).expanduser().is_file():
        raise PoseNetWeightsError(
            f"PoseNet weights not found: {explicit}. Give the path of a converted .pth file, "
            f"or run `python -m models.posenet.fetch` to download and convert the official ones.")
    for path in candidate_paths(explicit):
        if path.is_file():
            return path
    return None


def require_weights(explicit: Optional[str] = None,
                    fix: str = "restore the shipped models/weights/posenet_mobilenet_v1_050.pth, set "
                               "$BACKPLATE_POSENET_WEIGHTS or run python -m models.posenet.fetch") -> Path:
    """find_weights, where finding none is a PoseNetWeightsError that names the places looked in and `fix`."""
    path = find_weights(explicit)
    if path is None:
        looked = ", ".join(str(p) for p in candidate_paths(explicit))
        raise PoseNetWeightsError(f"no PoseNet weights found (looked in: {looked}); {fix}")
    return path


def load_network(path, device: str = "cpu") -> MobileNetPoseNet:
    """Loads a converted state dict strictly into a network of matching shape."""
    path = Path(path)
    try:
        state: Dict[str, torch.Tensor] = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise PoseNetWeightsError(f"PoseNet weights not found: {path}") from None
    except Exception as exc:  # corrupt file, pickle with code, wrong format
        raise PoseNetWeightsError(
            f"cannot read PoseNet weights {path}: {exc}. Re-create it with `python -m models.posenet.fetch`."
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise PoseNetWeightsError(f"{path} is not a PoseNet state dict (found {type(state).__name__})")
    try:
        model = build_from_state_dict(state)
    except (ValueError, RuntimeError) as exc:
        raise PoseNetWeightsError(f"{path} does not fit PoseNet MobileNetV1: {exc}") from None
    return model.to(device)
