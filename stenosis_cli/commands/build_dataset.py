"""`stenosis build-dataset`: instance-level training data (and `--merge` of shards)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from stages.ccta.crop import DEFAULT_EXTEND
from stages.ccta.patch import PatchParams
from stages.dataset.build import BuildParams, BuildSummary, build_dataset, merge_datasets
from stages.dataset.store import DEFAULT_WINDOW
from stages.scpr.extract import DEFAULT_SMOOTH, ScprParams
from stenosis_cli.console import err_console, progress_callback
from stenosis_cli.options import (
    Extend, Force, Margin, PatchSize, PatchSpacing, Quiet, Shard, Smooth, Step, Workers, parse_shard,
)


def build(
    out: Annotated[Path, typer.Option("--out", "-o", help="Dataset HDF5 to write.")],
    manifest: Annotated[Path | None, typer.Option("--manifest", "-m", help="Case manifest CSV.")] = None,
    instances: Annotated[Path | None, typer.Option("--instances", "-i", help="Stenosis instance CSV.")] = None,
    merge: Annotated[
        list[Path] | None, typer.Option("--merge", help="Merge these shard dataset files into --out instead (repeatable).")
    ] = None,
    cache: Annotated[Path | None, typer.Option("--cache", help="Folder for per-case SCPR and patch files (default OUT.cache).")] = None,
    size: Annotated[int, typer.Option("--size", min=1, help="SCPR plane side, pixels.")] = 48,
    pixel: Annotated[float, typer.Option("--pixel", help="SCPR pixel, mm.")] = 0.4,
    step: Step = 0.5,
    smooth: Smooth = DEFAULT_SMOOTH,
    patch: PatchSize = 64,
    spacing: PatchSpacing = 0.5,
    margin: Margin = 3.0,
    extend: Extend = DEFAULT_EXTEND,
    window: Annotated[str, typer.Option("--window", help="HU window low,high mapped to [0, 1] when loading.")] = (
        f"{DEFAULT_WINDOW[0]:g},{DEFAULT_WINDOW[1]:g}"
    ),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the 3:1:1 split by case (when the manifest has no split).")] = 0,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Leave bad instances out and list them in OUT.skipped.csv.")] = False,
    workers: Workers = 1,
    shard: Shard = "0/1",
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Per instance: the SCPR of the extended instance, the CCTA patch, the points, the mask,
    the core range, grade, ids and split (by case). Per-case artifacts are cached and redone
    only when their inputs or parameters change."""
    if merge:
        count = merge_datasets(merge, out)
        if not quiet:
            err_console.print(f"merged {len(merge)} shards into {out}: {count} instances")
        return
    if manifest is None or instances is None:
        raise typer.BadParameter("--manifest and --instances are required (or --merge shards)")
    try:
        low, high = (float(v) for v in window.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected low,high, got '{window}'", param_hint="--window") from None
    params = BuildParams(
        scpr=ScprParams(size=size, pixel=pixel, step=step, smooth=smooth),
        patch=PatchParams(size=patch, spacing=spacing, margin=margin), extend=extend, window=(low, high), seed=seed,
    )
    with progress_callback("building cases", quiet) as progress:
        summary = build_dataset(manifest, instances, out, params, cache_dir=cache, workers=workers,
                                shard=parse_shard(shard), skip_bad=skip_bad, force=force, progress=progress)
    if not quiet:
        _summary(summary)


def _summary(summary: BuildSummary) -> None:
    table = Table(title=f"{summary.out}: instances by split and grade")
    for column in ("split", "grade 1", "grade 2", "grade 3", "grade 4", "grade 5", "no grade", "total"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split in ("train", "val", "test"):
        counts = summary.counts.get(split, {})
        cells = [counts.get(g, 0) for g in (1, 2, 3, 4, 5, 0)]
        table.add_row(split, *map(str, cells), str(sum(cells)))
    err_console.print(table)
    err_console.print(f"cases built {summary.cases_built}, reused {summary.cases_reused}; "
                      f"patches with grown spacing {summary.n_grown}")
    if summary.skipped:
        err_console.print(f"left out {len(summary.skipped)} instances, listed in {summary.skipped_csv}")


def register(app: typer.Typer) -> None:
    """Add `build-dataset` to ``app``."""
    app.command(
        "build-dataset",
        help="Instance-level training data (SCPR + patch + points + mask, splits) -> dataset HDF5.",
        epilog=(
            "Example: stenosis build-dataset --manifest cases.csv --instances instances.csv -o dataset.h5 --workers 2  "
            "(SLURM array: --shard $SLURM_ARRAY_TASK_ID/8 -o part$SLURM_ARRAY_TASK_ID.h5, then "
            "stenosis build-dataset --merge part0.h5 --merge part1.h5 ... -o dataset.h5)"
        ),
    )(build)
