import os

# Qt widgets must run without a display, in CI and here.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from models.shared_data import SharedDataMissing, shared_path


@pytest.fixture(scope="session")
def shared():
    """Returns a function shared('data', 'webcam_sets') -> Path that fails the test clearly when data is missing."""
    def locate(*parts):
        try:
            return shared_path(*parts)
        except SharedDataMissing as exc:
            pytest.fail(str(exc), pytrace=False)
    return locate
