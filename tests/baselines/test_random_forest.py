"""The random-forest baseline: hand-made features against a known geometry, and the fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stages.baselines.random_forest import FEATURES, fit_predict, instance_features


def _tube(radii: np.ndarray, pixel: float, size: int = 24, calcium_at: int | None = None) -> np.ndarray:
    """An SCPR ``[D, size, size]``: lumen 400 HU of the given radius (mm) per slice in fat
    (-100 HU); optionally a calcium spot (1000 HU) off-centre in slice ``calcium_at``."""
    c = (np.arange(size) - (size - 1) / 2) * pixel
    r2 = c[:, None] ** 2 + c[None, :] ** 2
    scpr = np.where(r2[None] <= radii[:, None, None] ** 2, 400.0, -100.0)
    if calcium_at is not None:
        scpr[calcium_at, :3, :3] = 1000.0
    return scpr


def test_features_of_a_tube_narrowed_to_half_its_radius() -> None:
    pixel, radii = 0.25, np.full(40, 2.0)
    radii[15:25] = 1.0
    scpr = _tube(radii, pixel, calcium_at=20)
    mask = np.ones(40, bool)
    mask[:3] = False  # padding is not reference
    f = dict(zip(FEATURES, instance_features(scpr, mask, 10, 29, pixel)))
    assert f["reference_mm2"] == pytest.approx(np.pi * 2.0**2, rel=0.05)
    assert f["core_min_mm2"] == pytest.approx(np.pi * 1.0**2, rel=0.1)
    assert f["core_min_rel"] == pytest.approx(0.25, abs=0.02)
    assert f["calcium_max_rel"] == pytest.approx(9 * pixel**2 / f["reference_mm2"], rel=0.05)
    assert f["core_length"] == 20


def test_occlusion_has_no_lumen_in_the_core() -> None:
    radii = np.full(30, 1.5)
    radii[12:18] = 0.0
    f = dict(zip(FEATURES, instance_features(_tube(radii, 0.3), np.ones(30, bool), 10, 19, 0.3)))
    assert f["core_min_rel"] == 0.0 and f["centre_min_rel"] < 0


def test_fit_predict_recovers_a_monotone_grade() -> None:
    rng = np.random.default_rng(0)
    grades = np.repeat(np.arange(1, 6), 20)
    features = rng.normal(size=(grades.size, len(FEATURES))) * 0.01
    features[:, 0] = 1 - grades / 5 + rng.normal(0, 0.02, grades.size)  # the core_min_rel carries the grade
    table = pd.DataFrame(features, columns=list(FEATURES)).assign(
        instance_id=[f"i{k}" for k in range(grades.size)], case_id="c", vessel_id="v", grade=grades)
    train, test = table.iloc[::2], table.iloc[1::2]
    out = fit_predict(train, test, seed=0, n_trees=50)
    assert (out["pred"].to_numpy() == test["grade"].to_numpy()).mean() > 0.9
    np.testing.assert_allclose(out[[f"p{k}" for k in range(1, 6)]].sum(axis=1), 1.0)
    assert out["pred"].between(1, 5).all()
    assert np.corrcoef(out["expected"], test["grade"])[0, 1] > 0.95


def test_fit_needs_graded_rows() -> None:
    table = pd.DataFrame(np.zeros((3, len(FEATURES))), columns=list(FEATURES)).assign(
        instance_id=["a", "b", "c"], case_id="c", vessel_id="v", grade=0)
    with pytest.raises(ValueError, match="no grade"):
        fit_predict(table, table)
