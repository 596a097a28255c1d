"""Pure benchmark logic on crafted inputs: IoU, false-positive rate, latency summary, tables, argument parsing."""
import math

import numpy as np
import pytest

from benchmarks._table import format_number, format_table
from benchmarks.accuracy import BenchmarkInputError, Scores, iou, parse_set_numbers, summary_line
from benchmarks.speed import parse_size


def box_mask(top, left, bottom, right, shape=(10, 10)):
    mask = np.zeros(shape, dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def test_iou_of_overlapping_boxes_is_exact():
    truth = box_mask(0, 0, 4, 4)        # 16 pixels
    predicted = box_mask(2, 0, 6, 4)    # 16 pixels, 8 shared
    assert iou(predicted, truth) == pytest.approx(8 / 24)
    assert iou(truth, truth) == 1.0
    assert iou(box_mask(5, 5, 8, 8), truth) == 0.0


def test_iou_of_two_empty_masks_is_undefined_and_shapes_must_match():
    empty = np.zeros((4, 4), dtype=bool)
    assert math.isnan(iou(empty, empty))
    with pytest.raises(ValueError, match="shapes differ"):
        iou(empty, np.zeros((4, 5), dtype=bool))


def test_scores_split_person_frames_from_empty_frames():
    scores = Scores()
    truth = box_mask(0, 0, 5, 10)                                  # half the frame is person
    scores.add(box_mask(0, 0, 5, 10), truth, latency_ms=4.0)       # perfect
    scores.add(box_mask(0, 0, 10, 10), truth, latency_ms=6.0)      # IoU 0.5
    empty = np.zeros((10, 10), dtype=bool)
    scores.add(box_mask(0, 0, 1, 10), empty, latency_ms=100.0)     # 10 of 100 pixels wrong
    scores.add(box_mask(0, 0, 3, 10), np.zeros((10, 10), bool), latency_ms=5.0)  # 30 of 100 wrong
    assert scores.mean_iou == pytest.approx(0.75)
    assert scores.fp_rate == pytest.approx(40 / 200)  # pooled over all empty-frame pixels
    assert scores.ms_per_frame == pytest.approx(5.5)   # median: one slow frame does not move it


def test_scores_without_frames_are_nan_and_the_summary_line_keeps_its_format():
    scores = Scores()
    assert math.isnan(scores.mean_iou) and math.isnan(scores.fp_rate) and math.isnan(scores.ms_per_frame)
    scores.add(box_mask(0, 0, 2, 2), box_mask(0, 0, 2, 4), latency_ms=12.34)
    assert summary_line(scores) == "mean_iou=0.500 fp_rate=nan ms_per_frame=12.3"


def test_table_aligns_columns_and_marks_missing_values():
    text = format_table(["method", "IoU"], [["ours", format_number(0.91234)], ["MOG2", format_number(None)],
                                            ["x", format_number(float("nan"), 4)]])
    lines = text.splitlines()
    assert lines[0].split() == ["method", "IoU"]
    assert lines[2].endswith("0.912") and lines[3].endswith("n/a") and lines[4].endswith("n/a")
    assert len({len(line) for line in lines[2:]}) == 1  # right-aligned numbers share one column edge
    with pytest.raises(ValueError, match="has 1 cells"):
        format_table(["a", "b"], [["only one"]])


def test_argument_parsers_accept_good_values_and_explain_bad_ones():
    assert parse_set_numbers("1,5, 9") == [1, 5, 9]
    assert parse_set_numbers(None) is None
    with pytest.raises(BenchmarkInputError, match="--sets 'one'"):
        parse_set_numbers("one")
    assert parse_size("640x480") == (640, 480)
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_size("640")
    with pytest.raises(ValueError, match="at least 32"):
        parse_size("8x8")
