"""Run outputs a person can read: the CSV log, loss/IoU curves and validation overlays (headless, atomic)."""
import csv
import io
from pathlib import Path
from typing import List

import cv2
import numpy as np

from fileio.atomic_files import atomic_write_bytes, write_png

LOG_COLUMNS = ["step", "loss", "lr", "val_iou", "val_worst_iou", "val_fp", "val_webcam_iou", "its_per_s",
               "elapsed_s"]


def write_log(path: Path, history: List[dict], columns: List[str] = LOG_COLUMNS) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow({key: ("" if row.get(key) is None else row[key]) for key in columns})
    atomic_write_bytes(path, buffer.getvalue().encode())


def _figure_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def plot_curves(path: Path, history: List[dict], title: str = "", loss_label: str = "training loss (BCE + Dice)",
                score_key: str = "val_iou", score_label: str = "validation IoU") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    losses = [(r["step"], r["loss"]) for r in history if r.get("loss") is not None]
    ious = [(r["step"], r[score_key]) for r in history if r.get(score_key) is not None]
    fps = [(r["step"], r["val_fp"]) for r in history if r.get("val_fp") is not None]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if losses:
        left.plot(*zip(*losses), color="tab:blue", linewidth=1)
    left.set_xlabel("iteration")
    left.set_ylabel(loss_label)
    left.set_yscale("log")
    left.grid(alpha=0.3)
    if ious:
        right.plot(*zip(*ious), marker="o", markersize=3, color="tab:green", label=score_label)
    right.set_xlabel("iteration")
    right.set_ylabel(score_label)
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


PANEL_HEIGHT = 180  # pixels per overlay row
CAPTION_HEIGHT = 18
PREDICTION_TINT = np.array([0, 255, 0], np.float32)  # BGR green


def _captioned(label: str, picture: np.ndarray) -> np.ndarray:
    """The picture (BGR, or a boolean mask) scaled to PANEL_HEIGHT, with its label in a white strip above."""
    if picture.dtype == bool:
        picture = cv2.cvtColor(picture.astype(np.uint8) * 255, cv2.COLOR_GRAY2BGR)
    width = max(1, round(picture.shape[1] * PANEL_HEIGHT / picture.shape[0]))
    panel = np.full((CAPTION_HEIGHT + PANEL_HEIGHT, width + 4, 3), 255, np.uint8)
    panel[CAPTION_HEIGHT:, 2:2 + width] = cv2.resize(picture, (width, PANEL_HEIGHT), interpolation=cv2.INTER_AREA)
    cv2.putText(panel, label[:40], (3, CAPTION_HEIGHT - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                cv2.LINE_AA)
    return panel


def _stack(rows: List[np.ndarray]) -> np.ndarray:
    """Rows of panels one above the other, padded on the right with white to the widest."""
    width = max(row.shape[1] for row in rows)
    return np.vstack([np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)), constant_values=255)
                      for row in rows])


def plot_overlays(path: Path, shown, title: str = "") -> None:
    """One row per validation item: frame, plate (plate model), prediction over the frame, truth. Drawn with
    OpenCV rather than matplotlib: it is redrawn at every validation, and plain pixels need no plotting."""
    if not shown:
        return
    rows = []
    for item, predicted in shown:
        height, width = predicted.shape
        frame = cv2.resize(item.images[0], (width, height), interpolation=cv2.INTER_AREA)
        truth = cv2.resize(item.truth.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA) > 0.5
        tinted = frame.astype(np.float32)
        tinted[predicted] = tinted[predicted] * 0.5 + PREDICTION_TINT * 0.5
        panels = [("frame " + item.name, frame)]
        if len(item.images) == 2:
            panels.append(("plate", item.images[1]))
        panels += [("prediction", tinted.astype(np.uint8)), ("truth", truth)]
        rows.append(np.hstack([_captioned(label, picture) for label, picture in panels]))
    sheet = _stack(rows)
    heading = np.full((26, sheet.shape[1], 3), 255, np.uint8)
    cv2.putText(heading, title, (4, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    write_png(path, np.vstack([heading, sheet]))
