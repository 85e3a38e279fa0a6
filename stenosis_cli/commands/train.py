"""`stenosis train`: train the CFR model (or a baseline head) on a dataset file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from stenosis_cli.console import err_console, progress_callback
from stenosis_cli.options import Quiet

EXIT_STOPPED = 143  # 128 + SIGTERM: the job was asked to stop and saved a checkpoint


def _epoch_line(row: dict[str, Any]) -> str:
    parts = [f"epoch {row['epoch']}", f"train loss {row['train_loss']:.4f}"]
    for key in ("val_loss", "val_qwk", "val_mae", "val_amae", "val_mcre", "val_amcre"):
        if row.get(key) is not None:
            parts.append(f"{key.removeprefix('val_')} {row[key]:.3f}")
    return "  ".join(parts) + f"  ({row['seconds']:.1f} s)"


def train(
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="Dataset HDF5 from build-dataset.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run folder: checkpoints, config, metrics log, curves.")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config (default: the paper's hyper-parameters).")
    ] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", help="Override one key, e.g. --set optim.lr=3e-4 (repeatable).")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its last.pt.")] = False,
    device: Annotated[str | None, typer.Option("--device", help="auto, cpu, cuda, cuda:1 ... (overrides run.device).")] = None,
    quiet: Quiet = False,
) -> None:
    """Train with AdamW, warm-up + cosine, validation every epoch, best and last checkpoints.
    Under `torchrun --nproc_per_node N` it trains with DistributedDataParallel."""
    from stages.train.config import load_config  # torch loads only for the commands that need it
    from stages.train.loop import train as train_run

    settings = list(overrides or []) + ([f"run.device={device}"] if device else [])
    cfg = load_config(config, settings)
    with progress_callback("training", quiet) as progress:
        result = train_run(
            dataset, cfg, out, resume=resume, progress=progress,
            on_epoch=None if quiet else (lambda row: err_console.print(_epoch_line(row), highlight=False)),
        )
    if result.stopped:
        err_console.print(f"stopped by SIGTERM after {result.epochs_done} epochs; {out / 'last.pt'} saved: rerun with --resume")
        raise typer.Exit(EXIT_STOPPED)
    if not quiet:
        best = "-" if result.best_value is None else f"{result.best_value:.4f}"
        err_console.print(f"done: {result.epochs_done} epochs; best {cfg.run.select} {best}; run folder {out}")


def register(app: typer.Typer) -> None:
    """Add `train` to ``app``."""
    app.command(
        "train",
        help="Train the CFR model with the clinical risk-aware loss -> run folder with checkpoints.",
        epilog=(
            "Example: stenosis train --dataset dataset.h5 --config examples/configs/demo.yaml --out runs/demo "
            "--set optim.lr=3e-4   (multi-GPU: torchrun --nproc_per_node 4 -m stenosis_cli train ...)"
        ),
    )(train)
