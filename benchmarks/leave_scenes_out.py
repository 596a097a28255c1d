"""Leave scenes out: train the plate model k times, each time holding out whole capture sets, and score each fold's
final weights on its own held-out sets, beside the baselines on the same frames.

    python -m benchmarks.leave_scenes_out --data ../shared/data/webcam_sets --folds 4 --out runs/lso -- \\
        --data ../shared/data/portraits/ccp --backgrounds ../shared/data/backgrounds -i 3500 -b 8 --threads 1

Every fold is one run of the real trainer (`python -m training`, its command printed), with `--val-sets` set to the
fold's sets, so no held-out set feeds training, validation or any choice. Everything after `--` goes to the
trainer unchanged (data, steps, batch, --cast-shadows, ...). The held-out frames are scored as
`benchmarks.accuracy` scores capture sets: IoU of each frame with a person, and the false-positive rate on the
hard empty frames (webcam negatives of each set's plate). The table ends with the mean over folds and the worst
fold. `--folds K` deals the sets round-robin in number order into K folds; `--fold-sets "4,9,16,20;1,6,11,18"`
names them instead. `--only 1,3` runs some folds (e.g. when time is short), and `--reuse` scores an existing
OUT/foldN/last.pt instead of training it again.

A recipe of several runs chains folds with `{fold}` in a trainer argument, which becomes the fold's number. The
shipped plate recipe, for instance, is a second run that starts from each fold's own first run:

    python -m benchmarks.leave_scenes_out --data DIR --out runs/lso_stage2 -- \\
        --init "runs/lso_stage1/fold{fold}/last.pt" --output-stride 4 --long-side 288 ...

The last line is machine-readable: mean_iou=… worst_iou=… mean_fp=… folds=N
"""
import argparse
import shlex
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from benchmarks._table import format_number, print_table
from benchmarks.accuracy import BenchmarkInputError, OurModel, capture_groups, evaluate, load_our_model
from benchmarks.baselines import build_baselines
from commandline import positive_int
from fileio.capture_sets import list_sets
from process_settings import configure_process


def deal_folds(numbers: Sequence[int], folds: int) -> List[List[int]]:
    """Sets in number order dealt round-robin into `folds` folds, so every fold spans early and late captures."""
    numbers = sorted(numbers)
    if not 2 <= folds <= len(numbers):
        raise BenchmarkInputError(f"--folds {folds}: give 2 to {len(numbers)} (the number of capture sets)")
    return [numbers[start::folds] for start in range(folds)]


def parse_fold_sets(text: str, available: Sequence[int]) -> List[List[int]]:
    try:
        folds = [[int(n) for n in part.split(",") if n.strip()] for part in text.split(";") if part.strip()]
    except ValueError:
        raise BenchmarkInputError(f"--fold-sets {text!r}: give set numbers, folds separated by ';', "
                                  f"e.g. '4,9,16,20;1,6,11,18'")
    seen = [n for fold in folds for n in fold]
    missing = sorted(set(seen) - set(available))
    if missing:
        raise BenchmarkInputError(f"--fold-sets: no set{missing[0]}/; available sets: "
                                  f"{', '.join(map(str, sorted(available)))}")
    if len(seen) != len(set(seen)) or len(folds) < 1:
        raise BenchmarkInputError("--fold-sets: each set may be in one fold only, and give at least one fold")
    return folds


FOLD_PLACEHOLDER = "{fold}"


def trainer_command(data: Path, fold: Sequence[int], number: int, out: Path, trainer_args: Sequence[str]) -> List[str]:
    """The trainer's command for fold `number`; "{fold}" in any trainer argument becomes that number."""
    own_args = [arg.replace(FOLD_PLACEHOLDER, str(number)) for arg in trainer_args]
    return [sys.executable, "-m", "training", "--model", "plate", "--data", str(data),
            "--val-sets", ",".join(map(str, fold)), "--no-progress", *own_args, "--out", str(out)]


def score_fold(checkpoint: Path, data: Path, fold: Sequence[int], use_mediapipe: bool, device: str):
    """{method name: Scores} on the fold's held-out sets."""
    groups = capture_groups(data, list(fold))
    ours = OurModel(load_our_model(str(checkpoint), device))
    baselines, notes = build_baselines(use_mediapipe=use_mediapipe)
    methods = [ours] + baselines
    try:
        scores = evaluate(groups, methods, progress=False)
    finally:
        for method in methods:
            method.close()
    return {m.name: scores[m.name]["all"] for m in methods}, ours.name, notes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.leave_scenes_out", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="k-fold leave-scenes-out validation of the plate model: train one run per fold with whole "
                    "capture sets held out, score each on its held-out sets beside the baselines, and report the "
                    "mean and the worst fold.",
        epilog="Arguments after -- go to python -m training, e.g. -- --backgrounds DIR -i 3500 -b 8 --threads 1. "
               "{fold} in any of them becomes the fold's number, e.g. --init 'runs/stage1/fold{fold}/last.pt' "
               "to start each fold from its own earlier run.")
    parser.add_argument("--data", type=Path, required=True, help="folder of setK/ capture sets (the scenes)")
    parser.add_argument("--folds", type=positive_int, default=4, help="number of folds, sets dealt round-robin (default 4)")
    parser.add_argument("--fold-sets", metavar="N,N;N,N",
                        help="the folds' sets, folds separated by ';' (instead of --folds)")
    parser.add_argument("--only", metavar="K,K", help="run only these folds (1-based), e.g. 1,3")
    parser.add_argument("--out", type=Path, default=Path("runs/leave_scenes_out"),
                        help="folder for the folds' runs, OUT/foldK (default runs/leave_scenes_out)")
    parser.add_argument("--reuse", action="store_true",
                        help="score an existing OUT/foldK/last.pt instead of training that fold again")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where scoring runs")
    parser.add_argument("--threads", type=positive_int, help="CPU threads for scoring (training takes its own --threads)")
    parser.add_argument("--no-mediapipe", action="store_true", help="leave out the MediaPipe selfie baseline")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    trainer_args = argv[argv.index("--") + 1:] if "--" in argv else []
    own_args = argv[:argv.index("--")] if "--" in argv else argv
    args = build_parser().parse_args(own_args)
    try:
        if not args.data.is_dir() or not list_sets(args.data):
            raise BenchmarkInputError(f"--data {args.data}: expected a folder of setK/ capture sets, e.g. "
                                      f"../shared/data/webcam_sets")
        numbers = [s.number for s in list_sets(args.data) if s.has_plate]
        folds = parse_fold_sets(args.fold_sets, numbers) if args.fold_sets else deal_folds(numbers, args.folds)
        chosen = list(range(1, len(folds) + 1))
        if args.only:
            try:
                chosen = sorted({int(k) for k in args.only.split(",") if k.strip()})
            except ValueError:
                raise BenchmarkInputError(f"--only {args.only!r}: give fold numbers, e.g. 1,3")
            if not chosen or min(chosen) < 1 or max(chosen) > len(folds):
                raise BenchmarkInputError(f"--only {args.only}: folds are numbered 1 to {len(folds)}")
        if any(option in trainer_args for option in ("--val-sets", "--out", "--model")):
            raise BenchmarkInputError("leave --val-sets, --out and --model to leave_scenes_out (it sets them per "
                                      "fold)")
    except BenchmarkInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_process(threads=args.threads)

    rows, ious, fps, failed = [], [], [], []
    baseline_names: List[str] = []
    for number in chosen:
        fold = folds[number - 1]
        out = args.out / f"fold{number}"
        checkpoint = out / "last.pt"
        command = trainer_command(args.data, fold, number, out, trainer_args)
        print(f"fold {number}/{len(folds)}: held-out sets {','.join(map(str, fold))}", flush=True)
        if not (args.reuse and checkpoint.is_file()):
            print("  " + " ".join(shlex.quote(part) for part in command), flush=True)
            result = subprocess.run(command)
            if result.returncode != 0 or not checkpoint.is_file():
                print(f"  fold {number}: training failed (exit {result.returncode}); skipped", file=sys.stderr)
                failed.append(number)
                continue
        else:
            print(f"  reusing {checkpoint}", flush=True)
        try:
            scores, ours_name, notes = score_fold(checkpoint, args.data, fold, not args.no_mediapipe, args.device)
        except (BenchmarkInputError, ValueError) as exc:
            print(f"  fold {number}: {exc}; skipped", file=sys.stderr)
            failed.append(number)
            continue
        for note in notes:
            print(f"  note: {note}")
        baseline_names = [name for name in scores if name != ours_name]
        ours = scores[ours_name]
        ious.append(ours.mean_iou)
        fps.append(ours.fp_rate)
        rows.append([f"fold {number}", ",".join(map(str, fold)), len(ours.ious),
                     format_number(ours.mean_iou), format_number(100 * ours.fp_rate, 2)] +
                    [cell for name in baseline_names for cell in
                     (format_number(scores[name].mean_iou), format_number(100 * scores[name].fp_rate, 2))])
    if not rows:
        print("error: no fold finished", file=sys.stderr)
        return 1
    blank = ["", ""] * len(baseline_names)
    rows.append(["mean", "", "", format_number(float(np.mean(ious))), format_number(100 * float(np.mean(fps)), 2)]
                + blank)
    worst = int(np.argmin(ious))
    rows.append(["worst fold", rows[worst][1], "", format_number(ious[worst]),
                 format_number(100 * max(fps), 2)] + blank)
    headers = ["fold", "held-out sets", "frames", "ours IoU", "ours fp %"] + \
        [f"{name} {kind}" for name in baseline_names for kind in ("IoU", "fp %")]
    print()
    print_table(headers, rows, title=f"Leave scenes out: plate model, {len(ious)} of {len(folds)} folds "
                                     f"(worst fp % is the largest of any fold)")
    if failed:
        print(f"folds not finished: {', '.join(map(str, failed))}")
    print(f"mean_iou={np.mean(ious):.3f} worst_iou={ious[worst]:.3f} mean_fp={np.mean(fps):.4f} folds={len(ious)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
