"""`stenosis evaluate`: metric reports from one or more predictions CSVs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from stages.evaluate.markdown import COLUMNS, fmt, headline_cell
from stages.grades import GRADES
from stenosis_cli.console import err_console
from stenosis_cli.options import Quiet

LEVEL_TITLES = {None: "instances", "by_vessel": "vessels (worst grade)", "by_case": "patients (worst grade)"}


def _headline_table(reports: list[dict[str, Any]], names: list[str], level: str | None) -> Table:
    table = Table(title=f"metrics over {LEVEL_TITLES[level]}")
    for column in ("file", "n", *(label for _, label in COLUMNS)):
        table.add_column(column, justify="left" if column == "file" else "right")
    for name, report in zip(names, reports):
        r = report if level is None else report[level]
        table.add_row(name, str(r["n"]), *(headline_cell(r, key) for key, _ in COLUMNS))
    return table


def _per_grade_table(reports: list[dict[str, Any]], names: list[str]) -> Table:
    table = Table(title="per grade: MAE / MCRE (n)")
    table.add_column("file")
    for g in GRADES:
        table.add_column(f"grade {g}", justify="right")
    for name, report in zip(names, reports):
        cells = (report["per_grade"][str(g)] for g in GRADES)
        table.add_row(name, *(f"{fmt(c['mae'])} / {fmt(c['mcre'])} ({c['n']})" for c in cells))
    return table


def evaluate(
    predictions: Annotated[list[Path], typer.Argument(help="Predictions CSV(s) of DESIGN.md.", show_default=False)],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the report JSON here.")] = None,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Write a Markdown report here.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Folder for PNGs: confusion matrices, per-grade MAE/MCRE.")] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Resamples for 95 % intervals (0: none).")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
    by: Annotated[
        str, typer.Option("--by", help="'instance', or 'case' to also grade each vessel and patient by its worst stenosis.")
    ] = "instance",
    allow_different: Annotated[
        bool, typer.Option("--allow-different", help="Compare files whose instance sets differ.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """QWK, MAE, AMAE, MCRE, AMCRE, per-grade errors, the confusion matrix and risk-boundary errors."""
    from stages.evaluate.evaluate import evaluate_files, short_names, write_reports  # matplotlib loads only here

    if by not in ("instance", "case"):
        raise typer.BadParameter(f"expected 'instance' or 'case', got '{by}'", param_hint="--by")
    reports = evaluate_files(
        predictions, n_boot=bootstrap, seed=seed, by_case=by == "case", allow_different=allow_different
    )
    written = write_reports(reports, json_path=json_out, markdown_path=markdown, plot_dir=plot)
    if quiet:
        return
    names = short_names(predictions)
    for level in (None, "by_vessel", "by_case"):
        if level is None or level in reports[0]:
            err_console.print(_headline_table(reports, names, level))
    err_console.print(_per_grade_table(reports, names))
    for report, name in zip(reports, names):
        if report["absent_grades"]:
            err_console.print(f"{name}: grades absent from the truth, left out of AMAE/AMCRE: {report['absent_grades']}")
        if report["unlabelled"]:
            err_console.print(f"{name}: {report['unlabelled']} rows without a ground-truth grade were not scored")
    for path in written:
        err_console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add `evaluate` to ``app``."""
    app.command(
        "evaluate",
        help="Metrics reports (QWK, MAE, AMAE, MCRE, AMCRE) from one or more predictions CSVs.",
        epilog="Example: stenosis evaluate runs/cr/preds.csv runs/ce/preds.csv --json report.json --markdown report.md --plot figures/ --bootstrap 1000",
    )(evaluate)
