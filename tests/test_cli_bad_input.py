"""Every command-line entry point, given bad values, stops with a message that names the value: no traceback and a
non-zero exit status (2 for a bad argument).

The entry points run as `__main__` (runpy, exactly as `python -m NAME` / `python main.py` start them) in one child
Python process, so that the heavy imports (torch, OpenCV, Qt) happen once rather than once per case. Entry points are
found by scanning the packages for `if __name__ == "__main__":`, so a new tool is probed as soon as it exists.
"""
import json
import re
import subprocess
import sys

import pytest

from commandline import FrameSize, UsageError, parse_size, positive_int, share, writable_folder
from fileio.shared_data import REPO_ROOT

ENTRY_PACKAGES = ("annotation", "app", "benchmarks", "models", "tools", "training")
PROBE_VALUE = "/nonexistent/backplate-probe-value"

# (entry point, arguments, text the output must hold: the bad value, expected exit status). Placeholders in braces
# are filled in by the `places` fixture.
CASES = [
    ("main.py", ["--fps", "-1"], "'-1'", 2),
    ("main.py", ["--images", "{afile}/captures", "--source", "{video}", "--headless", "--palm", "none",
                 "--no-segmentation"], "{afile}", 2),
    ("main.py", ["--source", "{missing}/clip.avi", "--headless", "--palm", "none"], "{missing}/clip.avi", 2),
    ("main.py", ["--press", "jump@1"], "jump@1", 2),
    ("annotation", ["-s", "one"], "'one'", 2),
    ("annotation", ["-s", "3", "--images", "{missing}"], "{missing}", 2),
    ("annotation", ["-s", "1", "--label", "person_hole"], "person_hole", 2),
    ("annotation.convert", ["roundtrip", "{bad_set}"], "{bad_set}/0_mask.png", 1),
    ("annotation.convert", ["masks-from-json", "{missing}"], "{missing}", 2),
    ("annotation.convert", ["json-from-masks", "{bad_set}", "--epsilon", "-1"], "'-1'", 2),
    ("annotation.convert", ["coco", "{bad_set}", "--out", "{afile}/coco.json"], "{afile}", 2),
    ("annotation.convert", ["coco", "{bad_set}", "--out", "{tmp}"], "{tmp}", 2),
    ("training", ["--val-every", "0"], "'0'", 2),
    ("training", ["--threads", "-1"], "'-1'", 2),
    ("training", ["--threads", "many"], "'many'", 2),
    ("training", ["-i", "0"], "'0'", 2),
    ("training", ["--size", "20x20"], "'20x20'", 2),
    ("training", ["--channels", "8,x"], "'8,x'", 2),
    ("training", ["--val-fraction", "1.5"], "'1.5'", 2),
    ("training", ["--lr", "-0.1"], "'-0.1'", 2),
    ("training", ["--seed", "-3"], "'-3'", 2),
    ("training", ["--out", "{afile}"], "{afile}", 2),
    ("training", ["--resume", "{missing}/last.pt", "--out", "{tmp}/run"], "{missing}/last.pt", 2),
    ("training", ["--init", "{afile}", "--out", "{tmp}/run"], "{afile}", 2),
    ("training", ["--resume", "{checkpoint}", "--init", "{checkpoint}", "--out", "{tmp}/run"], "--init", 2),
    ("training", ["--test-only", "{missing}/best.pt"], "{missing}/best.pt", 2),
    ("training", ["--val-sets", "four", "--out", "{tmp}/run"], "'four'", 2),
    ("training", ["--output-stride", "8"], "invalid choice: 8", 2),
    ("training", ["--model", "plate", "--decoder-channels", "24", "--out", "{tmp}/run"], "--decoder-channels", 2),
    ("training", ["--model", "single", "--decoder-channels", "-1"], "--decoder-channels", 2),
    ("training", ["--model", "plate", "--finest-channels", "16", "--out", "{tmp}/run"], "--finest-channels", 2),
    ("training", ["--model", "single", "--finest-channels", "x"], "--finest-channels", 2),
    ("training", ["--model", "single", "--finest-channels", "16", "--output-stride", "4", "--out", "{tmp}/run"],
     "--finest-channels", 2),
    ("training", ["--model", "single", "--finest-channels", "16", "--decoder-channels", "0", "--out", "{tmp}/run"],
     "--finest-channels", 2),
    ("training", ["--model", "plate", "--empty-scenes", "0.1", "--out", "{tmp}/run"], "--empty-scenes", 2),
    ("training", ["--model", "single", "--empty-scenes", "1.5"], "1.5", 2),
    ("training", ["--model", "single", "--teacher", "{tmp}/missing.pt", "--out", "{tmp}/run"], "missing.pt", 2),
    ("training", ["--model", "single", "--distill-weight", "-1"], "--distill-weight", 2),
    ("training", ["--model", "single", "--teacher", "{checkpoint}", "--out", "{tmp}/run"], "cannot teach", 2),
    ("training.export", ["{missing}/best.pt"], "{missing}/best.pt", 2),
    ("training.export", ["{checkpoint}", "--frame", "{missing}/frame.png", "--plate", "{frame}"],
     "{missing}/frame.png", 2),
    ("training.export", ["{checkpoint}", "--plate", "{frame}"], "--plate", 2),
    ("training.export", ["{checkpoint}", "--output", "{afile}/plate.onnx"], "{afile}", 2),
    ("training.export", ["{checkpoint}", "--format", "tflite"], "'tflite'", 2),
    ("training.gray_init", ["{missing}/single.pt", "-o", "{tmp}/gray.pt"], "{missing}/single.pt", 2),
    ("benchmarks.accuracy", ["--data", "{missing}"], "{missing}", 2),
    ("benchmarks.accuracy", ["--data", "{sets}", "--sets", "one"], "'one'", 2),
    ("benchmarks.speed", ["--size", "20x20"], "'20x20'", 2),
    ("benchmarks.speed", ["--model", "{missing}/model.pt"], "{missing}/model.pt", 2),
    ("benchmarks.capture_fps", ["--seconds", "-1"], "'-1'", 2),
    ("benchmarks.palm", ["--threads", "0"], "'0'", 2),
    ("benchmarks.palm", ["--posenet-weights", "{missing}/posenet.pth"], "{missing}/posenet.pth", 2),
    ("benchmarks.accuracy", ["--data", "{sets}", "--threads", "-1"], "'-1'", 2),
    ("benchmarks.accuracy", ["--empty", "{frame}", "--cast-shadows"], "--cast-shadows", 2),
    ("benchmarks.patches", ["--threads", "0"], "'0'", 2),
    ("benchmarks.leave_scenes_out", ["--data", "{sets}", "--folds", "0"], "'0'", 2),
    ("models.posenet", ["{missing}/photo.jpg"], "{missing}/photo.jpg", 2),
    ("models.posenet", ["{frame}", "--long-side", "0"], "'0'", 2),
    ("models.posenet.fetch", ["--multiplier", "333"], "'333'", 2),
    ("training.gan.cli", ["--model", "pix2pix", "-i", "0"], "--iterations", 2),
    ("tools.cutout", ["{frame}", "--threads", "0", "--out", "{tmp}/cutouts"], "'0'", 2),
    ("tools.pairs", ["{bad_set}", "{bad_set}", "--min-similarity", "2"], "'2'", 2),
    ("tools.patches", ["{bad_set}", "--out", "{tmp}/patches", "--every", "0"], "'0'", 2),
    ("tools.prepare", ["split", "{bad_set}", "--val", "2"], "--val 2", 2),
    ("tools.prepare", ["downsample", "{bad_set}", "-f", "3", "-s", "0x0", "--out", "{tmp}/small"], "'0x0'", 2),
    ("tools.views", ["{bad_set}", "--per-view", "0"], "'0'", 2),
]

# A child process runs each case as __main__ and prints one JSON line per case.
DRIVER = r"""
import contextlib, io, json, os, runpy, sys, traceback
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for case in json.load(sys.stdin):
    out, err, code = io.StringIO(), io.StringIO(), 0
    sys.argv = [case["entry"]] + case["args"]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if case["entry"].endswith(".py"):
                runpy.run_path(case["entry"], run_name="__main__")
            else:
                runpy.run_module(case["entry"], run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # sys.exit("message") prints the message and exits 1
            err.write(str(exc.code))
            code = 1
    except BaseException:
        err.write(traceback.format_exc())  # what the interpreter would print
        code = 1
    print(json.dumps({"id": case["id"], "code": code, "out": out.getvalue(), "err": err.getvalue()}), flush=True)
"""


def entry_points():
    """main.py and every module of our packages that runs as a program (`python -m NAME`)."""
    found = ["main.py"]
    for package in ENTRY_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if '__name__ == "__main__"' not in path.read_text(encoding="utf-8", errors="replace"):
                continue
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__main__" else parts))
    return found


ENTRY_POINTS = entry_points()


@pytest.fixture(scope="module")
def places(shared, tmp_path_factory):
    import shutil

    from models.checkpoint import save_checkpoint
    from models.plate_net import PlateNet
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "afile").write_text("a file, not a folder")
    bad_set = tmp / "set1"
    bad_set.mkdir()
    shutil.copy2(shared("data", "webcam_sets", "set1", "0.png"), bad_set / "0.png")
    (bad_set / "0_mask.png").write_bytes(b"not a png")
    save_checkpoint(tmp / "plate.pt", PlateNet())
    return {"tmp": str(tmp), "afile": str(tmp / "afile"), "missing": str(tmp / "missing"), "bad_set": str(bad_set),
            "checkpoint": str(tmp / "plate.pt"), "frame": str(shared("data", "webcam_sets", "set1", "0.png")),
            "sets": str(shared("data", "webcam_sets")),
            "video": str(shared("data", "videos", "pets2009_s2l1_vtest.avi"))}


def case_id(entry, args) -> str:
    return f"{entry} {' '.join(args)}"


@pytest.fixture(scope="module")
def results(places):
    """Runs every case (the curated ones and a probe of each entry point) in one child process."""
    cases = [{"id": case_id(entry, args), "entry": entry, "args": [a.format(**places) for a in args]}
             for entry, args, _, _ in CASES]
    cases += [{"id": case_id(entry, [PROBE_VALUE]), "entry": entry, "args": [PROBE_VALUE]} for entry in ENTRY_POINTS]
    child = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(cases), capture_output=True, text=True,
                           cwd=REPO_ROOT, timeout=600)
    found = {}
    for line in child.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            found[record["id"]] = record
    assert len(found) == len(cases), f"the child stopped early (status {child.returncode}): {child.stderr[-3000:]}"
    return found


@pytest.mark.parametrize("entry, args, named, status", CASES, ids=[case_id(e, a) for e, a, _, _ in CASES])
def test_a_bad_value_is_named_without_a_traceback(results, places, entry, args, named, status):
    result = results[case_id(entry, args)]
    output = result["out"] + result["err"]
    assert "Traceback" not in output, output
    assert result["code"] == status, output
    assert named.format(**places) in output, output


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_refuses_a_bad_path_or_argument_in_one_clear_line(results, entry):
    result = results[case_id(entry, [PROBE_VALUE])]
    output = result["out"] + result["err"]
    assert "Traceback" not in output, output
    assert result["code"] != 0, output
    # The probe value is named (as a missing file, an unknown command or an extra argument), unless the command
    # first asks for an option it requires.
    assert PROBE_VALUE in output or re.search(r"required", output), output


def test_every_curated_entry_point_exists():
    assert {entry for entry, *_ in CASES} <= set(ENTRY_POINTS)


# ---- the shared argument helpers, in-process -------------------------------------------------------------------
def test_sizes_come_back_with_named_sides():
    size = parse_size("640x480")
    assert size == FrameSize(width=640, height=480) and size.height_width == (480, 640) and str(size) == "640x480"
    for text, problem in (("640", "WIDTHxHEIGHT"), ("8x8", "at least 32"), ("axb", "WIDTHxHEIGHT")):
        with pytest.raises(UsageError, match=problem):
            parse_size(text)


def test_number_types_name_the_value():
    assert positive_int("3") == 3 and share("0") == 0.0
    for parse, text in ((positive_int, "0"), (positive_int, "2.5"), (share, "1"), (share, "nan")):
        with pytest.raises(UsageError, match=re.escape(repr(text))):
            parse(text)


def test_writable_folder_accepts_a_new_folder_and_refuses_files_and_locked_folders(tmp_path, monkeypatch):
    assert writable_folder(tmp_path / "new" / "deeper", "--out") == tmp_path / "new" / "deeper"
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match=r"--out .*file.* is a file"):
        writable_folder(tmp_path / "file", "--out")
    with pytest.raises(UsageError, match="cannot be created"):
        writable_folder(tmp_path / "file" / "below", "--out")
    import os
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as for a folder owned by someone else
    with pytest.raises(UsageError, match=f"--images {re.escape(str(tmp_path))}: permission denied"):
        writable_folder(tmp_path, "--images")
