"""Grading metrics over the fixed label set 1..5, each defined once on a confusion matrix.

Every ``*_from_confusion`` function takes counts ``[..., 5, 5]`` (rows ground truth, columns
prediction, grades 1..5) and returns ``[...]``, so one definition serves single evaluations and
batches of bootstrap replicates alike. The plain functions take ``y_true``, ``y_pred`` (``[n]``
integer grades 1..5). Per-grade and averaged-over-grades metrics leave out grades absent from
the ground truth (NaN for those grades).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stages.grades import GRADES, N_GRADES, absolute_distance, distance_matrix, high_risk

_GRADE = np.array(GRADES)
_ABS = distance_matrix(absolute_distance).astype(np.float64)
_CRD = distance_matrix().astype(np.float64)
_QUADRATIC = (_GRADE[:, None] - _GRADE[None, :]) ** 2 / (N_GRADES - 1) ** 2


def _grades(name: str, values: ArrayLike) -> NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1D array of grades, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError(f"{name} must hold integer grades 1..5")
    array = array.astype(np.int64)
    if array.min() < GRADES[0] or array.max() > GRADES[-1]:
        raise ValueError(f"{name} must hold grades 1..5, found {array.min()}..{array.max()}")
    return array


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike) -> NDArray[np.int64]:
    """``[5, 5]`` counts: row = ground-truth grade, column = predicted grade."""
    t, p = _grades("y_true", y_true), _grades("y_pred", y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    cells = (t - 1) * N_GRADES + (p - 1)
    return np.bincount(cells, minlength=N_GRADES**2).reshape(N_GRADES, N_GRADES)


def _per_row(c: NDArray, cost: NDArray) -> NDArray[np.float64]:
    """``[..., 5]`` mean cost per ground-truth grade (NaN where a grade has no instance)."""
    c = np.asarray(c, dtype=np.float64)
    rows = c.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rows > 0, (c * cost).sum(axis=-1) / rows, np.nan)


def _overall(c: NDArray, cost: NDArray) -> NDArray[np.float64]:
    c = np.asarray(c, dtype=np.float64)
    return (c * cost).sum(axis=(-2, -1)) / c.sum(axis=(-2, -1))


def qwk_from_confusion(c: NDArray) -> NDArray[np.float64]:
    """Quadratic weighted kappa, weights ``(i-j)^2/16`` over the fixed grades 1..5 (NaN when
    truth and prediction are one and the same single grade)."""
    c = np.asarray(c, dtype=np.float64)
    n = c.sum(axis=(-2, -1))
    expected = c.sum(axis=-1)[..., :, None] * c.sum(axis=-2)[..., None, :] / n[..., None, None]
    observed_cost = (c * _QUADRATIC).sum(axis=(-2, -1))
    expected_cost = (expected * _QUADRATIC).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - observed_cost / expected_cost


def mae_from_confusion(c: NDArray) -> NDArray[np.float64]:
    """Mean absolute grade error over instances."""
    return _overall(c, _ABS)


def mcre_from_confusion(c: NDArray) -> NDArray[np.float64]:
    """Mean clinical risk error: mean CRD(truth, prediction) over instances."""
    return _overall(c, _CRD)


def per_grade_mae_from_confusion(c: NDArray) -> NDArray[np.float64]:
    """``[..., 5]`` MAE of the instances of each ground-truth grade."""
    return _per_row(c, _ABS)


def per_grade_mcre_from_confusion(c: NDArray) -> NDArray[np.float64]:
    """``[..., 5]`` MCRE of the instances of each ground-truth grade."""
    return _per_row(c, _CRD)


def amae_from_confusion(c: NDArray) -> NDArray[np.float64]:
    """Mean over the grades present in the truth of the per-grade MAE."""
    return np.nanmean(per_grade_mae_from_confusion(c), axis=-1)


def amcre_from_confusion(c: NDArray) -> NDArray[np.float64]:
    """Mean over the grades present in the truth of the per-grade MCRE."""
    return np.nanmean(per_grade_mcre_from_confusion(c), axis=-1)


def risk_missed_from_confusion(c: NDArray) -> NDArray[np.float64]:
    """Share of all instances with high-risk truth (3..5) graded low risk (1..2)."""
    c = np.asarray(c, dtype=np.float64)
    hi = high_risk(_GRADE)
    return c[..., hi, :][..., :, ~hi].sum(axis=(-2, -1)) / c.sum(axis=(-2, -1))


def risk_overcalled_from_confusion(c: NDArray) -> NDArray[np.float64]:
    """Share of all instances with low-risk truth (1..2) graded high risk (3..5)."""
    c = np.asarray(c, dtype=np.float64)
    hi = high_risk(_GRADE)
    return c[..., ~hi, :][..., :, hi].sum(axis=(-2, -1)) / c.sum(axis=(-2, -1))


HEADLINE = {
    "qwk": qwk_from_confusion,
    "mae": mae_from_confusion,
    "amae": amae_from_confusion,
    "mcre": mcre_from_confusion,
    "amcre": amcre_from_confusion,
    "risk_missed": risk_missed_from_confusion,
    "risk_overcalled": risk_overcalled_from_confusion,
}


def qwk(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Quadratic weighted kappa over the fixed label set 1..5."""
    return float(qwk_from_confusion(confusion_matrix(y_true, y_pred)))


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error in grades."""
    return float(mae_from_confusion(confusion_matrix(y_true, y_pred)))


def amae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Average over ground-truth grades of the per-grade MAE."""
    return float(amae_from_confusion(confusion_matrix(y_true, y_pred)))


def mcre(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean clinical risk error (mean CRD)."""
    return float(mcre_from_confusion(confusion_matrix(y_true, y_pred)))


def amcre(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Average over ground-truth grades of the per-grade MCRE."""
    return float(amcre_from_confusion(confusion_matrix(y_true, y_pred)))
