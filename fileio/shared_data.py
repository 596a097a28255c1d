"""Finds the real data folder that lives beside the checkout (never inside it)."""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class SharedDataMissing(FileNotFoundError):
    pass


def shared_root() -> Path:
    """$BACKPLATE_SHARED when set, else ../shared beside the repo root."""
    env = os.environ.get("BACKPLATE_SHARED")
    return Path(env) if env else REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under the shared data folder; raises SharedDataMissing with a fix when absent."""
    path = shared_root().joinpath(*parts)
    if not path.exists():
        raise SharedDataMissing(
            f"shared data not found: {path}. Put the Backplate shared data folder beside the "
            f"checkout (../shared) or point BACKPLATE_SHARED at it."
        )
    return path
