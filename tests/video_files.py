"""Reading a whole video back in tests: its frames and the rate its container states."""
import cv2


def read_video(path, limit=None):
    """(frames, fps): every decodable frame in order, or the first `limit` of them."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while limit is None or len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames, fps
