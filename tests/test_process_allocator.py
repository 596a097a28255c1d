"""Freed frame buffers stay in the process, so the next frame does not fault its memory in again."""
import subprocess
import sys

import pytest

from fileio.shared_data import REPO_ROOT

# Segments one real frame repeatedly and prints the page faults of 10 frames after warm-up.
# glibc moves its default thresholds as blocks are freed, so how often an unpinned process faults depends on how its
# threads interleave (from 400 to 18,000 per 10 frames on a loaded machine). The baseline therefore pins glibc's
# documented starting values (128 KiB each), which is what a process gets before that drift.
FAULT_COUNTER = """
import resource, sys, cv2
from process_settings import configure_process
from process_settings.allocator import set_malloc_thresholds
from models.segmenter import Segmenter
configure_process(threads=2, keep_memory=sys.argv[1] != "default")
if sys.argv[1] == "default":
    assert set_malloc_thresholds(128 << 10, 128 << 10)
engine = Segmenter.load("models/weights/single.pt", precision="fp32", runtime="torch")  # glibc-allocated
frame = cv2.imread(sys.argv[2])
for _ in range(3):
    engine.segment(frame)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    engine.segment(frame)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_the_engine_stops_faulting_in_memory_every_frame(shared):
    frame = str(shared("data", "webcam_sets", "set1", "0.png"))

    def page_faults(mode: str) -> int:
        result = subprocess.run([sys.executable, "-c", FAULT_COUNTER, mode, frame], cwd=REPO_ROOT,
                                capture_output=True, text=True, timeout=120, check=True)
        return int(result.stdout.strip())

    default, kept = page_faults("default"), page_faults("keep")
    assert default > 10 * 200  # glibc's defaults return the large activation blocks to the kernel after each frame
    assert kept < default / 40  # kept memory is reused, so it faults almost never; the pinned defaults every frame
