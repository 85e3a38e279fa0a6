"""Lesion drawing on its own (no volumes): grade proportions follow ``grade_mix``, lesions fit
their vessel with healthy gaps, and reductions fall inside their grade."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from stages.synth.cohort import DEFAULT_GRADE_MIX
from stages.synth.lesions import (
    DRAW_RANGES, GRADE_RANGES, HEALTHY_GAP_MM, LESIONS_PER_VESSEL, draw_lesions, grade_probabilities,
)


def _grade_counts(mix: tuple[float, ...], vessels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    probabilities = grade_probabilities(mix)
    counts = np.zeros(5)
    for _ in range(vessels):
        for lesion in draw_lesions(rng, [(6.0, 40.0), (55.0, 90.0)], probabilities):
            counts[lesion.grade - 1] += 1
    return counts


@pytest.mark.parametrize("mix", [DEFAULT_GRADE_MIX, (1.0, 1.0, 1.0, 1.0, 1.0), (0.0, 2.0, 0.0, 1.0, 1.0)])
def test_grade_proportions_follow_the_mix(mix: tuple[float, ...]) -> None:
    counts = _grade_counts(mix, vessels=6000, seed=1)
    expected = counts.sum() * np.asarray(mix) / np.sum(mix)
    drawn = expected > 0
    assert np.all(counts[~drawn] == 0)
    assert chisquare(counts[drawn], expected[drawn]).pvalue > 1e-3
    # The same test tells apart a mix 5 points off (from the commonest grade to the rarest
    # drawn one), so it can fail.
    shifted = np.asarray(mix) / np.sum(mix)
    order = [g for g in np.argsort(shifted, kind="stable") if drawn[g]]
    shifted[order[-1]] -= 0.05
    shifted[order[0]] += 0.05
    assert chisquare(counts[drawn], counts.sum() * shifted[drawn]).pvalue < 1e-6


def test_lesions_fit_with_healthy_gaps_and_grade_ranges() -> None:
    rng = np.random.default_rng(2)
    probabilities = grade_probabilities((1, 1, 1, 1, 1))
    per_vessel = np.zeros(4)
    for _ in range(3000):
        room = [(6.0, float(rng.uniform(20.0, 50.0))), (60.0, float(rng.uniform(70.0, 100.0)))]
        lesions = draw_lesions(rng, room, probabilities)
        per_vessel[len(lesions)] += 1
        for a, b in zip(lesions, lesions[1:]):
            assert b.start_mm - a.end_mm >= HEALTHY_GAP_MM - 1e-9
        for lesion in lesions:
            assert any(lo <= lesion.start_mm and lesion.end_mm <= hi for lo, hi in room)
            assert lesion.start_mm < lesion.core_start_mm <= lesion.core_end_mm < lesion.end_mm
            lo, hi = DRAW_RANGES[lesion.grade]
            assert lo <= lesion.reduction <= hi
            assert GRADE_RANGES[lesion.grade][0] <= lo and hi <= GRADE_RANGES[lesion.grade][1]
            if lesion.grade == 5:
                assert lesion.reduction == 1.0 and lesion.core_end_mm - lesion.core_start_mm >= 3.0
            w = lesion.severity(np.array([lesion.start_mm, lesion.core_start_mm, lesion.core_end_mm, lesion.end_mm]))
            assert np.allclose(w, [0.0, 1.0, 1.0, 0.0])
    # 0-3 lesions, in roughly the drawn proportions (fewer when they do not fit).
    assert per_vessel[0] > 0 and per_vessel[3] > 0
    assert per_vessel[0] / per_vessel.sum() >= LESIONS_PER_VESSEL[0] - 0.03


def test_no_room_means_no_lesions() -> None:
    rng = np.random.default_rng(3)
    probabilities = grade_probabilities(DEFAULT_GRADE_MIX)
    assert all(draw_lesions(rng, [(6.0, 12.0)], probabilities) == [] for _ in range(200))
    assert all(draw_lesions(rng, [], probabilities) == [] for _ in range(200))
