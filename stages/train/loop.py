"""The training loop: AdamW with warm-up + cosine, mixed precision on GPU, gradient clipping,
per-epoch validation, best and last checkpoints, exact resume, SIGTERM-safe stop, and
DistributedDataParallel when launched by ``torchrun``.

The order of training instances in epoch ``e`` is a permutation drawn from ``seed`` and ``e``
alone, cut into global batches of ``optim.batch_size``; under DDP each global batch is split
evenly across ranks, so N processes take the same optimiser steps as one process would.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from stages.dataset.loader import Augment, InstanceDataset, collate
from stages.errors import InputError
from stages.io.artifacts import write_text
from stages.evaluate.report import metrics_report
from stages.train import distributed
from stages.train.checkpoint import load_checkpoint, save_checkpoint
from stages.train.config import SELECT_METRICS, TrainConfig
from stages.train.curves import plot_curves, write_log
from stages.train.factory import build
from stages.train.schedule import learning_rate

Progress = Callable[[int, int, str], None]
_ORDER_SEED = 1_000_003


@dataclass(frozen=True)
class TrainResult:
    """Where the run lives, how far it got, and its last validation row."""

    run_dir: Path
    epochs_done: int
    stopped: bool
    best_value: float | None
    last: dict[str, Any]


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> list[list[int]]:
    """This rank's item indices for each optimiser step of ``epoch``: a seeded permutation of
    ``range(n)`` cut into global batches, each split evenly across ``world`` ranks (a global
    batch that cannot be split evenly is dropped when ``world > 1``)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * _ORDER_SEED + epoch)).tolist()
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if world == 1:
        return batches
    share = [b for b in batches if len(b) % world == 0 and len(b) >= world]
    return [b[rank * len(b) // world : (rank + 1) * len(b) // world] for b in share]


@contextmanager
def _sigterm_flag() -> Iterator[threading.Event]:
    """An event set when SIGTERM arrives (SLURM's warning before a kill or requeue)."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: flag.set())
    try:
        yield flag
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check_labels(data: InstanceDataset, split: str) -> None:
    grades = data.index.grade[data.rows]
    if data.rows.size and (grades == 0).any():
        first = data.instance_ids()[int(np.argmax(grades == 0))]
        raise InputError(data.path, f"instance '{first}' of split '{split}' has no grade; training needs graded instances")


def _dataset_provenance(path: Path) -> str:
    with h5py.File(path, "r") as h5:
        raw = h5.attrs.get("provenance", "{}")
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class _Trainer:
    """The state of one run on one rank."""

    def __init__(self, dataset: Path, config: TrainConfig, run_dir: Path, context: distributed.Context) -> None:
        self.config, self.run_dir, self.context = config, run_dir, context
        data = config.data
        augment = Augment(max_degrees=data.max_degrees, intensity=data.intensity, noise=data.noise, blur=data.blur) if data.augment else None
        self.train_set = InstanceDataset(dataset, "train", augment=augment, seed=config.run.seed)
        self.val_set = InstanceDataset(dataset, "val")
        if len(self.train_set) == 0:
            raise InputError(dataset, "no instance in split 'train'")
        _check_labels(self.train_set, "train")
        _check_labels(self.val_set, "val")
        torch.manual_seed(config.run.seed)
        model, self.head = build(config)
        self.model = model.to(context.device)
        self.net: torch.nn.Module = self.model
        if context.distributed:
            ids = [context.device.index] if context.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay)
        self.amp = config.run.amp and context.device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if self.amp and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)
        self.steps_per_epoch = len(epoch_batches(len(self.train_set), config.optim.batch_size, 0, 0, 0, context.world))
        self.total_steps = self.steps_per_epoch * config.optim.epochs
        self.warmup_steps = self.steps_per_epoch * config.optim.warmup_epochs
        self.epoch = self.batch = self.step = 0
        self.best: float | None = None
        self.rows: list[dict[str, Any]] = []
        self.dataset_provenance = _dataset_provenance(dataset)

    # state ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        rng = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(), "epoch": self.epoch, "batch": self.batch, "step": self.step,
            "rng": rng, "best": self.best, "rows": self.rows, "config": self.config.to_dict(),
            "dataset": self.dataset_provenance,
        }

    def load(self, path: Path) -> None:
        state = load_checkpoint(path, map_location=self.context.device)
        if state.get("config") != self.config.to_dict():
            stored = state.get("config", {})
            ours = self.config.to_dict()
            differ = sorted(
                f"{s}.{k}" for s in ours for k in ours[s] if stored.get(s, {}).get(k) != ours[s][k]
            )
            raise InputError(path, f"cannot resume: the config differs from the checkpoint's in {', '.join(differ) or 'its sections'}")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.batch, self.step = int(state["epoch"]), int(state["batch"]), int(state["step"])
        self.best, self.rows = state["best"], list(state["rows"])
        torch.set_rng_state(state["rng"]["cpu"].cpu())
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["rng"]["cuda"]])

    def save(self, name: str) -> None:
        if self.context.is_main:
            save_checkpoint(self.run_dir / name, self.state())

    # loop ----------------------------------------------------------------------------------
    def _loader(self, data: InstanceDataset, batches: list[list[int]]) -> DataLoader:
        workers = self.config.data.num_workers
        return DataLoader(
            data, batch_sampler=batches, collate_fn=collate, num_workers=workers,
            pin_memory=self.context.device.type == "cuda", generator=torch.Generator().manual_seed(0),
            persistent_workers=False,
        )

    def _autocast(self):
        return torch.autocast("cuda", dtype=self.amp_dtype) if self.amp else nullcontext()

    def train_epoch(self, stop: threading.Event, progress: Progress | None) -> tuple[float, bool]:
        """Run the rest of the current epoch; returns the mean loss and whether SIGTERM stopped it."""
        cfg = self.config.optim
        self.net.train()
        self.train_set.epoch = self.epoch
        batches = epoch_batches(len(self.train_set), cfg.batch_size, self.config.run.seed, self.epoch,
                                self.context.rank, self.context.world)[self.batch :]
        losses: list[float] = []
        for batch in self._loader(self.train_set, batches):
            batch = self.train_set.to_device(batch, self.context.device)
            lr = learning_rate(self.step, base_lr=cfg.lr, warmup_steps=self.warmup_steps, total_steps=self.total_steps)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            with self._autocast():
                outputs = self.net(batch)
            loss = self.head.loss(outputs.float(), batch["grade"])
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if cfg.grad_clip > 0:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.step += 1
            self.batch += 1
            losses.append(loss.item())
            if progress is not None:
                progress(self.step, self.total_steps, f"epoch {self.epoch + 1} loss {np.mean(losses):.3f}")
            if distributed.any_rank(self.context, stop.is_set()):
                return float(np.mean(losses)), True
        return (float(np.mean(losses)) if losses else math.nan), False

    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        """Validation loss and metrics over the val split, gathered from all ranks."""
        if len(self.val_set) == 0:
            return {}
        self.net.eval()
        rows = list(range(self.context.rank, len(self.val_set), self.context.world))
        batches = [rows[i : i + self.config.optim.batch_size] for i in range(0, len(rows), self.config.optim.batch_size)]
        grades, preds, losses = [], [], []
        for batch in self._loader(self.val_set, batches):
            batch = self.val_set.to_device(batch, self.context.device)
            with self._autocast():
                outputs = self.model(batch).float()
            losses.append(self.head.loss(outputs, batch["grade"]).item() * len(batch["grade"]))
            grades += batch["grade"].tolist()
            preds += self.head.decode(outputs).tolist()
        parts = distributed.gather(self.context, (grades, preds, sum(losses)))
        grades = [g for p in parts for g in p[0]]
        preds = [g for p in parts for g in p[1]]
        report = metrics_report(grades, preds)
        out = {"val_loss": sum(p[2] for p in parts) / len(grades)}
        return out | {f"val_{k}": report[k] for k in ("qwk", "mae", "amae", "mcre", "amcre")}

    def improved(self, row: dict[str, Any]) -> bool:
        """Whether this epoch is the best so far by ``run.select`` (always, without a val split)."""
        if len(self.val_set) == 0:
            return True
        key = self.config.run.select
        value = row.get(f"val_{key}")
        if value is None or math.isnan(value):
            return False
        better = self.best is None or (value > self.best if SELECT_METRICS[key] == "max" else value < self.best)
        if better:
            self.best = float(value)
        return better


def train(
    dataset: str | Path,
    config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train on the ``train`` split of ``dataset``, validating on ``val`` after every epoch.

    Writes into ``run_dir`` (rank 0 only): ``config.yaml``, ``last.pt`` (every epoch, and on
    SIGTERM mid-epoch), ``best.pt`` (by ``run.select``), ``metrics.csv`` and ``curves.png``.
    With ``resume``, continues from ``run_dir/last.pt`` exactly where it stopped.
    """
    dataset, run_dir = Path(dataset), Path(run_dir)
    context = distributed.setup(config.run.device)
    try:
        if config.run.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
        trainer = _Trainer(dataset, config, run_dir, context)
        if resume:
            if not (run_dir / "last.pt").is_file():
                raise InputError(run_dir, "nothing to resume: no last.pt in the run folder")
            trainer.load(run_dir / "last.pt")
        elif (run_dir / "last.pt").exists():
            raise InputError(run_dir, "run folder already holds a run (last.pt); use --resume or another --out")
        if context.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_text(run_dir / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
        stopped = False
        with _sigterm_flag() as stop:
            while trainer.epoch < config.optim.epochs:
                started = time.perf_counter()
                loss, stopped = trainer.train_epoch(stop, progress)
                if stopped:
                    trainer.save("last.pt")
                    break
                row = {"epoch": trainer.epoch + 1, "step": trainer.step, "train_loss": loss,
                       "lr": trainer.optimizer.param_groups[0]["lr"]} | trainer.validate()
                row["seconds"] = time.perf_counter() - started
                trainer.epoch += 1
                trainer.batch = 0
                trainer.rows.append(row)
                if trainer.improved(row):
                    trainer.save("best.pt")
                trainer.save("last.pt")
                if context.is_main:
                    write_log(trainer.rows, run_dir / "metrics.csv")
                    plot_curves(trainer.rows, run_dir / "curves.png")
                if on_epoch is not None and context.is_main:
                    on_epoch(row)
        return TrainResult(run_dir, trainer.epoch, stopped, trainer.best, trainer.rows[-1] if trainer.rows else {})
    finally:
        distributed.teardown(context)
