"""`stenosis predict`: grade the instances of a dataset with a checkpoint -> predictions CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stenosis_cli.console import err_console, progress_callback
from stenosis_cli.options import Quiet


def predict(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", "-c", help="Checkpoint from `stenosis train` (best.pt or last.pt).")],
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="Dataset HDF5 from build-dataset.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Predictions CSV to write.")],
    split: Annotated[str, typer.Option("--split", help="train, val, test or all.")] = "test",
    device: Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")] = "auto",
    tta: Annotated[bool, typer.Option("--tta", help="Average the outputs over 4 mirrored views.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Instances per forward pass.")] = 16,
    workers: Annotated[int, typer.Option("--workers", min=0, help="DataLoader worker processes.")] = 0,
    quiet: Quiet = False,
) -> None:
    """Predicted grade and probabilities p1..p5 for each instance; the grade column is left
    empty where the dataset has no ground truth."""
    from stages.evaluate.predictions import write_predictions  # torch loads only for the commands that need it
    from stages.predict.predict import predict as run_predict

    with progress_callback("predicting", quiet) as progress:
        result = run_predict(checkpoint, dataset, split=split, device=device, tta=tta, batch_size=batch_size,
                            num_workers=workers, progress=progress)
    table = result.table
    write_predictions(table, out)
    if quiet:
        return
    differ = result.mismatch
    if differ:
        err_console.print(f"warning: {dataset} was preprocessed with other parameters than the training data: {', '.join(differ)}")
    labelled = int((table["grade"] > 0).sum())
    err_console.print(f"wrote {out}: {len(table)} instances ({labelled} with a ground-truth grade)")


def register(app: typer.Typer) -> None:
    """Add `predict` to ``app``."""
    app.command(
        "predict",
        help="Grade the instances of a dataset with a checkpoint -> predictions CSV.",
        epilog="Example: stenosis predict --checkpoint runs/demo/best.pt --dataset dataset.h5 --split test -o preds.csv --tta",
    )(predict)
