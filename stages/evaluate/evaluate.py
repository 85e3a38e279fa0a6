"""Evaluate one or more predictions CSVs and write the JSON, Markdown and PNG reports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stages.evaluate.markdown import render_markdown
from stages.evaluate.plots import confusion_png, per_grade_png
from stages.evaluate.predictions import read_predictions
from stages.evaluate.report import check_same_instances, evaluate_table
from stages.io.artifacts import write_text


def short_names(paths: Sequence[Path]) -> list[str]:
    """The fewest trailing path parts (without the suffix) that tell the files apart, joined
    with ``_``: ``runs/a/preds.csv`` and ``runs/b/preds.csv`` become ``a_preds`` and ``b_preds``."""
    parts = [list(p.with_suffix("").parts) for p in paths]
    for depth in range(1, max(len(p) for p in parts) + 1):
        names = ["_".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return [f"{k}_{n}" for k, n in enumerate(names)]


def evaluate_files(
    paths: Sequence[str | Path],
    *,
    n_boot: int = 0,
    seed: int = 0,
    by_case: bool = False,
    allow_different: bool = False,
) -> list[dict[str, Any]]:
    """One report per predictions CSV (see :mod:`stages.evaluate.report`). Files whose
    instance sets differ are refused unless ``allow_different``."""
    tables = [(Path(p), read_predictions(p)) for p in paths]
    if len(tables) > 1 and not allow_different:
        check_same_instances(tables)
    return [evaluate_table(t, p, n_boot=n_boot, seed=seed, by_case=by_case) for p, t in tables]


def write_reports(
    reports: Sequence[dict[str, Any]],
    *,
    json_path: Path | None = None,
    markdown_path: Path | None = None,
    plot_dir: Path | None = None,
) -> list[Path]:
    """Write the requested outputs and return their paths. The JSON holds the report object
    for one file and a list of reports for several; the plots are ``confusion_<name>.png``
    per file and ``per_grade.png`` over all files."""
    written: list[Path] = []
    if json_path is not None:
        payload: Any = reports[0] if len(reports) == 1 else list(reports)
        write_text(json_path, json.dumps(payload, indent=2) + "\n")
        written.append(json_path)
    if markdown_path is not None:
        write_text(markdown_path, render_markdown(reports))
        written.append(markdown_path)
    if plot_dir is not None:
        names = short_names([Path(r["file"]) for r in reports])
        for report, name in zip(reports, names):
            confusion_png(report, plot_dir / f"confusion_{name}.png", name)
            written.append(plot_dir / f"confusion_{name}.png")
        per_grade_png(reports, names, plot_dir / "per_grade.png")
        written.append(plot_dir / "per_grade.png")
    return written
