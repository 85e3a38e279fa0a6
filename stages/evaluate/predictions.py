"""The predictions table of DESIGN.md: reading with validation, and atomic writing.

``instance_id,case_id,vessel_id,start,end,grade,pred,p1,p2,p3,p4,p5``: ``grade`` the ground
truth 1..5 or empty when unknown (read as 0), ``pred`` the predicted grade 1..5, ``p1..p5``
the predicted probabilities (non-negative, summing to 1 within 1e-3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stages.errors import InputError
from stages.grades import GRADES
from stages.io.artifacts import atomic_output
from stages.io.csvtable import check_unique, integer_column, number_column, read_table, text_column

PROB_COLUMNS = tuple(f"p{g}" for g in GRADES)
PREDICTION_COLUMNS = ("instance_id", "case_id", "vessel_id", "start", "end", "grade", "pred", *PROB_COLUMNS)
PROB_SUM_TOLERANCE = 1e-3


def _check_grades(values: pd.Series, path: Path, column: str) -> None:
    outside = ~values.isin(GRADES)
    if outside.any():
        line = int(values.index[outside.argmax()])
        raise InputError(path, f"{column} {values[line]} is outside 1..5", line=line, field=column)


def read_predictions(path: str | Path) -> pd.DataFrame:
    """A validated predictions table, typed: ids as strings, ``start``, ``end``, ``grade``
    (0 = unknown), ``pred`` as int64, ``p1..p5`` as float64; index = line number in the file."""
    path = Path(path)
    table = read_table(path, PREDICTION_COLUMNS)
    out = pd.DataFrame(index=table.index)
    for column in ("instance_id", "case_id", "vessel_id"):
        out[column] = text_column(table, column, path)
    check_unique(out["instance_id"], path, "instance_id")
    for column in ("start", "end"):
        out[column] = integer_column(table, column, path)
    out["grade"] = integer_column(table, "grade", path, allow_empty=True)
    grade_given = table["grade"] != ""
    _check_grades(out["grade"][grade_given], path, "grade")
    out["pred"] = integer_column(table, "pred", path)
    _check_grades(out["pred"], path, "pred")
    for column in PROB_COLUMNS:
        out[column] = number_column(table, column, path)
    probs = out[list(PROB_COLUMNS)].to_numpy()
    negative = (probs < 0).any(axis=1)
    if negative.any():
        row = int(negative.argmax())
        column = PROB_COLUMNS[int((probs[row] < 0).argmax())]
        raise InputError(path, f"probability {probs[row].min():g} is negative", line=int(out.index[row]), field=column)
    off = np.abs(probs.sum(axis=1) - 1.0) > PROB_SUM_TOLERANCE
    if off.any():
        row = int(off.argmax())
        raise InputError(
            path, f"probabilities p1..p5 sum to {probs[row].sum():.6g}, not 1 (tolerance {PROB_SUM_TOLERANCE:g})",
            line=int(out.index[row]), field="p1",
        )
    return out


def write_predictions(table: pd.DataFrame, path: str | Path) -> None:
    """Write a predictions table atomically; ``grade`` 0 is written as an empty cell."""
    out = table.loc[:, list(PREDICTION_COLUMNS)].copy()
    out["grade"] = out["grade"].astype(np.int64).astype(str).replace("0", "")
    with atomic_output(path) as tmp:
        out.to_csv(tmp, index=False, float_format="%.6f")
