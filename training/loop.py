"""The training loop: AdamW, warm-up + cosine LR, gradient clipping, AMP on CUDA, validation, checkpoints,
exact resume and DistributedDataParallel.

Every training sample is a pure function of (seed, global sample number), and the sample numbers of a step
depend only on the step, the batch size and the process rank. So resuming at step k replays exactly the batches an
uninterrupted run would have seen, with any number of loader workers.
"""
import dataclasses
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import cv2
import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler

from models.checkpoint import atomic_torch_save, checkpoint_payload, load_checkpoint, read_checkpoint
from models.plate_net import PlateNet, PlateNetConfig
from models.preprocess import normalise_image
from models.unet import LikeUnet, LikeUnetConfig
from training import composite, report
from training.data import DataPool
from training.evaluate import evaluate, validation_items
from training.losses import bce_dice_loss

MODEL_KINDS = ("plate", "single", "single-gray")
DEFAULT_SIZES = {"plate": (240, 320), "single": (256, 256), "single-gray": (256, 256)}


@dataclass
class TrainSettings:
    model: str = "plate"
    iterations: int = 1000
    batch_size: int = 2
    size: Tuple[int, int] = (240, 320)  # (height, width) of training crops
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 0  # 0: 5% of the iterations, at most 300
    clip_norm: float = 2.0
    seed: int = 0
    workers: int = 0
    val_every: int = 250
    log_every: int = 10
    device: str = "auto"
    out: Path = Path("runs/plate")
    resume: Optional[Path] = None
    init: Optional[Path] = None  # start from these weights with a fresh optimizer and schedule (fine-tuning)
    stop_after: Optional[int] = None  # stop at this step as if killed (to test resuming)
    progress: bool = True
    data_description: List[str] = field(default_factory=list)
    channels: Optional[Tuple[int, ...]] = None  # None: the architecture's default widths
    long_side: Optional[int] = None  # inference input long side stored in the checkpoint; None: default


def build_model(kind: str, channels: Optional[Tuple[int, ...]] = None,
                long_side: Optional[int] = None) -> torch.nn.Module:
    overrides = {}
    if channels:
        overrides["channels"] = tuple(channels)
    if long_side:
        overrides["input_long_side"] = long_side
    if kind == "plate":
        return PlateNet(PlateNetConfig(**overrides))
    if kind == "single":
        return LikeUnet(LikeUnetConfig(**overrides))
    if kind == "single-gray":
        return LikeUnet(LikeUnetConfig(in_channels=1, **overrides))
    raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")


def starting_model(settings: "TrainSettings") -> torch.nn.Module:
    """A fresh network, or with --init the weights (and widths) of an existing checkpoint, for fine-tuning."""
    fresh = build_model(settings.model, settings.channels, settings.long_side)
    if settings.init is None:
        return fresh
    model, _ = load_checkpoint(settings.init)
    if model.ARCH != fresh.ARCH or model.config.in_channels != fresh.config.in_channels:
        raise ValueError(f"--init {settings.init} holds a {model.ARCH} model with {model.config.in_channels} input "
                         f"channel(s), which does not fit --model {settings.model}; pass a matching --model")
    if settings.channels and tuple(settings.channels) != tuple(model.config.channels):
        raise ValueError(f"--init {settings.init} has channels {','.join(map(str, model.config.channels))}; "
                         f"leave out --channels or pass those")
    if settings.long_side:
        model.config = dataclasses.replace(model.config, input_long_side=settings.long_side)
    return model.train()


# ---- data -----------------------------------------------------------------------------------------------------
class TrainSamples(Dataset):
    """Sample number -> tensors. Indexing is unbounded: the sampler decides which numbers a step uses."""

    def __init__(self, pool: DataPool, kind: str, size: Tuple[int, int], seed: int, in_channels: int):
        self.pool, self.kind, self.size, self.seed, self.in_channels = pool, kind, size, seed, in_channels

    def __len__(self):
        return 2 ** 62

    def __getitem__(self, number: int):
        rng = np.random.default_rng([self.seed, number])
        mask_tensor = lambda m: torch.from_numpy(m.astype(np.float32))[None]  # noqa: E731
        if self.kind == "plate":
            sample = composite.plate_sample(rng, self.pool, self.size)
            return (torch.from_numpy(normalise_image(sample.frame, self.in_channels)),
                    torch.from_numpy(normalise_image(sample.plate, self.in_channels)), mask_tensor(sample.mask))
        sample = composite.single_sample(rng, self.pool, self.size)
        return torch.from_numpy(normalise_image(sample.image, self.in_channels)), mask_tensor(sample.mask)


class StepBatches(Sampler):
    """Batches of global sample numbers for steps first_step+1 .. last_step of one process."""

    def __init__(self, first_step: int, last_step: int, batch_size: int, rank: int = 0, world: int = 1):
        self.first_step, self.last_step = first_step, last_step
        self.batch_size, self.rank, self.world = batch_size, rank, world

    def __len__(self):
        return max(0, self.last_step - self.first_step)

    def __iter__(self):
        for step in range(self.first_step, self.last_step):
            start = (step * self.world + self.rank) * self.batch_size
            yield list(range(start, start + self.batch_size))


def _worker_init(_):
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


# ---- state ----------------------------------------------------------------------------------------------------
def rng_state() -> dict:
    """torch, numpy and python RNG states as tensors/lists/ints, so weights_only loading accepts them."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {"torch": torch.get_rng_state(),
             "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(position),
                       "has_gauss": int(has_gauss), "cached": float(cached)},
             "python": {"version": int(version), "internal": list(internal), "gauss_next": gauss_next}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(("MT19937", numpy_state["keys"].numpy().astype(np.uint32), numpy_state["pos"],
                         numpy_state["has_gauss"], numpy_state["cached"]))
    python_state = state["python"]
    random.setstate((python_state["version"], tuple(python_state["internal"]), python_state["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def lr_factor(step: int, iterations: int, warmup: int) -> float:
    """Linear warm-up from 1% to full, then cosine decay to 1%."""
    if step < warmup:
        return 0.01 + 0.99 * step / max(1, warmup)
    progress = min(1.0, (step - warmup) / max(1, iterations - warmup))
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress))


def settings_record(settings: TrainSettings) -> dict:
    """The run's settings as plain values (stored in checkpoints; weights_only-safe)."""
    record = {}
    for key, value in vars(settings).items():
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        record[key] = value
    return record


# ---- distributed ------------------------------------------------------------------------------------------------
@dataclass
class Process:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def start_process(requested_device: str) -> Process:
    """Plain single process, or one DDP rank when started by torchrun (WORLD_SIZE > 1)."""
    from models.segmenter import pick_device

    device = pick_device(requested_device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Process(0, 1, device)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Process(dist.get_rank(), dist.get_world_size(), device)


def barrier(process: Process) -> None:
    if process.world > 1:
        dist.barrier()


# ---- the loop -------------------------------------------------------------------------------------------------
def train(settings: TrainSettings, pool: DataPool, process: Optional[Process] = None) -> dict:
    """Trains, validates and checkpoints; returns the last validation metrics (rank 0) or {}."""
    process = process or start_process(settings.device)
    device = process.device
    torch.manual_seed(settings.seed)
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    cv2.setNumThreads(1)

    model = starting_model(settings).to(device)
    in_channels = model.config.in_channels
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    warmup = settings.warmup or min(300, max(1, settings.iterations // 20))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, settings.iterations, warmup))
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    step, history, best_iou, elapsed_before, resumed_rng = 0, [], -1.0, 0.0, None
    if settings.resume is not None:
        payload = read_checkpoint(settings.resume, map_location="cpu")
        if payload.get("model_option") != settings.model:
            raise ValueError(f"{settings.resume} holds a {payload.get('model_option')!r} model but --model is "
                             f"{settings.model!r}; pass the same --model to resume")
        model.load_state_dict(payload["state_dict"])
        optimizer.load_state_dict(payload["optimizer"])
        scheduler.load_state_dict(payload["scheduler"])
        if use_amp and "scaler" in payload:
            scaler.load_state_dict(payload["scaler"])
        resumed_rng = payload["rng"]
        step = int(payload["step"])
        history = list(payload.get("history", []))
        best_iou = float(payload.get("best_iou", -1.0))
        elapsed_before = float(payload.get("elapsed_s", 0.0))

    network = model
    if process.world > 1:
        network = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    samples = TrainSamples(pool, settings.model, settings.size, settings.seed, in_channels)
    last_step = min(settings.iterations, settings.stop_after or settings.iterations)
    loader = DataLoader(samples, batch_sampler=StepBatches(step, last_step, settings.batch_size,
                                                           process.rank, process.world),
                        num_workers=settings.workers, worker_init_fn=_worker_init,
                        pin_memory=device.type == "cuda", prefetch_factor=4 if settings.workers else None)
    val_items = validation_items(pool, settings.model == "plate") if process.is_main else []
    out = Path(settings.out)
    title = f"{settings.model} model, batch {settings.batch_size}, seed {settings.seed}"
    metrics = {}

    def save(name: str) -> None:
        payload = checkpoint_payload(
            model, model_option=settings.model, step=step, iterations=settings.iterations,
            optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(), rng=rng_state(),
            history=history, best_iou=best_iou, metrics=metrics, settings=settings_record(settings),
            elapsed_s=elapsed_before + time.time() - started)
        if use_amp:
            payload["scaler"] = scaler.state_dict()
        atomic_torch_save(payload, out / name)

    def validate() -> dict:
        nonlocal best_iou, metrics
        found, shown = evaluate(model, val_items, device)
        metrics = found  # stored in best.pt below
        row = {"step": step, "lr": optimizer.param_groups[0]["lr"], **found,
               "elapsed_s": round(elapsed_before + time.time() - started, 1)}
        history.append(row)
        if found.get("val_iou", -1.0) > best_iou:
            best_iou = found["val_iou"]
            save("best.pt")
        report.write_log(out / "log.csv", history)
        report.plot_curves(out / "curves.png", history, title)
        report.plot_overlays(out / "val_overlays.png", shown, f"{title}, step {step}")
        return found

    bar = None
    if process.is_main and settings.progress:
        from tqdm import tqdm
        bar = tqdm(total=settings.iterations, initial=step, desc=f"training {settings.model}", dynamic_ncols=True)
    started = time.time()
    window_loss, window_count, window_start = 0.0, 0, time.time()
    network.train()
    batches = iter(loader)  # draws the loader's base seed from torch's RNG, so restore RNG state after it
    if resumed_rng is not None:
        set_rng_state(resumed_rng)
    for batch in batches:
        *inputs, target = [tensor.to(device, non_blocking=True) for tensor in batch]
        with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
            logits = network(*inputs)
        loss = bce_dice_loss(logits, target)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip_norm)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        step += 1
        if not process.is_main:
            barrier_needed = step % settings.val_every == 0 or step == last_step
            if barrier_needed:
                barrier(process)
            continue
        window_loss += loss.item()
        window_count += 1
        if step % settings.log_every == 0 or step == last_step:
            rate = window_count / max(time.time() - window_start, 1e-9)
            history.append({"step": step, "loss": round(window_loss / window_count, 5),
                            "lr": optimizer.param_groups[0]["lr"], "its_per_s": round(rate, 3),
                            "elapsed_s": round(elapsed_before + time.time() - started, 1)})
            window_loss, window_count, window_start = 0.0, 0, time.time()
        if step % settings.val_every == 0 or step == last_step:
            if val_items:
                metrics = validate()
            save("last.pt")
            report.write_log(out / "log.csv", history)
            barrier(process)
        if bar is not None:
            bar.update(1)
            postfix = {"loss": f"{loss.item():.3f}", "lr": f"{optimizer.param_groups[0]['lr']:.2e}"}
            if "val_iou" in metrics:
                postfix["iou"] = f"{metrics['val_iou']:.3f}"
            if "val_fp" in metrics:
                postfix["fp"] = f"{100 * metrics['val_fp']:.2f}%"
            bar.set_postfix(postfix, refresh=False)
    if bar is not None:
        bar.close()
    if process.is_main and step == settings.iterations and not val_items:
        save("best.pt")  # nothing to validate on: the final weights are the best we know
    return metrics
