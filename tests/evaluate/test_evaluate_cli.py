"""`stenosis evaluate`: reports written as DESIGN.md says, and each kind of bad input refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from stenosis_cli.main import run
from tests.fixtures import replace_line

HEADER = "instance_id,case_id,vessel_id,start,end,grade,pred,p1,p2,p3,p4,p5"


def write_preds(path: Path, grades: list[int | None], preds: list[int], seed: int = 0) -> Path:
    """A predictions CSV with 3 cases of 2 vessels; probabilities peaked on ``pred``."""
    rng = np.random.default_rng(seed)
    rows = [HEADER]
    for k, (g, p) in enumerate(zip(grades, preds)):
        probs = rng.dirichlet(np.ones(5)) * 0.3
        probs[p - 1] += 0.7
        rows.append(
            f"i{k},case{k % 3},{'LAD' if k % 2 else 'RCA'},{k},{k + 4},{'' if g is None else g},{p},"
            + ",".join(f"{v:.6f}" for v in probs / probs.sum())
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


Y = [1, 1, 2, 2, 4, 4, 5, 5, 3, 3, 1, 2]
P = [1, 2, 4, 2, 4, 2, 5, 4, 3, 2, 1, 1]


def test_reports_written(tmp_path: Path) -> None:
    a = write_preds(tmp_path / "a" / "preds.csv", Y, P)
    b = write_preds(tmp_path / "b" / "preds.csv", Y, Y)
    out = tmp_path / "out"
    code = run(["evaluate", str(a), str(b), "--json", str(out / "r.json"), "--markdown", str(out / "r.md"),
                "--plot", str(out / "plots"), "--bootstrap", "200", "--by", "case"])
    assert code == 0
    reports = json.loads((out / "r.json").read_text())
    assert [r["file"] for r in reports] == [str(a), str(b)]
    first = reports[0]
    for key in ("n", "qwk", "mae", "amae", "mcre", "amcre", "per_grade", "confusion", "ci95", "by_vessel", "by_case"):
        assert key in first
    assert first["qwk"] == pytest.approx(cohen_kappa_score(Y, P, weights="quadratic", labels=[1, 2, 3, 4, 5]))
    assert reports[1]["qwk"] == 1.0 and reports[1]["mcre"] == 0.0
    assert sorted(first["per_grade"]) == ["1", "2", "3", "4", "5"]
    assert np.array(first["confusion"]).sum() == len(Y)
    assert first["by_case"]["n"] == 3 and first["by_vessel"]["n"] == 6
    low, high = first["ci95"]["mae"]
    assert low <= first["mae"] <= high
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["confusion_a_preds.png", "confusion_b_preds.png", "per_grade.png"]
    assert all((out / "plots" / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in ("per_grade.png",))
    markdown = (out / "r.md").read_text()
    assert "QWK" in markdown and "AMCRE" in markdown and "patient (worst grade)" in markdown


def test_worst_grade_per_patient(tmp_path: Path) -> None:
    # case0 holds instances 0, 3, 6, 9: truths 1, 2, 5, 3 -> worst 5; preds 1, 2, 5, 2 -> worst 5
    path = write_preds(tmp_path / "p.csv", Y, P)
    assert run(["evaluate", str(path), "--by", "case", "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    worst_truth = [max(Y[k] for k in range(len(Y)) if k % 3 == c) for c in range(3)]
    worst_pred = [max(P[k] for k in range(len(P)) if k % 3 == c) for c in range(3)]
    confusion = np.zeros((5, 5), int)
    for t, p in zip(worst_truth, worst_pred):
        confusion[t - 1, p - 1] += 1
    assert report["by_case"]["confusion"] == confusion.tolist()


def test_absent_grades_reported(tmp_path: Path) -> None:
    path = write_preds(tmp_path / "p.csv", [1, 2, 1, 2], [1, 1, 2, 2])
    assert run(["evaluate", str(path), "--json", str(tmp_path / "r.json")]) == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["absent_grades"] == [3, 4, 5]
    assert report["amae"] == pytest.approx(0.5)


def test_unlabelled_rows_skipped_and_no_truth_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_preds(tmp_path / "p.csv", [1, None, 2, 4], [1, 2, 2, 4])
    assert run(["evaluate", str(path), "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["unlabelled"] == 1
    none = write_preds(tmp_path / "none.csv", [None, None], [1, 2])
    capsys.readouterr()
    assert run(["evaluate", str(none)]) == 2
    assert "there is no truth to score" in capsys.readouterr().err


BAD = {
    "missing column": (1, "instance_id,case_id,vessel_id,start,end,grade,pred,p1,p2,p3,p4", None, None, "missing column 'p5'"),
    "grade outside": (3, "i1,case1,LAD,1,5,6,2,0.2,0.2,0.2,0.2,0.2", 3, "grade", "grade 6 is outside 1..5"),
    "grade not integer": (3, "i1,case1,LAD,1,5,2.5,2,0.2,0.2,0.2,0.2,0.2", 3, "grade", "expected an integer, got '2.5'"),
    "pred outside": (4, "i2,case2,RCA,2,6,2,0,0.2,0.2,0.2,0.2,0.2", 4, "pred", "pred 0 is outside 1..5"),
    "pred missing": (4, "i2,case2,RCA,2,6,2,,0.2,0.2,0.2,0.2,0.2", 4, "pred", "missing value"),
    "duplicate id": (5, "i0,case0,LAD,3,7,2,2,0.2,0.2,0.2,0.2,0.2", 5, "instance_id", "duplicate instance_id 'i0'"),
    "negative probability": (2, "i0,case0,RCA,0,4,1,1,1.1,-0.1,0,0,0", 2, "p2", "probability -0.1 is negative"),
    "probabilities off": (2, "i0,case0,RCA,0,4,1,1,0.5,0.2,0.1,0.1,0.05", 2, "p1", "sum to 0.95, not 1"),
    "probability not a number": (2, "i0,case0,RCA,0,4,1,1,x,0.2,0.2,0.2,0.2", 2, "p1", "expected a number, got 'x'"),
    "ragged row": (3, "i1,case1,LAD,1,5,2,2,0.2,0.2,0.2,0.2,0.2,9", 3, None, "malformed CSV: 13 fields where the header has 12"),
    "empty file": (None, "", None, None, "file is empty"),
    "header only": (None, HEADER + "\n", None, None, "table has a header but no rows"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_predictions_exit_2(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line, text, expected_line, field, message = BAD[name]
    path = write_preds(tmp_path / "p.csv", Y, P)
    if line is None:
        path.write_text(text)
    else:
        replace_line(path, line, text)
    code = run(["evaluate", str(path), "--json", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and str(path) in err and message in err, err
    if expected_line is not None:
        assert f"line {expected_line}:" in err
    if field is not None:
        assert f"column '{field}'" in err
    assert not (tmp_path / "r.json").exists()


def test_different_instance_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_preds(tmp_path / "a.csv", Y, P)
    b = write_preds(tmp_path / "b.csv", Y[:-1], P[:-1])
    assert run(["evaluate", str(a), str(b), "--json", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert f"{b}: column 'instance_id': instance set differs from {a}: 0 only here, 1 only there" in err
    assert not (tmp_path / "r.json").exists()
    assert run(["evaluate", str(a), str(b), "--allow-different", "--json", str(tmp_path / "r.json")]) == 0
    assert [r["n"] for r in json.loads((tmp_path / "r.json").read_text())] == [12, 11]
