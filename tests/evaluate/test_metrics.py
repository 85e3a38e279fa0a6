"""Metrics against sklearn, hand-worked cases, DESIGN.md's test vectors and the paper's figures."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, mean_absolute_error
from sklearn.metrics import confusion_matrix as sk_confusion

from stages.evaluate.metrics import amae, amcre, confusion_matrix, mae, mcre, qwk
from stages.evaluate.report import bootstrap_intervals, metrics_report
from stages.grades import distance_matrix

LABELS = [1, 2, 3, 4, 5]


def test_crd_test_vector() -> None:
    expected = [[0, 1, 9, 16, 25], [1, 0, 4, 9, 16], [9, 4, 0, 1, 2], [16, 9, 1, 0, 1], [25, 16, 2, 1, 0]]
    np.testing.assert_array_equal(distance_matrix(), expected)


def test_qwk_uses_fixed_label_set() -> None:
    y, p = [1, 1, 2, 2, 4, 4, 5, 5], [1, 2, 4, 2, 4, 2, 5, 4]
    assert qwk(y, p) == pytest.approx(0.70588, abs=1e-5)
    assert cohen_kappa_score(y, p, weights="quadratic") == pytest.approx(0.75)  # the wrong, data-derived label set
    assert amae(y, p) == pytest.approx(0.75)


@pytest.mark.parametrize("seed", range(20))
def test_against_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    present = rng.choice(LABELS, size=int(rng.integers(2, 6)), replace=False)
    y = rng.choice(present, size=n)
    p = np.clip(y + rng.integers(-2, 3, size=n), 1, 5)
    assert qwk(y, p) == pytest.approx(cohen_kappa_score(y, p, weights="quadratic", labels=LABELS), abs=1e-12)
    assert mae(y, p) == pytest.approx(mean_absolute_error(y, p), abs=1e-12)
    np.testing.assert_array_equal(confusion_matrix(y, p), sk_confusion(y, p, labels=LABELS))


def test_hand_worked_small_case() -> None:
    y, p = [1, 1, 3, 3, 3], [1, 2, 2, 4, 5]
    # CRD per instance: 0, 1, (1+1)^2 = 4, 1, 2 ; absolute errors 0, 1, 1, 1, 2
    assert mcre(y, p) == pytest.approx(8 / 5)
    assert amcre(y, p) == pytest.approx((1 / 2 + 7 / 3) / 2)
    assert mae(y, p) == pytest.approx(1.0)
    assert amae(y, p) == pytest.approx((1 / 2 + 4 / 3) / 2)
    report = metrics_report(y, p)
    assert report["risk_missed"] == pytest.approx(1 / 5)
    assert report["risk_overcalled"] == 0.0
    assert report["absent_grades"] == [2, 4, 5]
    assert report["per_grade"]["2"] == {"n": 0, "mae": None, "mcre": None}
    assert report["per_grade"]["3"] == {"n": 3, "mae": pytest.approx(4 / 3), "mcre": pytest.approx(7 / 3)}


def _instances_with(n: int, abs_sum: int, crd_sum: int, grade: int) -> list[int]:
    """Predictions for ``n`` instances of ``grade`` whose absolute errors and CRDs add up to
    the given sums (depth-first search over how many go to each other grade)."""
    others = [g for g in LABELS if g != grade]
    ad, cd = abs(np.array(others) - grade), distance_matrix()[grade - 1][np.array(others) - 1]

    def search(k: int, abs_left: int, crd_left: int) -> list[int] | None:
        if abs_left == 0 and crd_left == 0:
            return []
        if k == len(others) or abs_left < 0 or crd_left < 0:
            return None
        for count in range(abs_left // ad[k], -1, -1):
            rest = search(k + 1, abs_left - count * ad[k], crd_left - count * cd[k])
            if rest is not None:
                return [others[k]] * count + rest
        return None

    preds = search(0, abs_sum, crd_sum)
    assert preds is not None and len(preds) <= n, f"no prediction set for grade {grade}"
    return preds + [grade] * (n - len(preds))


def test_paper_per_grade_figures_aggregate_to_its_headline() -> None:
    counts = {1: 315, 2: 272, 3: 115, 4: 67, 5: 10}
    per_grade_mae = {1: 0.292, 2: 0.654, 3: 0.478, 4: 0.642, 5: 0.600}
    per_grade_mcre = {1: 0.798, 2: 1.923, 3: 1.130, 4: 1.478, 5: 0.600}
    y, p = [], []
    for g, n in counts.items():
        preds = _instances_with(n, round(per_grade_mae[g] * n), round(per_grade_mcre[g] * n), g)
        y += [g] * n
        p += preds
    report = metrics_report(y, p)
    for g, n in counts.items():
        cell = report["per_grade"][str(g)]
        assert cell["n"] == n
        assert cell["mae"] == pytest.approx(per_grade_mae[g], abs=5e-4)
        # integer CRD totals: grade 1 can only be 251/315 = 0.797 or 252/315 = 0.800, not 0.798
        assert cell["mcre"] == pytest.approx(per_grade_mcre[g], abs=1.5e-3)
    assert report["n"] == 779
    assert round(report["mae"], 3) == 0.480
    assert round(report["amae"], 3) == 0.533
    assert round(report["amcre"], 3) == 1.186
    # No 779 integer CRDs average to 1.296 (1009/779 = 1.2953, 1010/779 = 1.2965): the paper's
    # headline is the count-weighted mean of its rounded per-grade figures, 1009.40/779 = 1.2958.
    assert report["mcre"] == pytest.approx(1.296, abs=1e-3)
    weighted = sum(counts[g] * per_grade_mcre[g] for g in counts) / 779
    assert round(weighted, 3) == 1.296
    exact = sum(counts[g] * report["per_grade"][str(g)]["mcre"] for g in counts) / 779
    assert report["mcre"] == pytest.approx(exact, abs=1e-12)


@pytest.mark.parametrize(
    ("y", "p", "name"),
    [([1, 2], [1, 6], "y_pred"), ([0, 2], [1, 2], "y_true"), ([1.5, 2], [1, 2], "y_true"), ([], [], "y_true"),
     ([1, 2, 3], [1, 2], "differ in length")],
)
def test_bad_arguments_named(y: list, p: list, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        qwk(y, p)


def test_bootstrap_matches_resampling_instances() -> None:
    rng = np.random.default_rng(1)
    y = rng.choice(LABELS, size=400, p=[0.4, 0.35, 0.15, 0.08, 0.02])
    p = np.clip(y + rng.integers(-1, 2, size=400), 1, 5)
    ci = bootstrap_intervals(y, p, 4000, seed=3)
    assert ci == bootstrap_intervals(y, p, 4000, seed=3)
    explicit = []
    for _ in range(4000):
        idx = rng.integers(0, 400, size=400)
        explicit.append(mcre(y[idx], p[idx]))
    low, high = np.percentile(explicit, [2.5, 97.5])
    assert ci["mcre"][0] == pytest.approx(low, abs=0.03)
    assert ci["mcre"][1] == pytest.approx(high, abs=0.03)
    point = metrics_report(y, p)
    for key in ("qwk", "mae", "amae", "mcre", "amcre"):
        assert ci[key][0] < point[key] < ci[key][1]
