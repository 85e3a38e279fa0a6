"""Markdown rendering of metric reports: the paper's Table 1 (one row per file) and Table 2
(per-grade MAE and MCRE)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stages.grades import GRADES

COLUMNS = (("qwk", "QWK ↑"), ("mae", "MAE ↓"), ("amae", "AMAE ↓"), ("mcre", "MCRE ↓"), ("amcre", "AMCRE ↓"),
           ("risk_missed", "missed risk ↓"), ("risk_overcalled", "over-called risk ↓"))


def fmt(value: float | None, digits: int = 3) -> str:
    """A metric to ``digits`` decimals, ``-`` when undefined."""
    return "-" if value is None else f"{value:.{digits}f}"


def headline_cell(report: dict[str, Any], key: str) -> str:
    """A headline metric with its 95 % interval when the report has one."""
    text = fmt(report[key])
    if "ci95" in report:
        low, high = report["ci95"][key]
        text += f" [{fmt(low)}, {fmt(high)}]"
    return text


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def render_markdown(reports: Sequence[dict[str, Any]]) -> str:
    """A Markdown report over one or more files' reports (see :mod:`stages.evaluate.report`)."""
    lines = ["# Stenosis grading report", ""]
    levels = [("instance", None), ("vessel (worst grade)", "by_vessel"), ("patient (worst grade)", "by_case")]
    for title, key in levels:
        if key is not None and key not in reports[0]:
            continue
        level_reports = [(r["file"], r if key is None else r[key]) for r in reports]
        lines += [f"## Metrics per {title}", ""]
        header = ["file", "n", *(label for _, label in COLUMNS)]
        rows = [[name, str(r["n"]), *(headline_cell(r, k) for k, _ in COLUMNS)] for name, r in level_reports]
        lines += _table(header, rows) + [""]
    lines += ["## Per grade (instances): MAE / MCRE (n)", ""]
    header = ["file", *(f"grade {g}" for g in GRADES)]
    rows = [
        [r["file"], *(f"{fmt(p['mae'])} / {fmt(p['mcre'])} ({p['n']})" for p in (r["per_grade"][str(g)] for g in GRADES))]
        for r in reports
    ]
    lines += _table(header, rows) + [""]
    for r in reports:
        lines += [f"## Confusion matrix: {r['file']}", "", "rows: ground truth, columns: prediction", ""]
        lines += _table(["truth \\ pred", *map(str, GRADES)], [[str(g), *map(str, row)] for g, row in zip(GRADES, r["confusion"])])
        notes = []
        if r["absent_grades"]:
            notes.append(f"grades absent from the truth, left out of AMAE/AMCRE: {', '.join(map(str, r['absent_grades']))}")
        if r.get("unlabelled"):
            notes.append(f"{r['unlabelled']} rows without a ground-truth grade were not scored")
        if "bootstrap" in r:
            notes.append(f"intervals: 95 % percentile bootstrap over instances, {r['bootstrap']['n']} resamples, seed {r['bootstrap']['seed']}")
        lines += [""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines).rstrip() + "\n"
