"""Option types shared by several subcommands."""

from __future__ import annotations

from typing import Annotated

import typer

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summary tables.")]


def parse_shard(text: str) -> tuple[int, int]:
    """``i/n`` with ``0 <= i < n`` (a SLURM array task's share of the cases)."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise typer.BadParameter(f"expected i/n such as 0/4, got '{text}'", param_hint="--shard") from None
    if not 0 <= index < count:
        raise typer.BadParameter(f"expected i/n with 0 <= i < n, got '{text}'", param_hint="--shard")
    return index, count


Shard = Annotated[str, typer.Option("--shard", help="i/n: only cases i, i+n, ... of the manifest (e.g. a SLURM array task).")]
Workers = Annotated[int, typer.Option("--workers", "-j", min=1, help="Processes, one case each.")]
Force = Annotated[bool, typer.Option("--force", help="Redo per-case files that are up to date.")]
Step = Annotated[float, typer.Option("--step", help="Arc-length step of the resampled centerline, mm.")]
Smooth = Annotated[float, typer.Option("--smooth", min=0.0, help="Smoothing length (mm) of the centerline spline; 0 interpolates.")]
Extend = Annotated[int, typer.Option("--extend", min=0, help="Points m added on each side of an instance (Ŝ = s-m..e+m).")]
PatchSize = Annotated[int, typer.Option("--patch", min=2, help="CCTA patch side in voxels.")]
PatchSpacing = Annotated[float, typer.Option("--spacing", help="CCTA patch spacing, mm (grows when Ŝ does not fit).")]
Margin = Annotated[float, typer.Option("--margin", min=0.0, help="Room around Ŝ in the patch, mm.")]
