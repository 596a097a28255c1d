"""DwellPresser on synthetic palm streams (30 fps)."""
import pytest

from app.buttons import ButtonLayout
from app.dwell import DwellPresser, match_nearest

FPS = 30.0


def fake_hit_test(x, y, margin=0.0):
    """Two 100 px buttons: 'a' at x 100..200, 'b' at x 300..400, both y 100..200."""
    for name, left in (("a", 100), ("b", 300)):
        if left - margin <= x <= left + 100 + margin and 100 - margin <= y <= 200 + margin:
            return name
    return None


def run(presser, stream, start=0.0):
    """stream: one list of points per frame. Returns [(frame index, names pressed)]."""
    presses = []
    for i, points in enumerate(stream):
        names = presser.update(points, start + i / FPS)
        if names:
            presses.append((i, names))
    return presses


def test_holding_a_palm_presses_once_after_the_dwell_time():
    presser = DwellPresser(fake_hit_test, dwell_s=0.6)
    presses = run(presser, [[(150, 150)]] * 60)
    assert presses == [(18, ["a"])]  # 0.6 s at 30 fps


def test_quick_pass_through_does_not_press():
    presser = DwellPresser(fake_hit_test, dwell_s=0.6)
    stream = [[(50 + 10 * i, 150)] for i in range(30)]  # crosses 'a' in ~10 frames (0.33 s)
    assert run(presser, stream) == []


def test_jitter_at_the_edge_neither_restarts_the_dwell_nor_presses_twice():
    presser = DwellPresser(fake_hit_test, dwell_s=0.6, hysteresis_px=12)
    stream = [[(100 + (3 if i % 2 else -3), 150)] for i in range(90)]  # +-3 px across the left edge
    stream[0] = [(103, 150)]
    assert run(presser, stream) == [(18, ["a"])]


def test_without_hysteresis_the_same_jitter_never_completes():
    presser = DwellPresser(fake_hit_test, dwell_s=0.6, hysteresis_px=0)
    stream = [[(100 + (3 if i % 2 else -3), 150)] for i in range(90)]
    assert run(presser, stream) == []


def test_pressing_again_requires_leaving_the_button():
    presser = DwellPresser(fake_hit_test, dwell_s=0.6)
    stay = [[(150, 150)]] * 40
    away = [[(150, 260)]] * 5
    presses = run(presser, stay + away + stay)
    assert presses == [(18, ["a"]), (45 + 18, ["a"])]


def test_two_palms_press_two_buttons_independently():
    presser = DwellPresser(fake_hit_test, dwell_s=0.6)
    # Palm 1 holds 'a' from the start; palm 2 arrives on 'b' 0.3 s later; input order swaps every frame.
    stream = []
    for i in range(40):
        points = [(150, 150)] + ([(350, 150)] if i >= 9 else [(350, 300)])
        stream.append(points if i % 2 else points[::-1])
    presses = run(presser, stream)
    assert presses == [(18, ["a"]), (27, ["b"])]


def test_a_second_palm_on_the_same_button_neither_resets_nor_repeats_the_press():
    presser = DwellPresser(fake_hit_test, dwell_s=0.6)
    stream = [[(150, 150)]] * 10 + [[(150, 150), (160, 160)]] * 40
    assert run(presser, stream) == [(18, ["a"])]


def test_one_dropped_frame_keeps_the_palm_and_cannot_re_press():
    presser = DwellPresser(fake_hit_test, dwell_s=0.6, lost_grace_s=0.3)
    stream = [[(150, 150)]] * 30 + [[]] + [[(150, 150)]] * 30
    assert run(presser, stream) == [(18, ["a"])]


def test_progress_rises_while_dwelling_and_clears_after_the_press():
    presser = DwellPresser(fake_hit_test, dwell_s=0.6)
    presser.update([(150, 150)], 0.0)
    presser.update([(150, 150)], 0.3)
    assert presser.progress() == {"a": pytest.approx(0.5)}
    presser.update([(150, 150)], 0.6)
    assert presser.progress() == {}
    presser.update([(20, 20)], 0.7)
    assert presser.progress() == {}


def test_match_nearest_pairs_closest_first_within_the_limit():
    assert match_nearest([(0, 0), (100, 0)], [(95, 0), (5, 0), (500, 0)], 50) == [(0, 1), (1, 0)]
    assert match_nearest([(0, 0)], [(60, 0)], 50) == []


def test_with_the_app_button_layout():
    layout = ButtonLayout.for_frame(640, 480)
    target = layout.button("sav")
    cx, cy = target.centre
    presser = DwellPresser(layout.hit_test, dwell_s=0.6)
    assert run(presser, [[(cx, cy)]] * 30) == [(18, ["sav"])]
    left = target.rect[0]
    jitter = DwellPresser(layout.hit_test, dwell_s=0.6, hysteresis_px=12)
    stream = [[(left + 2, cy)]] + [[(left + (4 if i % 2 else -4), cy)] for i in range(1, 60)]
    assert run(jitter, stream) == [(18, ["sav"])]
