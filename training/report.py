"""Run outputs a person can read: the CSV log, loss/IoU curves and validation overlays (headless, atomic)."""
import csv
import io
from pathlib import Path
from typing import List

import cv2
import numpy as np

from fileio.atomic_files import atomic_write_bytes

LOG_COLUMNS = ["step", "loss", "lr", "val_iou", "val_worst_iou", "val_fp", "val_webcam_iou", "its_per_s",
               "elapsed_s"]


def write_log(path: Path, history: List[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, LOG_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow({key: ("" if row.get(key) is None else row[key]) for key in LOG_COLUMNS})
    atomic_write_bytes(path, buffer.getvalue().encode())


def _figure_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def plot_curves(path: Path, history: List[dict], title: str = "") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    losses = [(r["step"], r["loss"]) for r in history if r.get("loss") is not None]
    ious = [(r["step"], r["val_iou"]) for r in history if r.get("val_iou") is not None]
    fps = [(r["step"], r["val_fp"]) for r in history if r.get("val_fp") is not None]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if losses:
        left.plot(*zip(*losses), color="tab:blue", linewidth=1)
    left.set_xlabel("iteration")
    left.set_ylabel("training loss (BCE + Dice)")
    left.set_yscale("log")
    left.grid(alpha=0.3)
    if ious:
        right.plot(*zip(*ious), marker="o", markersize=3, color="tab:green", label="validation IoU")
    right.set_xlabel("iteration")
    right.set_ylabel("IoU")
    right.grid(alpha=0.3)
    if fps:
        twin = right.twinx()
        twin.plot(*zip(*[(s, 100 * v) for s, v in fps]), color="tab:red", linewidth=1, label="false positives (%)")
        twin.set_ylabel("false positives on hard empty frames (%)", color="tab:red")
        twin.set_ylim(bottom=0, top=max(1.0, 110 * max(v for _, v in fps)))
    if ious:
        right.legend(loc="lower right")
    figure.suptitle(title)
    atomic_write_bytes(path, _figure_bytes(figure))
    plt.close(figure)


def plot_overlays(path: Path, shown, title: str = "") -> None:
    """One row per validation item: frame, plate (plate model), prediction over the frame, truth."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not shown:
        return
    columns = 4 if len(shown[0][0].images) == 2 else 3
    figure, axes = plt.subplots(len(shown), columns, figsize=(3 * columns, 2.4 * len(shown)), squeeze=False)
    for row, (item, predicted) in enumerate(shown):
        frame = item.images[0]
        height, width = predicted.shape
        small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)[:, :, ::-1]
        truth = cv2.resize(item.truth.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA) > 0.5
        tinted = small.astype(np.float32).copy()
        tinted[predicted] = tinted[predicted] * 0.5 + np.array([0, 255, 0]) * 0.5
        panels = [("frame " + item.name, small)]
        if columns == 4:
            panels.append(("plate", cv2.resize(item.images[1], (width, height))[:, :, ::-1]))
        panels += [("prediction", tinted.astype(np.uint8)), ("truth", truth)]
        for column, (label, picture) in enumerate(panels):
            axis = axes[row][column]
            axis.imshow(picture, cmap="gray" if picture.ndim == 2 else None)
            axis.set_title(label, fontsize=8)
            axis.axis("off")
    figure.suptitle(title)
    atomic_write_bytes(path, _figure_bytes(figure))
    plt.close(figure)
