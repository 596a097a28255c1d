"""Backplate live app. Run `python main.py --help` for the flags."""
import os
import sys

# The models run on worker threads beside the UI thread; idle OpenMP threads that spin would steal a core.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from app.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
