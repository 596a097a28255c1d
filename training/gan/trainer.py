"""The image-to-image training loop: pix2pix (paired), its L1-only baseline, and cycleGAN (unpaired).

Adam (lr 2e-4, beta1 0.5) with a constant rate for the first half of the steps and a linear decay to zero over the
second half. Checkpoints hold every network, optimizer, schedule, RNG state and history pool, so `--resume`
continues exactly where an uninterrupted run would be. Under torchrun each network is wrapped in
DistributedDataParallel and called once per step (the two generators or the two critics of cycleGAN run inside
one module), as DDP expects.
"""
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from models.checkpoint import atomic_torch_save, checkpoint_payload, read_checkpoint
from models.gan.networks import (PatchDiscriminator, PatchDiscriminatorConfig, ResnetGenerator,
                                 ResnetGeneratorConfig, UnetGenerator, UnetGeneratorConfig)
from training import report
from training.gan.data import PairedData, PairedSamples, UnpairedData, UnpairedSamples
from training.gan.losses import AdversarialLoss, HistoryPool
from training.gan.validation import validate_cycle, validate_paired, write_grid
from training.loop import Process, StepBatches, barrier, rng_state, set_rng_state, start_process

GAN_LOG_COLUMNS = ["step", "loss", "loss_d", "loss_l1", "loss_gate", "loss_cycle", "lr", "val_l1", "val_iou",
                   "val_box_l1", "val_box_ssim", "val_cycle_l1", "its_per_s", "elapsed_s"]


@dataclass
class GanSettings:
    model: str = "pix2pix"  # pix2pix or cyclegan
    iterations: int = 2000
    batch_size: int = 4
    size: Tuple[int, int] = (256, 192)  # (height, width)
    lr: float = 2e-4
    beta1: float = 0.5
    seed: int = 0
    workers: int = 0
    val_every: int = 200
    val_limit: int = 64  # held-out examples measured at each validation (0: all)
    log_every: int = 10
    device: str = "auto"
    out: Path = Path("runs/pix2pix")
    resume: Optional[Path] = None
    stop_after: Optional[int] = None
    progress: bool = True
    generator: str = "unet"  # unet or resnet
    width: int = 64
    depth: int = 8  # U-Net levels
    blocks: int = 9  # ResNet blocks
    critic_width: int = 64
    critic_layers: int = 3
    norm: str = "instance"
    dropout: float = 0.5
    input_gate: bool = False  # U-Net only: blend the input's pixels into the output through a predicted gate
    white_gate: bool = False  # U-Net only: blend the output into white through a predicted gate (the silhouette)
    global_gate: bool = False  # with white_gate: decode that gate from the bottleneck alone
    mask_hint: Optional[str] = None  # cut-out data: weights file (in models/weights) of the mask net whose mask
    # is the 4th input channel; the checkpoint records it so the extractor makes the same hint
    lambda_gate: float = 0.0  # gated pix2pix on data with target masks: weight of the gate's cross-entropy
    l1_only: bool = False  # pix2pix without the critic: the L1 baseline
    lambda_l1: float = 100.0
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    pool_size: int = 50
    jitter: float = 0.0
    layout: str = "auto"
    data_description: List[str] = field(default_factory=list)


def settings_record(settings: GanSettings) -> dict:
    record = {}
    for key, value in vars(settings).items():
        record[key] = str(value) if isinstance(value, Path) else (list(value) if isinstance(value, tuple) else value)
    return record


def linear_decay(step: int, iterations: int) -> float:
    """1 for the first half of the steps, then straight down to 0 at the last step."""
    half = iterations // 2
    if step < half:
        return 1.0
    return max(0.0, 1.0 - (step - half) / max(1, iterations - half))


def make_generator(settings: GanSettings, in_channels: int, out_channels: int = 3) -> nn.Module:
    if settings.generator == "unet":
        return UnetGenerator(UnetGeneratorConfig(in_channels, out_channels, settings.width, settings.depth,
                                                 norm=settings.norm, dropout=settings.dropout,
                                                 input_gate=settings.input_gate, white_gate=settings.white_gate,
                                                 global_gate=settings.global_gate))
    if settings.input_gate or settings.white_gate:
        raise ValueError("--input-gate and --white-gate need the U-Net generator (--generator unet)")
    if settings.generator == "resnet":
        return ResnetGenerator(ResnetGeneratorConfig(in_channels, out_channels, settings.width, settings.blocks,
                                                     norm=settings.norm))
    raise ValueError(f"unknown generator {settings.generator!r}; choose unet or resnet")


def make_critic(settings: GanSettings, in_channels: int) -> nn.Module:
    return PatchDiscriminator(PatchDiscriminatorConfig(in_channels, settings.critic_width, settings.critic_layers,
                                                       settings.norm))


def check_size(settings: GanSettings, generator: nn.Module) -> None:
    multiple = generator.config.size_multiple
    height, width = settings.size
    if height % multiple or width % multiple:
        raise ValueError(f"--size {width}x{height}: each side must be a multiple of {multiple} for this generator "
                         f"(lower --depth or pick another size)")


def network_record(model: nn.Module) -> dict:
    return {"arch": model.ARCH, "config": model.config_dict(),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


class CycleGenerators(nn.Module):
    """Both cycleGAN generators in one module, so that DDP sees one forward per step."""

    def __init__(self, a_to_b: nn.Module, b_to_a: nn.Module):
        super().__init__()
        self.a_to_b, self.b_to_a = a_to_b, b_to_a

    def forward(self, real_a, real_b, identity: bool):
        fake_b, fake_a = self.a_to_b(real_a), self.b_to_a(real_b)
        out = {"fake_b": fake_b, "fake_a": fake_a, "cycled_a": self.b_to_a(fake_b), "cycled_b": self.a_to_b(fake_a)}
        if identity:
            out["same_b"], out["same_a"] = self.a_to_b(real_b), self.b_to_a(real_a)
        return out


class CriticPair(nn.Module):
    """Both cycleGAN critics, each seeing its real and its (pooled) fake images in one batch."""

    def __init__(self, critic_a: nn.Module, critic_b: nn.Module):
        super().__init__()
        self.critic_a, self.critic_b = critic_a, critic_b

    def forward(self, batch_a, batch_b):
        return self.critic_a(batch_a), self.critic_b(batch_b)


def frozen(module: nn.Module, is_frozen: bool) -> None:
    for parameter in module.parameters():
        parameter.requires_grad_(not is_frozen)


class Run:
    """Networks, optimizers and the bookkeeping both GAN modes share: schedule, save, resume, logs, progress."""

    def __init__(self, settings: GanSettings, process: Process, networks: Dict[str, nn.Module],
                 primary: str, extra: dict):
        self.settings, self.process, self.networks, self.primary, self.extra = settings, process, networks, primary, extra
        self.optimizers = {}
        self.schedulers = {}
        self.pools: Dict[str, HistoryPool] = {}
        self.step, self.history, self.best, self.elapsed_before, self.resumed_rng = 0, [], None, 0.0, None
        self.metrics = {}
        self.started = time.time()
        self.out = Path(settings.out)

    def add_optimizer(self, name: str, parameters) -> None:
        optimizer = torch.optim.Adam(parameters, lr=self.settings.lr, betas=(self.settings.beta1, 0.999))
        self.optimizers[name] = optimizer
        self.schedulers[name] = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: linear_decay(step, self.settings.iterations))

    def lr(self) -> float:
        return next(iter(self.optimizers.values())).param_groups[0]["lr"]

    def save(self, name: str) -> None:
        others = {key: network_record(net) for key, net in self.networks.items() if key != self.primary}
        payload = checkpoint_payload(
            self.networks[self.primary], model_option=self.settings.model, networks=others,
            optimizers={k: o.state_dict() for k, o in self.optimizers.items()},
            schedulers={k: s.state_dict() for k, s in self.schedulers.items()},
            pools={k: p.state() for k, p in self.pools.items()}, step=self.step,
            iterations=self.settings.iterations, rng=rng_state(), history=self.history, best=self.best,
            metrics=self.metrics, settings=settings_record(self.settings),
            elapsed_s=self.elapsed_before + time.time() - self.started, **self.extra)
        atomic_torch_save(payload, self.out / name)

    def resume(self, path: Path) -> None:
        payload = read_checkpoint(path, map_location="cpu")
        option = payload.get("model_option")
        if option != self.settings.model or bool(payload.get("l1_only")) != self.settings.l1_only:
            raise ValueError(f"{path} holds a {option!r} run (l1_only={bool(payload.get('l1_only'))}); pass the "
                             f"same --model and --l1-only to resume it")
        states = {self.primary: payload["state_dict"]}
        states.update({k: record["state_dict"] for k, record in payload.get("networks", {}).items()})
        for name, network in self.networks.items():
            if name not in states:
                raise ValueError(f"{path} has no weights for the {name}; it was written by another kind of run")
            try:
                network.load_state_dict(states[name])
            except RuntimeError as exc:
                raise ValueError(f"{path}: the {name} does not match this run's settings (pass the same --width, "
                                 f"--depth, --norm, --input-gate, --white-gate, --global-gate, --mask-hint and --size "
                                 f"as the first run): {exc}") from exc
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(payload["optimizers"][name])
            self.schedulers[name].load_state_dict(payload["schedulers"][name])
        for name, pool in self.pools.items():
            pool.load_state(payload.get("pools", {}).get(name, torch.zeros(0)))
        self.step = int(payload["step"])
        self.history = list(payload.get("history", []))
        self.best = payload.get("best")
        self.metrics = dict(payload.get("metrics", {}))
        self.elapsed_before = float(payload.get("elapsed_s", 0.0))
        self.resumed_rng = payload["rng"]

    def elapsed(self) -> float:
        return round(self.elapsed_before + time.time() - self.started, 1)

    def record_validation(self, figures: dict, score_key: str, grid, grid_labels) -> None:
        """Logs the figures, keeps best.pt by the lowest score, writes the log, curves and grid."""
        self.metrics = figures
        self.history.append({"step": self.step, "lr": self.lr(), **figures, "elapsed_s": self.elapsed()})
        score = figures.get(score_key)
        if score is not None and (self.best is None or score < self.best):
            self.best = score
            self.save("best.pt")
        write_grid(self.out / "val_grid.png", grid, grid_labels)
        self.write_reports(score_key)

    def write_reports(self, score_key: str) -> None:
        title = f"{self.settings.model}{' (L1 only)' if self.settings.l1_only else ''}, " \
                f"batch {self.settings.batch_size}, seed {self.settings.seed}"
        report.write_log(self.out / "log.csv", self.history, columns=GAN_LOG_COLUMNS)
        report.plot_curves(self.out / "curves.png", self.history, title, loss_label="generator loss",
                           score_key=score_key, score_label=score_key.replace("_", " "))


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    cv2.setNumThreads(1)


def _loader(dataset, run: Run, last_step: int) -> DataLoader:
    settings, process = run.settings, run.process
    return DataLoader(dataset, batch_sampler=StepBatches(run.step, last_step, settings.batch_size, process.rank,
                                                         process.world),
                      num_workers=settings.workers, pin_memory=process.device.type == "cuda",
                      prefetch_factor=4 if settings.workers else None)


def _wrap(module: nn.Module, process: Process) -> nn.Module:
    if process.world <= 1:
        return module
    device = process.device
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda"
                                                     else None)


def _progress(run: Run):
    if not (run.process.is_main and run.settings.progress):
        return None
    from tqdm import tqdm
    name = "L1 baseline" if run.settings.l1_only else run.settings.model
    return tqdm(total=run.settings.iterations, initial=run.step, desc=f"training {name}", dynamic_ncols=True)


class LossWindow:
    """Running means of the losses between two log lines."""

    def __init__(self):
        self.sums, self.count, self.start = {}, 0, time.time()

    def add(self, values: dict) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.count += 1

    def row(self, run: Run) -> dict:
        rate = self.count / max(time.time() - self.start, 1e-9)
        row = {"step": run.step, "lr": run.lr(), "its_per_s": round(rate, 3), "elapsed_s": run.elapsed()}
        row.update({key: round(total / max(1, self.count), 5) for key, total in self.sums.items()})
        self.sums, self.count, self.start = {}, 0, time.time()
        return row


def _loop(run: Run, loader: DataLoader, train_step, validate, score_key: str) -> dict:
    settings, process = run.settings, run.process
    last_step = min(settings.iterations, settings.stop_after or settings.iterations)
    bar = _progress(run)
    window = LossWindow()
    batches = iter(loader)  # draws the loader's base seed from torch's RNG, so restore RNG state after it
    if run.resumed_rng is not None:
        set_rng_state(run.resumed_rng)
    for batch in batches:
        losses = train_step([tensor.to(process.device, non_blocking=True) for tensor in batch])
        for scheduler in run.schedulers.values():
            scheduler.step()
        run.step += 1
        at_validation = run.step % settings.val_every == 0 or run.step == last_step
        if process.is_main:
            window.add(losses)
            if run.step % settings.log_every == 0 or run.step == last_step:
                run.history.append(window.row(run))
            if at_validation:
                validate()
                run.save("last.pt")
                run.write_reports(score_key)
            if bar is not None:
                bar.update(1)
                postfix = {key: f"{value:.3f}" for key, value in losses.items()}
                postfix.update({key[4:]: f"{value:.3f}" for key, value in run.metrics.items()
                                if key in ("val_iou", "val_l1", "val_box_l1", "val_cycle_l1")})
                bar.set_postfix(postfix, refresh=False)
        if at_validation:
            barrier(process)
    if bar is not None:
        bar.close()
    return run.metrics


# ---- pix2pix ----------------------------------------------------------------------------------------------------
def train_pix2pix(settings: GanSettings, data: PairedData, process: Optional[Process] = None) -> dict:
    """Conditional GAN loss plus lambda * L1; the critic sees input and output stacked. With l1_only, no critic."""
    process = process or start_process(settings.device)
    seed_everything(settings.seed)
    device = process.device
    generator = make_generator(settings, data.input_channels).to(device)
    check_size(settings, generator)
    networks = {"generator": generator}
    if not settings.l1_only:
        networks["critic"] = make_critic(settings, data.input_channels + 3).to(device)
    run = Run(settings, process, networks, "generator",
              {"l1_only": settings.l1_only, "layout": data.layout, "fit": data.fit, "size": list(settings.size),
               "mask_hint": settings.mask_hint})
    run.add_optimizer("generator", generator.parameters())
    if not settings.l1_only:
        run.add_optimizer("critic", networks["critic"].parameters())
    if settings.resume is not None:
        run.resume(settings.resume)
    generator_net = _wrap(generator, process)
    critic = networks.get("critic")
    critic_net = _wrap(critic, process) if critic is not None else None
    adversarial = AdversarialLoss("vanilla")
    val_examples = data.val if not settings.val_limit else data.val[:settings.val_limit]
    last_step = min(settings.iterations, settings.stop_after or settings.iterations)
    if bool(settings.mask_hint) != (data.layout == "cutout" and data.input_channels == 4):
        raise ValueError("settings.mask_hint must name the mask net exactly when the cut-out data carries hint masks")
    supervise_gate = settings.lambda_gate > 0
    if supervise_gate and not ((settings.input_gate or settings.white_gate) and data.has_target_masks):
        raise ValueError("--lambda-gate needs --input-gate or --white-gate and data with target masks (portraits, "
                         "capture sets, try-on pairs)")
    loader = _loader(PairedSamples(data.train, settings.size, settings.seed, settings.jitter, data.fit,
                                   with_masks=supervise_gate), run, last_step)
    score_key = "val_l1"

    def train_step(batch):
        losses = {}
        if supervise_gate:
            # The gate should be open exactly on the target's silhouette (the person, the product garment): say so
            # directly instead of only through L1.
            source, target, mask = batch
            fake, gate_logits = generator_net(source, with_gate_logits=True)
            loss_gate = F.binary_cross_entropy_with_logits(gate_logits, mask)
            losses["loss_gate"] = loss_gate.item()
        else:
            source, target = batch
            fake = generator_net(source)
        if critic is not None:
            real_pair, fake_pair = torch.cat([source, target], 1), torch.cat([source, fake.detach()], 1)
            real_logits, fake_logits = critic_net(torch.cat([real_pair, fake_pair], 0)).chunk(2)
            loss_d = 0.5 * (adversarial(real_logits, True) + adversarial(fake_logits, False))
            run.optimizers["critic"].zero_grad(set_to_none=True)
            loss_d.backward()
            run.optimizers["critic"].step()
            losses["loss_d"] = loss_d.item()
        loss_l1 = F.l1_loss(fake, target)
        loss_g = settings.lambda_l1 * loss_l1
        if supervise_gate:
            loss_g = loss_g + settings.lambda_gate * loss_gate
        if critic is not None:
            frozen(critic, True)  # the plain module: its gradients are not wanted, and DDP is not involved
            loss_g = loss_g + adversarial(critic(torch.cat([source, fake], 1)), True)
            frozen(critic, False)
        run.optimizers["generator"].zero_grad(set_to_none=True)
        loss_g.backward()
        run.optimizers["generator"].step()
        losses.update({"loss": loss_g.item(), "loss_l1": loss_l1.item()})
        return losses

    def validate():
        if not val_examples:
            return
        figures, grid = validate_paired(generator, val_examples, settings.size, device, data.fit)
        run.record_validation(figures, score_key, grid, ["input", "output", "target"])

    metrics = _loop(run, loader, train_step, validate, score_key)
    if process.is_main and run.step == settings.iterations and not val_examples:
        run.save("best.pt")
    return metrics


# ---- cycleGAN ---------------------------------------------------------------------------------------------------
def train_cyclegan(settings: GanSettings, data: UnpairedData, process: Optional[Process] = None) -> dict:
    """LSGAN losses, cycle-consistency (lambda_cycle) and identity (lambda_identity * lambda_cycle) terms, and a
    history pool of earlier fakes for each critic."""
    process = process or start_process(settings.device)
    seed_everything(settings.seed)
    device = process.device
    a_to_b, b_to_a = make_generator(settings, 3).to(device), make_generator(settings, 3).to(device)
    check_size(settings, a_to_b)
    critic_a, critic_b = make_critic(settings, 3).to(device), make_critic(settings, 3).to(device)
    networks = {"generator_a_to_b": a_to_b, "generator_b_to_a": b_to_a, "critic_a": critic_a, "critic_b": critic_b}
    run = Run(settings, process, networks, "generator_a_to_b",
              {"l1_only": False, "layout": "unpaired", "size": list(settings.size)})
    run.add_optimizer("generators", list(a_to_b.parameters()) + list(b_to_a.parameters()))
    run.add_optimizer("critics", list(critic_a.parameters()) + list(critic_b.parameters()))
    run.pools = {"fake_a": HistoryPool(settings.pool_size), "fake_b": HistoryPool(settings.pool_size)}
    if settings.resume is not None:
        run.resume(settings.resume)
    generators = _wrap(CycleGenerators(a_to_b, b_to_a), process)
    critics = _wrap(CriticPair(critic_a, critic_b), process)
    adversarial = AdversarialLoss("lsgan")
    identity = settings.lambda_identity > 0
    val_a = data.val_a[:settings.val_limit] if settings.val_limit else data.val_a
    val_b = data.val_b[:settings.val_limit] if settings.val_limit else data.val_b
    last_step = min(settings.iterations, settings.stop_after or settings.iterations)
    loader = _loader(UnpairedSamples(data, settings.size, settings.seed, settings.jitter), run, last_step)

    def train_step(batch):
        real_a, real_b = batch
        out = generators(real_a, real_b, identity)
        frozen(critic_a, True)
        frozen(critic_b, True)
        loss_adv = adversarial(critic_b(out["fake_b"]), True) + adversarial(critic_a(out["fake_a"]), True)
        loss_cycle = F.l1_loss(out["cycled_a"], real_a) + F.l1_loss(out["cycled_b"], real_b)
        loss_g = loss_adv + settings.lambda_cycle * loss_cycle
        if identity:
            loss_same = F.l1_loss(out["same_b"], real_b) + F.l1_loss(out["same_a"], real_a)
            loss_g = loss_g + settings.lambda_cycle * settings.lambda_identity * loss_same
        frozen(critic_a, False)
        frozen(critic_b, False)
        run.optimizers["generators"].zero_grad(set_to_none=True)
        loss_g.backward()
        run.optimizers["generators"].step()
        # Pool choices depend only on (seed, step, rank): a resumed run makes the same ones.
        rng = np.random.default_rng([settings.seed, run.step, process.rank, 7])
        shown_a = run.pools["fake_a"].query(out["fake_a"], rng)
        shown_b = run.pools["fake_b"].query(out["fake_b"], rng)
        logits_a, logits_b = critics(torch.cat([real_a, shown_a.detach()], 0), torch.cat([real_b, shown_b.detach()], 0))
        real_logits_a, fake_logits_a = logits_a.chunk(2)
        real_logits_b, fake_logits_b = logits_b.chunk(2)
        loss_d = 0.5 * (adversarial(real_logits_a, True) + adversarial(fake_logits_a, False)) + \
            0.5 * (adversarial(real_logits_b, True) + adversarial(fake_logits_b, False))
        run.optimizers["critics"].zero_grad(set_to_none=True)
        loss_d.backward()
        run.optimizers["critics"].step()
        return {"loss": loss_g.item(), "loss_d": loss_d.item(), "loss_cycle": loss_cycle.item()}

    def validate():
        error_a, grid_a = validate_cycle(a_to_b, b_to_a, val_a, settings.size, device)
        error_b, grid_b = validate_cycle(b_to_a, a_to_b, val_b, settings.size, device)
        errors = [e for e in (error_a, error_b) if e is not None]
        if not errors:
            return
        figures = {"val_cycle_l1": float(np.mean(errors))}
        run.record_validation(figures, "val_cycle_l1", grid_a[:3] + grid_b[:3],
                              ["input", "translated", "translated back"])

    metrics = _loop(run, loader, train_step, validate, "val_cycle_l1")
    if process.is_main and run.step == settings.iterations and not (val_a or val_b):
        run.save("best.pt")
    return metrics
