"""Palm presses end to end on real pixels: a real person cut-out (ccp portrait 0548, her raised hand) pasted over a
real webcam plate, played as an image folder through the headless app with the default palm tracker (PoseNet)."""
import cv2
import numpy as np
import pytest

from app.buttons import ButtonLayout
from app.cli import build_parser, build_session
from app.headless import run_headless
from app.palm_tracking import PoseNetPalmTracker
from models.posenet.weights import SHIPPED_WEIGHTS

PORTRAIT = "0548"  # a woman with her left hand raised to her head: PoseNet finds that arm with high confidence
PERSON_HEIGHT = 330  # pixels in the 640x480 plate
FPS = 10
DWELL_S = 1.0
BKG_SECONDS = 2.0
PASS_STEP_PX = 25  # a palm passing through moves this far per frame: 250 px/s, on the 77 px button for ~0.3 s


class Scene:
    def __init__(self, plate, person, alpha):
        self.plate, self.person, self.alpha = plate, person, alpha

    def frame(self, dx, dy):
        """The person pasted with her top-left corner at (dx, dy); parts outside the plate are cut off."""
        out = self.plate.astype(np.float32)
        h, w = self.person.shape[:2]
        x0, y0, x1, y1 = max(dx, 0), max(dy, 0), min(dx + w, out.shape[1]), min(dy + h, out.shape[0])
        a = self.alpha[y0 - dy:y1 - dy, x0 - dx:x1 - dx, None]
        out[y0:y1, x0:x1] = a * self.person[y0 - dy:y1 - dy, x0 - dx:x1 - dx] + (1 - a) * out[y0:y1, x0:x1]
        return out.round().astype(np.uint8)


@pytest.fixture(scope="module")
def scene(shared):
    root = shared("data", "portraits", "ccp")
    image = cv2.imread(str(root / "images" / f"{PORTRAIT}.jpg"))
    mask = cv2.imread(str(root / "masks" / f"{PORTRAIT}.png"), cv2.IMREAD_GRAYSCALE)
    plate = cv2.imread(str(shared("data", "webcam_sets", "set1", "bkg.png")))
    scale = PERSON_HEIGHT / image.shape[0]
    person = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(mask, person.shape[1::-1], interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    return Scene(plate, person, alpha)


@pytest.fixture(scope="module")
def tracker():
    return PoseNetPalmTracker(SHIPPED_WEIGHTS)


@pytest.fixture(scope="module")
def layout(scene):
    return ButtonLayout.for_frame(scene.plate.shape[1], scene.plate.shape[0])


def palm_near(tracker, frame, x, y):
    """PoseNet's palm nearest to (x, y), or None when it finds none."""
    palms = tracker.raw_palms(frame)
    return min(palms, key=lambda p: (p.x - x) ** 2 + (p.y - y) ** 2) if palms else None


def find_paste_position(scene, tracker, layout, name):
    """Where to paste the person so that PoseNet's palm of her raised hand lands on the button's centre. PoseNet's
    answer moves a little with the paste position, so a few corrections are made."""
    cx, cy = layout.button(name).centre
    reference = palm_near(tracker, scene.frame(100, 0), 10_000, -10_000)  # the raised hand: right and high
    dx, dy = int(round(100 + cx - reference.x)), int(round(cy - reference.y))
    for _ in range(4):
        palm = palm_near(tracker, scene.frame(dx, dy), cx, cy)
        if abs(palm.x - cx) < 15 and abs(palm.y - cy) < 15:
            break
        dx, dy = int(round(dx + cx - palm.x)), int(round(dy + cy - palm.y))
    palm = palm_near(tracker, scene.frame(dx, dy), cx, cy)
    assert layout.hit_test(palm.x, palm.y) == name and palm.confidence > 0.5, (name, palm)
    return dx, dy


@pytest.fixture(scope="module")
def paste_at(scene, tracker, layout):
    """Button name -> paste position of the person for a palm on it."""
    return {name: find_paste_position(scene, tracker, layout, name) for name in ("bkg", "sav")}


def write_folder(folder, frames):
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:04d}.png"), frame)
    return folder


def run_app(folder, images, capsys):
    args = build_parser().parse_args([
        "--source", str(folder), "--once", "--fps", str(FPS), "--images", str(images), "--headless",
        "--no-segmentation", "--dwell", str(DWELL_S), "-b", str(BKG_SECONDS), "-s", "0.5"])
    session, _ = build_session(args)
    assert session.palm_tracker.name == "posenet"  # the default (--palm auto) on a fresh install
    assert run_headless(session, duration=30) == 0
    return capsys.readouterr().out


def test_a_palm_held_on_bkg_makes_set1_with_the_empty_plate(scene, paste_at, tmp_path, capsys):
    dx, dy = paste_at["bkg"]
    walk_in = [scene.frame(dx - k * 70, dy) for k in (3, 2, 1)]
    hold = [scene.frame(dx, dy)] * int(2.5 * FPS)  # 2.5 s, longer than the dwell
    # She leaves; Bkg's countdown ends after that, so the saved plate is the empty room.
    frames = [scene.plate] * 5 + walk_in + hold + [scene.plate] * int((BKG_SECONDS + 1) * FPS)
    out = run_app(write_folder(tmp_path / "held", frames), tmp_path / "cap", capsys)
    assert out.count("palm pressed bkg") == 1, out  # held on: one press, never a second one that cancels
    assert sorted(p.name for p in (tmp_path / "cap").iterdir()) == ["set1"]
    assert sorted(p.name for p in (tmp_path / "cap" / "set1").iterdir()) == ["bkg.png"]
    assert np.array_equal(cv2.imread(str(tmp_path / "cap" / "set1" / "bkg.png")), scene.plate)


def test_a_palm_passing_through_bkg_presses_nothing(scene, tracker, layout, paste_at, tmp_path, capsys):
    dx, dy = paste_at["bkg"]
    offsets = range(-8, 9)
    passing = [scene.frame(dx + k * PASS_STEP_PX, dy) for k in offsets]
    # The palm really crosses the button: on it for a few middle frames (shorter than the dwell), off it around.
    on_button = []
    for k in range(-4, 5):
        palm = palm_near(tracker, passing[offsets.index(k)], *layout.button("bkg").centre)
        on_button.append(palm is not None and layout.hit_test(palm.x, palm.y) == "bkg")
    assert 2 <= sum(on_button) <= 5 and on_button[4] and not on_button[0] and not on_button[-1], on_button
    frames = [scene.plate] * 5 + passing + [scene.plate] * 10
    out = run_app(write_folder(tmp_path / "passing", frames), tmp_path / "cap", capsys)
    assert "palm pressed" not in out
    assert not (tmp_path / "cap").exists() or list((tmp_path / "cap").iterdir()) == []


def test_a_palm_on_sav_before_any_set_says_bkg_comes_first(scene, paste_at, tmp_path, capsys):
    dx, dy = paste_at["sav"]
    frames = [scene.plate] * 5 + [scene.frame(dx, dy)] * int(2.5 * FPS) + [scene.plate] * 5
    out = run_app(write_folder(tmp_path / "sav", frames), tmp_path / "cap", capsys)
    assert out.count("palm pressed sav") == 1, out
    assert "Bkg comes first" in out
    assert not (tmp_path / "cap").exists() or list((tmp_path / "cap").iterdir()) == []
