"""Instance extension onto the resampled centerline."""

from __future__ import annotations

import numpy as np
import pytest

from stages.dataset.extend import core_range, extend
from stages.scpr.centerline import resample_centerline


def test_extension_inside_the_vessel() -> None:
    ext = extend(100, 40, 45, 10)
    assert ext.indices.tolist() == list(range(30, 56))
    assert ext.mask.all() and (ext.core_start, ext.core_end) == (10, 15)


def test_extension_padded_at_both_ends() -> None:
    ext = extend(12, 1, 9, 3)
    assert ext.indices.tolist() == [0, 0, 0, *range(1, 10), 10, 11, 11]
    assert ext.mask.tolist() == [False, False, True] + [True] * 9 + [True, True, False]
    assert ext.indices[ext.core_start] == 1 and ext.indices[ext.core_end] == 9


def test_core_range_through_unevenly_spaced_input_points() -> None:
    # input points along x at uneven gaps; instance = input ids 3..6, i.e. x from 2.4 to 7.5 mm
    x = np.array([0.0, 0.3, 1.5, 2.4, 2.7, 6.0, 7.5, 7.8, 10.0, 12.0])
    line = resample_centerline(np.arange(10), np.stack([x, np.zeros(10), np.zeros(10)], 1), step=0.5)
    first, last = core_range(line.source_point, 3, 6)
    assert line.points[first, 0] == pytest.approx(2.5, abs=1e-6)  # first resampled point at or after 2.4 mm
    assert line.points[last, 0] == pytest.approx(7.5, abs=1e-6)
    assert core_range(line.source_point, 3, 3) == (first, first)  # between resampled points: the nearest one


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="m"):
        extend(10, 2, 3, -1)
    with pytest.raises(ValueError, match="core"):
        extend(10, 2, 12, 1)
