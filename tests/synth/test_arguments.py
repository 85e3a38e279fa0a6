"""Bad arguments to generate_cohort raise ValueError naming the argument, before anything is
written."""

from __future__ import annotations

from pathlib import Path

import pytest

from stages.synth import generate_cohort


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"n_cases": 0}, "n_cases"),
        ({"n_cases": -3}, "n_cases"),
        ({"n_cases": 2.5}, "n_cases"),
        ({"n_cases": True}, "n_cases"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"grade_mix": (1, 1, 1, 1)}, "grade_mix"),
        ({"grade_mix": (1, 1, 1, 1, 1, 1)}, "grade_mix"),
        ({"grade_mix": (1, 1, -1, 1, 1)}, "grade_mix"),
        ({"grade_mix": (0, 0, 0, 0, 0)}, "grade_mix"),
        ({"grade_mix": (1, 1, float("nan"), 1, 1)}, "grade_mix"),
        ({"grade_mix": ("a", 1, 1, 1, 1)}, "grade_mix"),
        ({"workers": 0}, "workers"),
        ({"workers": -1}, "workers"),
        ({"workers": 1.0}, "workers"),
    ],
)
def test_bad_argument_raises_value_error_naming_it(tmp_path: Path, arguments: dict, name: str) -> None:
    call = {"n_cases": 1, "seed": 0, **arguments}
    out = tmp_path / "cohort"
    with pytest.raises(ValueError, match=name):
        generate_cohort(out, call.pop("n_cases"), call.pop("seed"), **call)
    assert not out.exists()
