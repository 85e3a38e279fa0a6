"""`stenosis synth`: write a phantom CCTA cohort (volumes, centerlines, instances, manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from stenosis_cli.console import err_console, progress_callback
from stenosis_cli.options import Quiet


def _grade_mix(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"expected 5 comma-separated numbers, got '{text}'") from None
    if len(values) != 5 or any(v < 0 for v in values) or sum(values) <= 0:
        raise typer.BadParameter(f"expected 5 non-negative numbers with a positive sum, got '{text}'")
    return values


def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the cohort into.")],
    cases: Annotated[int, typer.Option("--cases", "-n", min=1, help="Number of cases (patients).")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same bytes.")] = 0,
    grade_mix: Annotated[
        str, typer.Option("--grade-mix", help="Relative frequency of grades 1..5, comma-separated.")
    ] = "0.42,0.37,0.13,0.07,0.01",
    workers: Annotated[int, typer.Option("--workers", "-j", min=1, help="Processes generating cases.")] = 1,
    quiet: Quiet = False,
) -> None:
    """Write a phantom CCTA cohort: HU volumes, centerlines, stenosis instances and a manifest."""
    from stages.synth import generate_cohort

    mix = _grade_mix(grade_mix)
    with progress_callback("synthesising cases", quiet) as progress:
        summary = generate_cohort(out, cases, seed, grade_mix=mix, workers=workers, progress=progress)
    if quiet:
        return
    table = Table(title=f"phantom cohort in {out}")
    for column in ("cases", "vessels", "instances", *(f"grade {g}" for g in range(1, 6))):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary.n_cases), str(summary.n_vessels), str(summary.n_instances),
        *(str(summary.grade_counts.get(g, 0)) for g in range(1, 6)),
    )
    err_console.print(table)
    err_console.print(f"manifest: {summary.manifest}\ninstances: {summary.instances}")


def register(app: typer.Typer) -> None:
    """Add `synth` to ``app``."""
    app.command(
        "synth",
        help="Write a phantom CCTA cohort (volumes, centerlines, instances, manifest).",
        epilog="Example: stenosis synth --out cohort --cases 20 --seed 0 --workers 2",
    )(synth)
