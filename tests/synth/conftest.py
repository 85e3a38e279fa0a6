"""Phantom cohorts shared by the synth tests, generated once per session (a few seconds each)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from stages.synth import CohortSummary, generate_cohort

SEED = 10
"""With UNIFORM and 3 cases this seed yields every grade (asserted in test_lesions)."""
UNIFORM = (1.0, 1.0, 1.0, 1.0, 1.0)
N_CASES = 3  # one case of each geometry kind


@dataclass
class Cohort:
    path: Path
    summary: CohortSummary
    progress: list[tuple[int, int]]


def _make(folder: Path, n_cases: int, seed: int, **options: object) -> Cohort:
    calls: list[tuple[int, int]] = []
    summary = generate_cohort(folder, n_cases, seed, grade_mix=UNIFORM,
                              progress=lambda done, total: calls.append((done, total)), **options)
    return Cohort(folder, summary, calls)


@pytest.fixture(scope="session")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    """3 cases, seed SEED, uniform grade mix, made by 2 worker processes."""
    return _make(tmp_path_factory.mktemp("synth") / "cohort", N_CASES, SEED, workers=2)


@pytest.fixture(scope="session")
def phantom_again(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    """The same cohort made again in this process (workers=1)."""
    return _make(tmp_path_factory.mktemp("synth") / "again", N_CASES, SEED, workers=1)


@pytest.fixture(scope="session")
def phantom_clean(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    """Case 0 of the same seed without image noise."""
    return _make(tmp_path_factory.mktemp("synth") / "clean", 1, SEED, noise=False)


@pytest.fixture(scope="session")
def phantom_other_seed(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    """Case 0 of another seed."""
    return _make(tmp_path_factory.mktemp("synth") / "other", 1, SEED + 1)
