"""Process-wide settings that only entry points decide: thread counts, the allocator, library log levels.

Library code never calls these; a command's main() does, once, before it builds engines or opens videos.
"""
from typing import Optional

from process_settings.allocator import keep_freed_memory


def configure_process(threads: Optional[int] = None, keep_memory: bool = True, quiet_opencv: bool = False) -> None:
    """threads: torch's intra-op thread count (None leaves torch's default). keep_memory: keep freed buffers in
    the process, so per-frame inference reuses them instead of faulting fresh pages in. quiet_opencv: silence
    OpenCV's own log lines (a video backend probing formats prints warnings a user can do nothing about)."""
    if threads:
        import torch
        torch.set_num_threads(threads)
    if keep_memory:
        keep_freed_memory()
    if quiet_opencv:
        import cv2
        cv2.setLogLevel(0)
