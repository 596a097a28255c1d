import os

# Qt widgets must run without a display, in CI and here.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The engine caches per-machine measurements; keep the user's cache out of test runs.
import tempfile
os.environ["BACKPLATE_CACHE_DIR"] = tempfile.mkdtemp(prefix="backplate-test-cache-")

import pytest

from fileio.shared_data import SharedDataMissing, shared_path


@pytest.fixture(scope="session")
def shared():
    """Returns a function shared('data', 'webcam_sets') -> Path that fails the test clearly when data is missing."""
    def locate(*parts):
        try:
            return shared_path(*parts)
        except SharedDataMissing as exc:
            pytest.fail(str(exc), pytrace=False)
    return locate
