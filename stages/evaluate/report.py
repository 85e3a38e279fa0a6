"""Metric reports over predictions tables: headline and per-grade metrics, confusion matrix,
risk-boundary errors, bootstrap intervals, and worst-grade aggregation per vessel and patient.

A report is a JSON-ready dict: ``n, qwk, mae, amae, mcre, amcre, risk_missed,
risk_overcalled, per_grade`` (keyed ``"1"``..``"5"``, each ``n, mae, mcre``; ``null`` metrics
for grades absent from the truth), ``absent_grades``, ``confusion`` (5x5, rows truth, columns
prediction) and, with a bootstrap, ``ci95`` (``[low, high]`` per headline metric) and
``bootstrap`` (``n``, ``seed``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from stages.errors import InputError
from stages.evaluate.metrics import (
    HEADLINE, confusion_matrix, per_grade_mae_from_confusion, per_grade_mcre_from_confusion,
)
from stages.grades import GRADES

LEVELS = ("instance", "vessel", "case")


def _number(value: float) -> float | None:
    """A JSON-safe float: NaN becomes None."""
    return None if math.isnan(value) else float(value)


def metrics_report(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, Any]:
    """The report of one set of graded predictions (``[n]`` grades 1..5 each)."""
    c = confusion_matrix(y_true, y_pred)
    counts = c.sum(axis=1)
    per_mae, per_mcre = per_grade_mae_from_confusion(c), per_grade_mcre_from_confusion(c)
    report: dict[str, Any] = {"n": int(c.sum())}
    report |= {name: _number(float(metric(c))) for name, metric in HEADLINE.items()}
    report["per_grade"] = {
        str(g): {"n": int(counts[k]), "mae": _number(per_mae[k]), "mcre": _number(per_mcre[k])}
        for k, g in enumerate(GRADES)
    }
    report["absent_grades"] = [g for k, g in enumerate(GRADES) if counts[k] == 0]
    report["confusion"] = c.tolist()
    return report


def bootstrap_intervals(
    y_true: ArrayLike, y_pred: ArrayLike, n_boot: int, seed: int, level: float = 0.95
) -> dict[str, list[float | None]]:
    """Percentile intervals ``[low, high]`` of each headline metric over ``n_boot`` resamples
    of the instances with replacement (drawn as multinomial counts over the confusion cells,
    which is the same distribution)."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    c = confusion_matrix(y_true, y_pred)
    n = int(c.sum())
    rng = np.random.default_rng(seed)
    resampled = rng.multinomial(n, c.ravel() / n, size=n_boot).reshape(n_boot, *c.shape)
    tails = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    intervals = {}
    for name, metric in HEADLINE.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            values = metric(resampled)
        finite = values[np.isfinite(values)]
        intervals[name] = [_number(v) for v in np.percentile(finite, tails)] if finite.size else [None, None]
    return intervals


def worst_per_group(table: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """One row per group of ``keys`` with the worst (highest) truth and predicted grade, as a
    CAD-RADS report grades a vessel or a patient by its most severe stenosis."""
    return table.groupby(list(keys), sort=True)[["grade", "pred"]].max().reset_index()


def _graded(table: pd.DataFrame) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    labelled = table[table["grade"] > 0]
    return labelled["grade"].to_numpy(), labelled["pred"].to_numpy()


def evaluate_table(
    table: pd.DataFrame, path: str | Path, *, n_boot: int = 0, seed: int = 0, by_case: bool = False
) -> dict[str, Any]:
    """The report of a validated predictions table (see :func:`read_predictions`), scoring the
    rows with a ground-truth grade; ``unlabelled`` counts the rest. With ``by_case``, adds
    ``by_vessel`` and ``by_case`` reports over the worst grade per vessel and per patient
    (instances with unknown truth left out before aggregating)."""
    y_true, y_pred = _graded(table)
    if y_true.size == 0:
        raise InputError(path, "no row has a ground-truth grade: there is no truth to score")
    report = {"file": str(path), **metrics_report(y_true, y_pred), "unlabelled": int((table["grade"] == 0).sum())}
    if n_boot:
        report["ci95"] = bootstrap_intervals(y_true, y_pred, n_boot, seed)
        report["bootstrap"] = {"n": n_boot, "seed": seed}
    if by_case:
        labelled = table[table["grade"] > 0]
        for level, keys in (("by_vessel", ("case_id", "vessel_id")), ("by_case", ("case_id",))):
            worst = worst_per_group(labelled, keys)
            report[level] = metrics_report(worst["grade"].to_numpy(), worst["pred"].to_numpy())
            if n_boot:
                report[level]["ci95"] = bootstrap_intervals(worst["grade"], worst["pred"], n_boot, seed)
    return report


def check_same_instances(tables: Sequence[tuple[Path, pd.DataFrame]]) -> None:
    """Raise :class:`InputError` naming the first file whose instance ids differ from the
    first file's, so side-by-side figures compare like with like."""
    first_path, first = tables[0]
    reference = set(first["instance_id"])
    for path, table in tables[1:]:
        ids = set(table["instance_id"])
        if ids != reference:
            only_here, only_there = sorted(ids - reference), sorted(reference - ids)
            example = (only_here or only_there)[0]
            raise InputError(
                path,
                f"instance set differs from {first_path}: {len(only_here)} only here, {len(only_there)} only there "
                f"(e.g. '{example}'); pass --allow-different to compare anyway",
                field="instance_id",
            )
