"""`stenosis validate`: check the input tables and images before a long job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from stages.io.inputs import check_inputs
from stenosis_cli.console import err_console, progress_callback
from stenosis_cli.options import Quiet


def validate(
    manifest: Annotated[Path, typer.Option("--manifest", "-m", help="Case manifest CSV (case_id,image,centerlines[,split]).")],
    instances: Annotated[
        Path | None, typer.Option("--instances", "-i", help="Stenosis instance CSV to check against the manifest.")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Check a manifest, every image header, every centerline table (points inside their image)
    and an instance table; exit 2 with one line naming the first defect."""
    with progress_callback("checking cases", quiet) as progress:
        summary = check_inputs(manifest, instances, progress=progress)
    if quiet:
        return
    table = Table(title=f"{manifest}: valid")
    columns = ["cases", "vessels", "points", "instances", *(f"grade {g}" for g in range(1, 6)), "no grade"]
    for column in columns:
        table.add_column(column, justify="right")
    grades = [summary.grade_counts.get(g, 0) for g in (1, 2, 3, 4, 5, 0)]
    table.add_row(*map(str, (summary.n_cases, summary.n_vessels, summary.n_points, summary.n_instances, *grades)))
    err_console.print(table)
    err_console.print("splits: " + ", ".join(f"{k} {v}" for k, v in summary.split_counts.items()))


def register(app: typer.Typer) -> None:
    """Add `validate` to ``app``."""
    app.command(
        "validate",
        help="Check the input tables (manifest, centerlines, instances) and image headers.",
        epilog="Example: stenosis validate --manifest cohort/cases.csv --instances cohort/instances.csv",
    )(validate)
