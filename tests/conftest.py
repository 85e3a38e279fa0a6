from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures import write_cohort


@pytest.fixture
def cohort(tmp_path: Path) -> dict[str, Path]:
    """Paths of a tiny valid two-case cohort (see tests/fixtures.py)."""
    return write_cohort(tmp_path / "cohort")
