"""Sending the live view to a virtual webcam, so video-call apps can use the cut-out. No Qt.

pyvirtualcam drives v4l2loopback on Linux and OBS's virtual camera on Windows and macOS. When there is no such
device, the app says in one line how to get one and keeps running without it.
"""
import platform
from typing import Callable, Optional

import cv2
import numpy as np

PYVIRTUALCAM_PIN = "pyvirtualcam==0.15.0"


class VirtualCameraUnavailable(Exception):
    """No virtual camera can be opened; str() is one line for the user that says how to get one."""


def how_to_get_one(system: Optional[str] = None) -> str:
    system = system or platform.system()
    if system == "Linux":
        return ("create a v4l2loopback device with `sudo modprobe v4l2loopback devices=1 exclusive_caps=1` "
                "(package v4l2loopback-dkms), then restart the app")
    return "install OBS Studio 28 or newer, start its Virtual Camera once, then restart the app"


def _one_line(text: str) -> str:
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip()).rstrip(".")


class VirtualCamera:
    """A virtual webcam of a fixed size that takes BGR views (any size; scaled to fit) and sends them as RGB.
    on_error(text) hears, once, that sending stopped."""

    def __init__(self, camera, on_error: Optional[Callable[[str], None]] = None):
        self._camera = camera
        self.on_error = on_error
        self.width, self.height = int(camera.width), int(camera.height)
        self.frames_sent = 0
        self.error: Optional[str] = None

    @classmethod
    def open(cls, width: int, height: int, fps: float, device: Optional[str] = None,
             backend: Optional[str] = None, on_error: Optional[Callable[[str], None]] = None) -> "VirtualCamera":
        """Opens the first virtual camera (or device); raises VirtualCameraUnavailable with a one-line message."""
        try:
            import pyvirtualcam
        except ImportError:
            raise VirtualCameraUnavailable(f"virtual camera off: pyvirtualcam is not installed; run "
                                           f"`.venv/bin/pip install {PYVIRTUALCAM_PIN}`") from None
        try:
            camera = pyvirtualcam.Camera(width=int(width), height=int(height), fps=float(fps),
                                         fmt=pyvirtualcam.PixelFormat.RGB, device=device, backend=backend)
        except Exception as exc:  # pyvirtualcam raises RuntimeError per backend tried, ValueError, KeyError...
            raise VirtualCameraUnavailable(f"virtual camera off ({_one_line(exc)}): {how_to_get_one()}") from None
        return cls(camera, on_error)

    @property
    def device(self) -> str:
        return self._camera.device

    def send(self, view_bgr: np.ndarray, timestamp_s: Optional[float] = None) -> None:
        """Sends one view (the view-sink callback). A failure turns sending off and sets error; it never raises."""
        if self.error is not None or self._camera is None:
            return
        frame = np.ascontiguousarray(view_bgr)
        if frame.shape[:2] != (self.height, self.width):
            frame = cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA)
        try:
            self._camera.send(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        except Exception as exc:  # the device went away or the app on the other side closed it badly
            self.error = f"virtual camera stopped: {_one_line(exc)}"
            if self.on_error is not None:
                self.on_error(self.error)
            return
        self.frames_sent += 1

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None
