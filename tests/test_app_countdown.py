import pytest

from app.countdown import CountdownScheduler


def make():
    return CountdownScheduler({"bkg": 1.0, "sav": 2.0})


def test_countdown_fires_once_when_time_is_up():
    s = make()
    assert s.press("sav", now=10.0) == "started"
    assert s.remaining("sav", 10.5) == pytest.approx(1.5)
    assert s.progress("sav", 11.0) == pytest.approx(0.5)
    assert s.due(11.99) == []
    assert s.due(12.0) == ["sav"]
    assert s.due(13.0) == []
    assert not s.is_active("sav") and s.remaining("sav", 13.0) is None


def test_second_press_cancels():
    s = make()
    s.press("bkg", 0.0)
    assert s.press("bkg", 0.5) == "cancelled"
    assert s.due(5.0) == []
    assert s.press("bkg", 6.0) == "started"  # and a third press starts again
    assert s.due(7.0) == ["bkg"]


def test_sav_finishing_first_waits_for_running_bkg_then_follows_it():
    s = CountdownScheduler({"bkg": 5.0, "sav": 2.0})
    s.press("bkg", 0.0)
    s.press("sav", 1.0)
    assert s.due(3.5) == []
    assert s.is_waiting("sav", 3.5)
    assert s.due(5.0) == ["bkg", "sav"]


def test_bkg_and_sav_due_together_come_in_order():
    s = make()
    s.press("sav", 0.0)
    s.press("bkg", 1.0)
    assert s.due(2.0) == ["bkg", "sav"]


def test_cancelling_bkg_releases_a_waiting_sav():
    s = CountdownScheduler({"bkg": 5.0, "sav": 1.0})
    s.press("bkg", 0.0)
    s.press("sav", 0.0)
    assert s.due(2.0) == []
    s.press("bkg", 2.0)  # cancel
    assert s.due(2.0) == ["sav"]


def test_zero_seconds_and_bad_input():
    s = CountdownScheduler({"bkg": 0, "sav": 0})
    s.press("bkg", 3.0)
    assert s.progress("bkg", 3.0) == 1.0
    assert s.due(3.0) == ["bkg"]
    with pytest.raises(KeyError, match="ext"):
        s.press("ext", 0)
    with pytest.raises(ValueError, match="-1"):
        CountdownScheduler({"bkg": -1})
