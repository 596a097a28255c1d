"""app.virtual_camera through pyvirtualcam with a registered fake backend, on a real webcam frame."""
import platform

import cv2
import numpy as np
import pytest
import pyvirtualcam

from app.virtual_camera import VirtualCamera, VirtualCameraUnavailable


class FakeBackend:
    """Stands in for v4l2loopback/OBS: keeps what pyvirtualcam hands to a device."""
    opened = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self.frames = []
        self.closed = False
        FakeBackend.opened.append(self)

    def send(self, frame):
        self.frames.append(frame.copy())

    def close(self):
        self.closed = True

    def device(self):
        return "fake0"

    def native_fourcc(self):
        return None


class NoDeviceBackend(FakeBackend):
    def __init__(self, **kw):
        raise RuntimeError("No v4l2 loopback device found at /dev/video[0-99]. Did you run 'modprobe v4l2loopback'?")


class BrokenPipeBackend(FakeBackend):
    def send(self, frame):
        raise OSError("the device went away")


pyvirtualcam.register_backend("backplate-fake", FakeBackend)
pyvirtualcam.register_backend("backplate-no-device", NoDeviceBackend)
pyvirtualcam.register_backend("backplate-broken", BrokenPipeBackend)


@pytest.fixture(scope="module")
def webcam_frame(shared):
    frame = cv2.imread(str(shared("data", "webcam_sets", "set1", "0.png")), cv2.IMREAD_COLOR)
    assert frame is not None and frame.shape == (480, 640, 3)
    return frame


def received(backend):
    return [frame.reshape(backend.height, backend.width, 3) for frame in backend.frames]


def test_frames_arrive_as_rgb_at_the_camera_size(webcam_frame):
    FakeBackend.opened.clear()
    camera = VirtualCamera.open(640, 480, fps=30, backend="backplate-fake")
    backend = FakeBackend.opened[-1]
    assert (backend.width, backend.height, backend.fps) == (640, 480, 30)
    assert backend.fourcc == pyvirtualcam.camera.encode_fourcc(pyvirtualcam.PixelFormat.RGB.value)
    camera.send(webcam_frame, 0.0)
    camera.send(webcam_frame[:, ::-1], 0.1)  # a mirrored view: a negative-stride array
    camera.close()
    assert backend.closed and camera.frames_sent == 2
    first, mirrored = received(backend)
    # cv2 reads BGR; the camera must get R, G, B: channel 0 of what arrives is the red of the real frame.
    assert np.array_equal(first[:, :, 0], webcam_frame[:, :, 2])
    assert np.array_equal(first, cv2.cvtColor(webcam_frame, cv2.COLOR_BGR2RGB))
    assert np.array_equal(mirrored, first[:, ::-1])
    # Not a symmetric case: this frame's red and blue planes differ.
    assert np.abs(webcam_frame[:, :, 0].astype(int) - webcam_frame[:, :, 2]).mean() > 5


def test_views_of_another_size_are_scaled_to_the_camera(webcam_frame):
    FakeBackend.opened.clear()
    camera = VirtualCamera.open(320, 240, fps=10, backend="backplate-fake")
    camera.send(webcam_frame)
    camera.close()
    (frame,) = received(FakeBackend.opened[-1])
    expected = cv2.cvtColor(cv2.resize(webcam_frame, (320, 240), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    assert np.array_equal(frame, expected)


def test_no_device_is_one_line_that_says_how_to_get_one():
    with pytest.raises(VirtualCameraUnavailable) as caught:
        VirtualCamera.open(640, 480, fps=30, backend="backplate-no-device")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("virtual camera off")
    assert ("modprobe v4l2loopback" in message) if platform.system() == "Linux" else ("OBS" in message)


@pytest.mark.skipif(platform.system() != "Linux", reason="v4l2loopback is Linux's backend")
def test_the_real_v4l2loopback_backend_without_that_device_is_one_line():
    with pytest.raises(VirtualCameraUnavailable) as caught:
        VirtualCamera.open(640, 480, fps=30, device="/dev/backplate-no-such-camera", backend="v4l2loopback")
    message = str(caught.value)
    assert "\n" not in message and "/dev/backplate-no-such-camera" in message and "modprobe" in message


def test_a_failing_device_stops_sending_without_raising(webcam_frame):
    heard = []
    camera = VirtualCamera.open(640, 480, fps=30, backend="backplate-broken", on_error=heard.append)
    camera.send(webcam_frame)
    camera.send(webcam_frame)
    camera.close()
    assert camera.frames_sent == 0 and "the device went away" in camera.error
    assert heard == [camera.error]  # said once, not per frame
