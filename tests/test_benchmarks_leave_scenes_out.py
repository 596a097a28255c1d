"""Leave-scenes-out folds: the real trainer per fold, whole sets held out, each fold scored on its own sets."""
import os
import re

import pytest

from benchmarks import leave_scenes_out
from benchmarks.accuracy import BenchmarkInputError

LAST_LINE = re.compile(r"^mean_iou=\d\.\d{3} worst_iou=\d\.\d{3} mean_fp=\d\.\d{4} folds=\d+$")
TINY_RUN = ["-i", "2", "-b", "1", "--size", "64x48", "--channels", "4,4,8,8", "--threads", "1", "--val-every", "2"]


def linked_sets(shared, folder, numbers):
    """A scenes folder holding only these shared capture sets (symlinks)."""
    folder.mkdir()
    for number in numbers:
        os.symlink(shared("data", "webcam_sets", f"set{number}"), folder / f"set{number}")
    return folder


def test_folds_are_dealt_round_robin_and_named_folds_are_checked():
    assert leave_scenes_out.deal_folds([9, 1, 4, 2, 16], 2) == [[1, 4, 16], [2, 9]]
    assert leave_scenes_out.parse_fold_sets("4,9;1", [1, 4, 9]) == [[4, 9], [1]]
    with pytest.raises(BenchmarkInputError, match="set7"):
        leave_scenes_out.parse_fold_sets("7;1", [1, 4, 9])
    with pytest.raises(BenchmarkInputError, match="one fold only"):
        leave_scenes_out.parse_fold_sets("1,4;4", [1, 4, 9])
    with pytest.raises(BenchmarkInputError, match="--folds 1"):
        leave_scenes_out.deal_folds([1, 2, 3], 1)


def test_a_fold_trains_without_its_sets_and_is_scored_on_them(shared, tmp_path, capsys):
    root = linked_sets(shared, tmp_path / "sets", (1, 2, 4))
    out = tmp_path / "folds"
    code = leave_scenes_out.main(["--data", str(root), "--fold-sets", "4;1,2", "--only", "1", "--out", str(out),
                                  "--no-mediapipe", "--"] + TINY_RUN)
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    assert (out / "fold1" / "last.pt").is_file() and not (out / "fold2").exists()
    command = next(line for line in lines if "-m training" in line)
    assert "--val-sets 4" in command and f"--out {out / 'fold1'}" in command
    fold_row = next(line for line in lines if line.startswith("fold 1 "))
    assert fold_row.split()[2:4] == ["4", "4"]  # held-out set 4, its 4 frames with a person
    assert LAST_LINE.match(lines[-1]) and lines[-1].endswith("folds=1")
    code = leave_scenes_out.main(["--data", str(root), "--fold-sets", "4;1,2", "--only", "1", "--out", str(out),
                                  "--no-mediapipe", "--reuse"])
    assert code == 0 and f"reusing {out / 'fold1' / 'last.pt'}" in capsys.readouterr().out


def test_options_the_script_owns_are_refused_for_the_trainer(shared, capsys):
    code = leave_scenes_out.main(["--data", str(shared("data", "webcam_sets")), "--", "--val-sets", "1"])
    assert code == 2 and "leave --val-sets" in capsys.readouterr().err


def test_a_second_run_starts_each_fold_from_its_own_first_run(shared, tmp_path, capsys):
    root = linked_sets(shared, tmp_path / "sets", (1, 4))
    folds = ["--data", str(root), "--fold-sets", "4;1", "--no-mediapipe"]
    assert leave_scenes_out.main(folds + ["--out", str(tmp_path / "first"), "--"] + TINY_RUN) == 0
    capsys.readouterr()
    chained = ["--init", str(tmp_path / "first" / "fold{fold}" / "last.pt")]
    assert leave_scenes_out.main(folds + ["--out", str(tmp_path / "second"), "--"] + chained + TINY_RUN) == 0
    commands = [line for line in capsys.readouterr().out.splitlines() if "-m training" in line]
    assert len(commands) == 2
    for number, command in enumerate(commands, start=1):
        assert f"--init {tmp_path / 'first' / f'fold{number}' / 'last.pt'}" in command and "{fold}" not in command
        assert (tmp_path / "second" / f"fold{number}" / "last.pt").is_file()
