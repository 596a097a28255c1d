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
import torch.nn.functional as F
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler

from models.checkpoint import CheckpointError, atomic_torch_save, checkpoint_payload, load_checkpoint, \
    read_checkpoint
from models.checkpoint import build_model as build_from_config
from models.plate_net import PlateNet, PlateNetConfig
from models.preprocess import normalise_image
from models.unet import LikeUnet, LikeUnetConfig
from training import composite, report
from training.data import DataPool
from training.evaluate import ValItem, evaluate, validation_items
from training.losses import bce_dice_loss, distillation_loss, guided_mask_loss

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
    output_stride: Optional[int] = None  # mask at 1/2 or 1/4 of the input; None: the default or --init's
    decoder_channels: Optional[int] = None  # single model: 0 concatenating decoder, N lean; None: default or --init's
    finest_channels: Optional[int] = None  # lean decoder's level at output stride 2: its width; None: as --init's
    context_layers: Optional[int] = None  # plate model: dilated layers of the scene-context block; None: as --init's
    motion_composites: bool = False  # single model: add moving-people composites and empty scenes
    empty_scenes: Optional[float] = None  # single model: share of people-free samples; None: the mix's own
    cast_shadows: bool = False  # plate model: people throw projected silhouette shadows (labelled background)
    camouflage: float = 0.0  # plate model: chance that a person's colours are pulled towards the scene behind
    real_pairs: Optional[float] = None  # plate model: share of samples that are real webcam pairs; None: the mix's own
    hard_weight: float = 0.0  # extra cross-entropy weight on the pixels the model gets wrong
    guided_weight: float = 0.0  # weight of a loss on the mask after the engine's guided upsampling
    teacher: Optional[Path] = None  # a trained network of the same kind whose probabilities the student also learns
    distill_weight: float = 1.0  # weight of the distillation term beside the label loss


# A resumed run takes every setting from its checkpoint so that it continues exactly, except these, which stay
# the user's; the network's widths and input side come from the checkpoint's model config.
USER_SETTINGS = ("workers", "val_every", "log_every", "device", "out", "resume", "init", "stop_after", "progress",
                 "data_description", "channels", "long_side", "output_stride", "decoder_channels", "finest_channels",
                 "context_layers")
# setting -> model config key
NETWORK_SHAPE = {"channels": "channels", "long_side": "input_long_side", "output_stride": "output_stride",
                 "decoder_channels": "decoder_channels", "finest_channels": "finest_decoder_channels",
                 "context_layers": "context_layers"}
# the settings that shape the decoder, which an --init checkpoint may be rebuilt with
DECODER_SETTINGS = ("output_stride", "decoder_channels", "finest_channels", "context_layers")
NO_FLAG = ("weight_decay", "warmup", "clip_norm")  # settings with no command-line flag


# ---- model, optimizer, schedule -------------------------------------------------------------------------------
def build_model(kind: str, channels: Optional[Tuple[int, ...]] = None, long_side: Optional[int] = None,
                output_stride: Optional[int] = None, decoder_channels: Optional[int] = None,
                finest_channels: Optional[int] = None, context_layers: Optional[int] = None) -> torch.nn.Module:
    overrides = {}
    if channels:
        overrides["channels"] = tuple(channels)
    if long_side:
        overrides["input_long_side"] = long_side
    if output_stride:
        overrides["output_stride"] = output_stride
    if kind == "plate":
        if context_layers is not None:
            overrides["context_layers"] = context_layers
        return PlateNet(PlateNetConfig(**overrides))
    if decoder_channels is not None:
        overrides["decoder_channels"] = decoder_channels
    if finest_channels is not None:
        overrides["finest_decoder_channels"] = finest_channels
    if kind == "single":
        return LikeUnet(LikeUnetConfig(**overrides))
    if kind == "single-gray":
        return LikeUnet(LikeUnetConfig(in_channels=1, **overrides))
    raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")


def starting_model(settings: TrainSettings) -> torch.nn.Module:
    """A fresh network, or with --init the weights (and widths) of an existing checkpoint, for fine-tuning."""
    fresh = build_model(settings.model, settings.channels, settings.long_side, settings.output_stride,
                        settings.decoder_channels, settings.finest_channels, settings.context_layers)
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
    asked = {NETWORK_SHAPE[setting]: getattr(settings, setting) for setting in DECODER_SETTINGS}
    decoder = {key: value for key, value in asked.items() if value is not None and value != getattr(model.config, key)}
    if decoder:
        # Another decoder: every layer both networks have, by name and shape, starts from the --init weights; the
        # rest starts fresh.
        reshaped = type(model)(dataclasses.replace(model.config, **decoder))
        target = reshaped.state_dict()
        shared = {name: tensor for name, tensor in model.state_dict().items()
                  if name in target and target[name].shape == tensor.shape}
        reshaped.load_state_dict(shared, strict=False)
        model = reshaped
    return model.train()


def check_teacher_fits(model_kind: str, teacher_path: Path) -> None:
    """Raises ValueError unless the checkpoint at teacher_path takes the same inputs as a --model model_kind."""
    payload = read_checkpoint(teacher_path)
    teacher, student = build_from_config(payload["arch"], payload["config"]), build_model(model_kind)
    if teacher.ARCH != student.ARCH or teacher.config.in_channels != student.config.in_channels:
        raise ValueError(f"--teacher {teacher_path} holds a {teacher.ARCH} model with {teacher.config.in_channels} "
                         f"input channel(s), which cannot teach --model {model_kind}; pass a checkpoint of the same "
                         f"kind")


def load_teacher(settings: TrainSettings, device: torch.device) -> Optional[torch.nn.Module]:
    """The frozen --teacher network, in eval mode, or None; it must take the same inputs as the student."""
    if settings.teacher is None:
        return None
    check_teacher_fits(settings.model, settings.teacher)
    teacher, _ = load_checkpoint(settings.teacher)
    teacher = teacher.to(device).eval()
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    return teacher


def build_optimizer(model: torch.nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)


def warmup_steps(settings: TrainSettings) -> int:
    return settings.warmup or min(300, max(1, settings.iterations // 20))


def lr_factor(step: int, iterations: int, warmup: int) -> float:
    """Linear warm-up from 1% to full, then cosine decay to 1%."""
    if step < warmup:
        return 0.01 + 0.99 * step / max(1, warmup)
    progress = min(1.0, (step - warmup) / max(1, iterations - warmup))
    return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_schedule(optimizer: torch.optim.Optimizer, settings: TrainSettings):
    warmup = warmup_steps(settings)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, settings.iterations, warmup))


# ---- data -----------------------------------------------------------------------------------------------------
class TrainSamples(Dataset):
    """Sample number -> tensors. Indexing is unbounded: the sampler decides which numbers a step uses."""

    def __init__(self, pool: DataPool, kind: str, size: Tuple[int, int], seed: int, in_channels: int,
                 motion: bool = False, cast_shadows: bool = False, empty_share: Optional[float] = None,
                 camouflage: float = 0.0, real_share: Optional[float] = None):
        self.pool, self.kind, self.size, self.seed, self.in_channels = pool, kind, size, seed, in_channels
        self.motion, self.cast_shadows, self.empty_share = motion, cast_shadows, empty_share
        self.camouflage, self.real_share = camouflage, real_share

    def __len__(self):
        return 2 ** 62

    def __getitem__(self, number: int):
        rng = np.random.default_rng([self.seed, number])
        mask_tensor = lambda m: torch.from_numpy(m.astype(np.float32))[None]  # noqa: E731
        if self.kind == "plate":
            sample = composite.plate_sample(rng, self.pool, self.size, self.cast_shadows, self.camouflage,
                                            self.real_share)
            return (torch.from_numpy(normalise_image(sample.frame, self.in_channels)),
                    torch.from_numpy(normalise_image(sample.plate, self.in_channels)), mask_tensor(sample.mask))
        sample = composite.single_sample(rng, self.pool, self.size, self.motion, self.empty_share)
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
    # Each loader worker is its own process: one thread each, or the workers fight the training threads.
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def step_loader(settings: TrainSettings, pool: DataPool, in_channels: int, first_step: int, last_step: int,
                process: "Process") -> DataLoader:
    """The batches of steps first_step+1 .. last_step for this process."""
    samples = TrainSamples(pool, settings.model, settings.size, settings.seed, in_channels,
                           settings.motion_composites, settings.cast_shadows, settings.empty_scenes,
                           settings.camouflage, settings.real_pairs)
    batches = StepBatches(first_step, last_step, settings.batch_size, process.rank, process.world)
    return DataLoader(samples, batch_sampler=batches, num_workers=settings.workers, worker_init_fn=_worker_init,
                      pin_memory=process.device.type == "cuda", prefetch_factor=4 if settings.workers else None)


# ---- RNG state ------------------------------------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


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


def for_processes(model: torch.nn.Module, process: Process) -> torch.nn.Module:
    """The network the steps run through: the model itself, or its DistributedDataParallel wrapper."""
    if process.world <= 1:
        return model
    device = process.device
    return torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None)


# ---- a run: what a checkpoint holds -----------------------------------------------------------------------------
@dataclass
class Run:
    settings: TrainSettings
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    step: int = 0
    history: List[dict] = field(default_factory=list)
    best_iou: float = -1.0
    metrics: dict = field(default_factory=dict)  # the latest validation
    seconds_before: float = 0.0  # training time of the process(es) before a resume
    started: float = field(default_factory=time.time)

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def elapsed(self) -> float:
        return self.seconds_before + time.time() - self.started


def new_run(settings: TrainSettings, model: torch.nn.Module, device: torch.device) -> Run:
    model = model.to(device).train()
    optimizer = build_optimizer(model, settings)
    return Run(settings, model, optimizer, build_schedule(optimizer, settings),
               torch.amp.GradScaler("cuda", enabled=device.type == "cuda"))


def resumed_settings(settings: TrainSettings, payload: dict, say=print) -> TrainSettings:
    """The settings a resumed run continues with: the checkpoint's own for everything that defines the run and
    for the network's shape. When the flags given differ, say() tells the user which, in one line."""
    stored = dict(payload.get("settings") or {})
    stored["model"] = payload.get("model_option", stored.get("model"))
    config = payload.get("config") or {}
    changes, differing = {}, []

    def compare(key: str, theirs, mine) -> None:
        theirs = tuple(theirs) if isinstance(theirs, list) else theirs
        mine = str(mine) if isinstance(mine, Path) else mine  # checkpoints store paths as text
        changes[key] = theirs
        if mine is not None and theirs != mine and key not in NO_FLAG:
            differing.append(f"--{key.replace('_', '-')} {flag_value(key, mine)} (checkpoint: {flag_value(key, theirs)})")

    for key in (f.name for f in dataclasses.fields(settings)):
        if key not in USER_SETTINGS and stored.get(key) is not None:
            compare(key, stored[key], getattr(settings, key))
    for key, config_key in NETWORK_SHAPE.items():
        if config_key in config:
            compare(key, config[config_key], getattr(settings, key))
    if differing and say:
        say(f"note: {settings.resume} was made with other settings; continuing with the checkpoint's: "
            + "; ".join(differing))
    return dataclasses.replace(settings, **changes)


def flag_value(key: str, value) -> str:
    """A setting as it is written on the command line."""
    if key == "size":
        return f"{value[1]}x{value[0]}"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def resume_run(settings: TrainSettings, payload: dict, device: torch.device) -> Tuple[Run, dict]:
    """The run saved in a checkpoint, its network rebuilt from the checkpoint's own config; and the RNG state
    to restore once the data loader has started."""
    model = build_from_config(payload["arch"], payload["config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"the weights in {settings.resume} do not match its own config ({exc})") from None
    run = new_run(settings, model, device)
    run.optimizer.load_state_dict(payload["optimizer"])
    run.schedule.load_state_dict(payload["scheduler"])
    if run.scaler.is_enabled() and "scaler" in payload:
        run.scaler.load_state_dict(payload["scaler"])
    run.step = int(payload["step"])
    run.history = list(payload.get("history", []))
    run.best_iou = float(payload.get("best_iou", -1.0))
    run.seconds_before = float(payload.get("elapsed_s", 0.0))
    return run, payload["rng"]


def start_run(settings: TrainSettings, device: torch.device, say=print) -> Tuple[Run, Optional[dict]]:
    """A new run (fresh, or fine-tuning --init weights); or, with settings.resume, the saved run and the RNG
    state to restore once the data loader has started."""
    if settings.resume is None:
        return new_run(settings, starting_model(settings), device), None
    payload = read_checkpoint(settings.resume)
    return resume_run(resumed_settings(settings, payload, say), payload, device)


def save(run: Run, path: Path) -> None:
    settings = run.settings
    payload = checkpoint_payload(
        run.model, model_option=settings.model, step=run.step, iterations=settings.iterations,
        optimizer=run.optimizer.state_dict(), scheduler=run.schedule.state_dict(), rng=rng_state(),
        history=run.history, best_iou=run.best_iou, metrics=run.metrics, settings=settings_record(settings),
        elapsed_s=run.elapsed())
    if run.scaler.is_enabled():
        payload["scaler"] = run.scaler.state_dict()
    atomic_torch_save(payload, path)


# ---- one step, validation, progress -----------------------------------------------------------------------------
def train_one_step(network: torch.nn.Module, run: Run, batch, device: torch.device,
                   teacher: Optional[torch.nn.Module] = None) -> torch.Tensor:
    """Forward, loss, backward, clipped update and schedule step; returns the loss."""
    *inputs, target = [tensor.to(device, non_blocking=True) for tensor in batch]
    guided_weight = run.settings.guided_weight
    with torch.autocast(device.type, dtype=torch.float16, enabled=run.scaler.is_enabled()):
        if guided_weight > 0:
            low_res_logits = network(*inputs, low_res=True)
            logits = F.interpolate(low_res_logits, size=target.shape[-2:], mode="bilinear", align_corners=False)
        else:
            logits = network(*inputs)
        if teacher is not None:
            with torch.no_grad():
                teacher_logits = teacher(*inputs)
    loss = bce_dice_loss(logits, target, run.settings.hard_weight)
    if guided_weight > 0:
        loss = loss + guided_weight * guided_mask_loss(low_res_logits, inputs[0], target, run.settings.hard_weight)
    if teacher is not None:
        loss = loss + run.settings.distill_weight * distillation_loss(logits, teacher_logits)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.unscale_(run.optimizer)
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.settings.clip_norm)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.schedule.step()
    run.step += 1
    return loss.detach()


def validate(run: Run, items: List[ValItem], device: torch.device) -> dict:
    """Scores the held-out items, logs them, keeps best.pt and redraws the curves and overlays."""
    out, settings = Path(run.settings.out), run.settings
    title = f"{settings.model} model, batch {settings.batch_size}, seed {settings.seed}"
    found, shown = evaluate(run.model, items, device)
    run.metrics = found
    run.history.append({"step": run.step, "lr": run.lr, **found, "elapsed_s": round(run.elapsed(), 1)})
    if found.get("val_iou", -1.0) > run.best_iou:
        run.best_iou = found["val_iou"]
        save(run, out / "best.pt")
    report.write_log(out / "log.csv", run.history)
    report.plot_curves(out / "curves.png", run.history, title)
    report.plot_overlays(out / "val_overlays.png", shown, f"{title}, step {run.step}")
    return found


class LossWindow:
    """Mean loss and speed over the steps since the last log row."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.total, self.count, self.started = 0.0, 0, time.time()

    def add(self, loss: float) -> None:
        self.total += loss
        self.count += 1

    def log_row(self, run: Run) -> dict:
        rate = self.count / max(time.time() - self.started, 1e-9)
        row = {"step": run.step, "loss": round(self.total / self.count, 5), "lr": run.lr,
               "its_per_s": round(rate, 3), "elapsed_s": round(run.elapsed(), 1)}
        self.reset()
        return row


class ProgressBar:
    """tqdm bar with loss, rate and the latest validation; does nothing when off."""

    def __init__(self, enabled: bool, run: Run):
        self.bar = None
        if enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=run.settings.iterations, initial=run.step,
                            desc=f"training {run.settings.model}", dynamic_ncols=True)

    def show(self, run: Run, loss: torch.Tensor) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        postfix = {"loss": f"{loss.item():.3f}", "lr": f"{run.lr:.2e}"}
        if "val_iou" in run.metrics:
            postfix["iou"] = f"{run.metrics['val_iou']:.3f}"
        if "val_fp" in run.metrics:
            postfix["fp"] = f"{100 * run.metrics['val_fp']:.2f}%"
        self.bar.set_postfix(postfix, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def due(step: int, every: int, last_step: int) -> bool:
    return step % every == 0 or step == last_step


# ---- the loop -------------------------------------------------------------------------------------------------
def train(settings: TrainSettings, pool: DataPool, process: Optional[Process] = None) -> dict:
    """Trains, validates and checkpoints; returns the last validation metrics (rank 0) or {}."""
    process = process or start_process(settings.device)
    device = process.device
    seed_everything(settings.seed)
    run, resumed_rng = start_run(settings, device, say=print if process.is_main else None)
    settings = run.settings  # a resumed run's come from its checkpoint
    network = for_processes(run.model, process)
    teacher = load_teacher(settings, device)
    out = Path(settings.out)
    last_step = min(settings.iterations, settings.stop_after or settings.iterations)
    loader = step_loader(settings, pool, run.model.config.in_channels, run.step, last_step, process)
    val_items = validation_items(pool, settings.model == "plate") if process.is_main else []
    progress = ProgressBar(process.is_main and settings.progress, run)
    window = LossWindow()

    network.train()
    run.started = time.time()
    batches = iter(loader)  # draws the loader's base seed from torch's RNG, so restore RNG state after it
    if resumed_rng is not None:
        set_rng_state(resumed_rng)
    for batch in batches:
        loss = train_one_step(network, run, batch, device, teacher)
        if process.is_main:
            window.add(loss.item())
            if due(run.step, settings.log_every, last_step):
                run.history.append(window.log_row(run))
        if due(run.step, settings.val_every, last_step):
            if process.is_main:
                if val_items:
                    validate(run, val_items, device)
                save(run, out / "last.pt")
                report.write_log(out / "log.csv", run.history)
            barrier(process)
        progress.show(run, loss)
    progress.close()
    if process.is_main and run.step == settings.iterations and not val_items:
        save(run, out / "best.pt")  # nothing to validate on: the final weights are the best we know
    return run.metrics
