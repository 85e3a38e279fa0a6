"""The CAD-RADS grade scale and the clinical risk distance between grades.

Grades are integers 1..5 (1 minimal 1-24 % diameter stenosis, 2 mild 25-49 %, 3 moderate
50-69 %, 4 severe 70-99 %, 5 occluded); the clinical risk boundary lies between 2 and 3.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

GRADES: tuple[int, ...] = (1, 2, 3, 4, 5)
N_GRADES = len(GRADES)
RISK_BOUNDARY = 2  # grades <= 2 are low risk, grades >= 3 high risk


def high_risk(grade: ArrayLike) -> NDArray[np.bool_]:
    """True where a grade lies above the 2|3 clinical risk boundary."""
    return np.asarray(grade) > RISK_BOUNDARY


def crd(a: ArrayLike, b: ArrayLike) -> NDArray[np.int64]:
    """Clinical risk distance between grades (broadcasting): ``(|a-b|+1)**2`` when ``a`` and
    ``b`` lie on opposite sides of the 2|3 boundary, else ``|a-b|``."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    gap = np.abs(a - b)
    return np.where(high_risk(a) != high_risk(b), (gap + 1) ** 2, gap)


def absolute_distance(a: ArrayLike, b: ArrayLike) -> NDArray[np.int64]:
    """``|a-b|`` between grades (broadcasting)."""
    return np.abs(np.asarray(a, dtype=np.int64) - np.asarray(b, dtype=np.int64))


def distance_matrix(distance=crd) -> NDArray[np.int64]:
    """``[5, 5]`` distance between every pair of grades: row = ground truth, column = other."""
    g = np.array(GRADES)
    return distance(g[:, None], g[None, :])
