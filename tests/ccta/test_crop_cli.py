"""`stenosis crop-ccta` for one case and for a manifest, and its bad input."""

from __future__ import annotations

from pathlib import Path

import h5py
import pandas as pd
import pytest

from stenosis_cli.main import run

SMALL = ["--patch", "24", "--spacing", "0.8", "--extend", "4", "-q"]


def test_manifest_and_single_case_agree(phantom_cohort: Path, tmp_path: Path) -> None:
    cases = phantom_cohort / "cases.csv"
    instances = phantom_cohort / "instances.csv"
    assert run(["crop-ccta", "-m", str(cases), "-i", str(instances), "-o", str(tmp_path / "all"), "-j", "2", *SMALL]) == 0
    table = pd.read_csv(instances)
    case = table.case_id.iloc[0]
    assert run(["crop-ccta", str(phantom_cohort / case / "image.nii.gz"), str(phantom_cohort / case / "centerlines.csv"),
                str(instances), "--case-id", case, "-o", str(tmp_path / "one.h5"), *SMALL]) == 0
    with h5py.File(tmp_path / "all" / f"{case}_patch.h5") as a, h5py.File(tmp_path / "one.h5") as b:
        assert sorted(a["instances"]) == sorted(table[table.case_id == case].instance_id)
        for name in a["instances"]:
            assert (a["instances"][name]["ccta"][()] == b["instances"][name]["ccta"][()]).all()
            assert a["instances"][name]["ccta"].shape == (24, 24, 24)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["IMAGE", "CENTERLINES", "INSTANCES"], "pick one with --case-id"),
        (["IMAGE", "CENTERLINES", "INSTANCES", "--case-id", "nobody"], "no instance of case 'nobody'"),
        (["-m", "MANIFEST"], "--manifest needs --instances"),
        (["IMAGE"], "give IMAGE CENTERLINES INSTANCES for one case"),
    ],
)
def test_bad_usage_exit_2(phantom_cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    case = pd.read_csv(phantom_cohort / "instances.csv").case_id.iloc[0]
    names = {"IMAGE": str(phantom_cohort / case / "image.nii.gz"), "CENTERLINES": str(phantom_cohort / case / "centerlines.csv"),
             "INSTANCES": str(phantom_cohort / "instances.csv"), "MANIFEST": str(phantom_cohort / "cases.csv")}
    assert run(["crop-ccta", *(names.get(a, a) for a in args), "-o", str(tmp_path / "x.h5"), *SMALL]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.h5").exists()
