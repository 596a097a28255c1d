import pytest

from app.buttons import BUTTON_NAMES, Button, ButtonLayout
from app.letterbox import fit_rect, widget_to_frame


@pytest.mark.parametrize("width,height", [(640, 480), (480, 360), (1920, 1080), (360, 640)])
def test_layout_has_three_buttons_inside_the_frame_without_overlap(width, height):
    layout = ButtonLayout.for_frame(width, height)
    assert [b.name for b in layout.buttons] == list(BUTTON_NAMES) == ["ext", "bkg", "sav"]
    assert [b.label for b in layout.buttons] == ["Ext", "Bkg", "Sav"]
    for button in layout.buttons:
        x, y, w, h = button.rect
        assert 0 <= x and x + w <= width and 0 <= y and y + h <= height
        assert w > 0 and h > 0
    for a, b in zip(layout.buttons, layout.buttons[1:]):
        assert a.rect[1] + a.rect[3] < b.rect[1]  # stacked with a gap


def test_layout_scales_with_frame_size():
    small = ButtonLayout.for_frame(320, 240).button("bkg").rect
    large = ButtonLayout.for_frame(1280, 960).button("bkg").rect
    assert large == pytest.approx(tuple(4 * v for v in small))


def test_hit_test_centres_edges_and_misses():
    layout = ButtonLayout.for_frame(640, 480)
    for button in layout.buttons:
        cx, cy = button.centre
        assert layout.hit_test(cx, cy) == button.name
        x, y, w, h = button.rect
        assert layout.hit_test(x, y) == button.name  # edges count
        assert layout.hit_test(x + w, y + h) == button.name
    assert layout.hit_test(10, 10) is None
    assert layout.hit_test(320, 240) is None


def test_margin_grows_rects_and_picks_nearest_button():
    layout = ButtonLayout.for_frame(640, 480)
    x, y, w, h = layout.button("ext").rect
    outside = (x - 5, y + h / 2)
    assert layout.hit_test(*outside) is None
    assert layout.hit_test(*outside, margin=6) == "ext"
    # In the gap between Ext and Bkg, a large margin covers both: the nearer centre wins.
    gap_y = y + h + 1
    assert layout.hit_test(x + w / 2, gap_y, margin=20) == "ext"
    bkg_y = layout.button("bkg").rect[1]
    assert layout.hit_test(x + w / 2, bkg_y - 1, margin=20) == "bkg"


def test_button_is_frozen_and_bad_sizes_are_rejected():
    button = Button("ext", "Ext", (0.0, 0.0, 1.0, 1.0))
    with pytest.raises(Exception):
        button.name = "bkg"
    with pytest.raises(ValueError, match="0x480"):
        ButtonLayout.for_frame(0, 480)


def test_letterbox_keeps_aspect_and_maps_clicks_back():
    rect = fit_rect(640, 480, 1000, 500)  # wide window: bars left and right
    assert rect == pytest.approx((166.6667, 0, 666.6667, 500), abs=1e-3)
    assert widget_to_frame(rect[0], 0, rect, 640, 480) == pytest.approx((0, 0))
    assert widget_to_frame(500, 250, rect, 640, 480) == pytest.approx((320, 240))
    assert widget_to_frame(50, 250, rect, 640, 480) is None  # on the bar
    tall = fit_rect(640, 480, 640, 900)
    assert tall == pytest.approx((0, 210, 640, 480))
