"""Validation: held-out real frames, hard empty frames and held-out portraits, prepared exactly as the engine does.

`validation_items` + `evaluate` run during training (at the model's input size). `test_checkpoint` runs a saved
checkpoint through the real inference engine (models.segmenter) at full resolution, as the app would.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional

import cv2
import numpy as np
import torch

from models.preprocess import model_input_size, prepare_input
from training.composite import hard_empty_frame
from training.data import DataPool
from metrics.mask_metrics import false_positive_rate, iou

EMPTIES_PER_PLATE = 4


@dataclass
class ValItem:
    name: str
    kind: str  # "person" (IoU), "hard_empty" (false positives), "webcam" (single model on webcam frames)
    images: List[np.ndarray]  # BGR at capture size: [frame, plate] or [image]
    truth: np.ndarray  # bool at capture size


def validation_items(pool: DataPool, plate_model: bool) -> List[ValItem]:
    items = []
    if plate_model:
        for pair in pool.val_pairs:
            if pair.mask.any():  # the empty last frame of a set is the plate itself: nothing to learn from it
                items.append(ValItem(pair.name, "person", [pair.frame, pair.plate], pair.mask))
        for index, plate in enumerate(pool.val_plates):
            for copy in range(EMPTIES_PER_PLATE):
                frame = hard_empty_frame(plate, index * 100 + copy)
                items.append(ValItem(f"empty{index}.{copy}", "hard_empty", [frame, plate],
                                     np.zeros(plate.shape[:2], bool)))
    else:
        for photo in pool.val_photos:
            items.append(ValItem(photo.name, "person", [photo.image], photo.mask))
        for pair in pool.val_pairs:
            if pair.mask.any():
                items.append(ValItem(pair.name, "webcam", [pair.frame], pair.mask))
    return items


def model_tensor(image: np.ndarray, config, device) -> torch.Tensor:
    return torch.from_numpy(prepare_input(image, config))[None].to(device)


def truth_at_model_size(mask: np.ndarray, config) -> np.ndarray:
    rh, rw, _, _ = model_input_size(*mask.shape, config.input_long_side, config.size_multiple)
    return cv2.resize(mask.astype(np.float32), (rw, rh), interpolation=cv2.INTER_AREA) > 0.5


@torch.no_grad()
def predict(model, item: ValItem, device) -> np.ndarray:
    """Boolean mask at the model's (unpadded) input size."""
    config = model.config
    inputs = [model_tensor(image, config, device) for image in item.images]
    logits = model(*inputs)
    rh, rw, _, _ = model_input_size(*item.truth.shape, config.input_long_side, config.size_multiple)
    return (logits[0, 0, :rh, :rw] > 0).cpu().numpy()


def summarise(scores: Dict[str, list]) -> Dict[str, float]:
    metrics = {}
    if scores.get("person"):
        metrics["val_iou"] = float(np.mean(scores["person"]))
        metrics["val_worst_iou"] = float(np.min(scores["person"]))
    if scores.get("hard_empty"):
        metrics["val_fp"] = float(np.mean(scores["hard_empty"]))
    if scores.get("webcam"):
        metrics["val_webcam_iou"] = float(np.mean(scores["webcam"]))
    return metrics


def overlay_choice(items: List[ValItem], keep: int) -> set:
    """Indices for the overlay picture: people spread over the whole split, plus one hard empty frame."""
    people = [i for i, item in enumerate(items) if item.kind != "hard_empty"]
    empties = [i for i, item in enumerate(items) if item.kind == "hard_empty"]
    slots = keep - (1 if empties else 0)
    picked = {people[int(round(j))] for j in np.linspace(0, len(people) - 1, min(slots, len(people)))} \
        if people else set()
    return picked | set(empties[:1])


def evaluate(model, items: List[ValItem], device, keep: int = 6):
    """Metrics plus up to `keep` (item, prediction) pairs for the overlay picture."""
    network = getattr(model, "module", model)
    was_training = network.training
    network.eval()
    scores: Dict[str, list] = {}
    shown = []
    chosen = overlay_choice(items, keep)
    for index, item in enumerate(items):
        predicted = predict(network, item, device)
        if item.kind == "hard_empty":
            scores.setdefault("hard_empty", []).append(false_positive_rate(predicted))
        else:
            scores.setdefault(item.kind, []).append(iou(predicted, truth_at_model_size(item.truth, network.config)))
        if index in chosen:
            shown.append((item, predicted))
    network.train(was_training)
    return summarise(scores), shown


def test_checkpoint(path, pool: DataPool, device: str = "auto", out: Optional[callable] = print) -> Dict[str, float]:
    """Runs the engine (full resolution, guided upsampling, fp32) on the validation split and prints the figures."""
    from models.segmenter import Segmenter

    engine = Segmenter.load(path, device=device, precision="fp32")
    plate_model = engine.has_plate_model
    items = validation_items(pool, plate_model)
    if not items:
        raise ValueError("no validation data: pass --val-sets (capture sets) or --val-fraction (portraits) with "
                         "--data folders that hold them")
    scores: Dict[str, list] = {}
    per_item = []
    for item in items:
        mask = engine.segment(item.images[0], item.images[1] if plate_model else None) > 0.5
        if item.kind == "hard_empty":
            value = false_positive_rate(mask)
        else:
            value = iou(mask, item.truth)
        scores.setdefault(item.kind, []).append(value)
        per_item.append((item.kind, item.name, value))
    metrics = summarise(scores)
    metrics["frames"] = float(len(items))
    if out:
        out(f"checkpoint {path} ({'plate' if plate_model else 'single-frame'} model), engine at full resolution:")
        for kind, label in (("person", "IoU"), ("webcam", "IoU on webcam frames"), ("hard_empty", "false positives")):
            values = [(name, v) for k, name, v in per_item if k == kind]
            if not values:
                continue
            worst = sorted(values, key=lambda nv: nv[1], reverse=(kind == "hard_empty"))[:3]
            out(f"  {label:<22} mean {np.mean([v for _, v in values]):.4f} over {len(values)} frames; "
                f"worst: " + ", ".join(f"{name} {value:.4f}" for name, value in worst))
    return metrics
