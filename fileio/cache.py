"""Where Backplate keeps what it measured or converted on this machine."""
import os
from pathlib import Path


def cache_dir() -> Path:
    """$BACKPLATE_CACHE_DIR when set, else $XDG_CACHE_HOME/backplate, else ~/.cache/backplate."""
    explicit = os.environ.get("BACKPLATE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "backplate"
