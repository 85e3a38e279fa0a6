from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import write_cohort


@pytest.fixture
def cohort(tmp_path: Path) -> dict[str, Path]:
    """Paths of a tiny valid two-case cohort (see tests/fixtures.py)."""
    return write_cohort(tmp_path / "cohort")


@pytest.fixture(scope="session")
def phantom_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-case phantom cohort (grades 1-4) shared by the tests that build datasets from it;
    tests that change files copy it first."""
    from stages.synth import generate_cohort

    folder = tmp_path_factory.mktemp("phantom") / "cohort"
    generate_cohort(folder, 4, seed=3, grade_mix=(1, 1, 1, 1, 0))
    return folder
