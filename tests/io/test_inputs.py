"""Cross-file checks: centerlines against their image, and the cohort summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stages.io.inputs import check_inputs
from stenosis_cli.main import run
from tests.fixtures import ORIGIN


def _shift_lad(path: Path, transform) -> None:
    lines = path.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        vessel, pid, x, y, z, r = line.split(",")
        if vessel == "LAD":
            x, y, z = (f"{v:.4f}" for v in transform(np.array([float(x), float(y), float(z)])))
        out.append(",".join((vessel, pid, x, y, z, r)))
    path.write_text("\n".join(out) + "\n")


def test_summary_counts(cohort: dict[str, Path]) -> None:
    summary = check_inputs(cohort["manifest"], cohort["instances"])
    assert (summary.n_cases, summary.n_vessels, summary.n_points, summary.n_instances) == (2, 4, 28, 4)
    assert summary.grade_counts == {0: 2, 3: 2}
    assert summary.split_counts == {"train": 1, "test": 1}


@pytest.mark.parametrize(
    ("transform", "ras_hint"),
    [(lambda p: p * np.array([-1.0, -1.0, 1.0]), True), (lambda p: p + np.array([0.0, 0.0, 80.0]), False)],
    ids=["ras", "shifted"],
)
def test_points_outside_image(cohort: dict[str, Path], capsys: pytest.CaptureFixture[str], transform, ras_hint: bool) -> None:
    assert np.all(np.abs(ORIGIN[:2]) > 5)  # so that negating x and y moves the points away
    _shift_lad(cohort["centerlines"], transform)
    code = run(["validate", "--manifest", str(cohort["manifest"])])
    err = capsys.readouterr().err
    assert code == 2
    assert str(cohort["centerlines"]) in err and "vessel 'LAD': 8 of 8 points lie outside the image" in err
    assert ("looks like RAS coordinates" in err) == ras_hint
