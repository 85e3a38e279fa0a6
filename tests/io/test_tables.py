"""Each defect of an input table: exit 2, one line naming the file, line, column and defect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stages.errors import InputError
from stages.io.tables import load_centerlines, load_instances, load_manifest
from stenosis_cli.main import run
from tests.fixtures import inside_points, replace_line

# (file key, line to replace or None for whole-file text, new text, expected line, field, message part)
DEFECTS = {
    # manifest
    "manifest missing column": ("manifest", 1, "case_id,image,split", None, None, "missing column 'centerlines'"),
    "manifest semicolons": ("manifest", None, "case_id;image;centerlines\nc;i;x\n", None, None, "the header looks semicolon-separated"),
    "manifest empty file": ("manifest", None, "", None, None, "file is empty"),
    "manifest header only": ("manifest", None, "case_id,image,centerlines\n", None, None, "no rows"),
    "manifest duplicate case": ("manifest", 3, "case0,case1/image.nii.gz,case1/centerlines.csv,test", 3, "case_id", "duplicate case_id 'case0' (first on line 2)"),
    "manifest empty case id": ("manifest", 3, ",case1/image.nii.gz,case1/centerlines.csv,test", 3, "case_id", "empty value"),
    "manifest bad split": ("manifest", 3, "case1,case1/image.nii.gz,case1/centerlines.csv,testing", 3, "split", "split must be one of train, val, test"),
    "manifest missing image": ("manifest", 3, "case1,case1/nope.nii.gz,case1/centerlines.csv,test", 3, "image", "image does not exist"),
    "manifest unreadable image": ("manifest", 3, "case1,case1/centerlines.csv,case1/centerlines.csv,test", 3, "image", "cannot read image"),
    "manifest missing centerlines": ("manifest", 3, "case1,case1/image.nii.gz,case1/none.csv,test", 3, "centerlines", "does not exist"),
    "manifest ragged row": ("manifest", 3, "case1,case1/image.nii.gz,case1/centerlines.csv,test,extra,more", 3, None, "malformed CSV"),
    # centerlines (case0: LAD on lines 2-9, RCA on lines 10-15)
    "centerlines missing column": ("centerlines", 1, "vessel_id,point_id,x,y,radius", None, None, "missing column 'z'"),
    "centerlines point_id not integer": ("centerlines", 4, "LAD,2.5,1,2,3,1.5", 4, "point_id", "expected an integer, got '2.5'"),
    "centerlines point_id text": ("centerlines", 4, "LAD,two,1,2,3,1.5", 4, "point_id", "expected an integer, got 'two'"),
    "centerlines x not a number": ("centerlines", 5, "LAD,3,abc,2,3,1.5", 5, "x", "expected a number, got 'abc'"),
    "centerlines missing coordinate": ("centerlines", 5, "LAD,3,1,,3,1.5", 5, "y", "missing value"),
    "centerlines nan coordinate": ("centerlines", 6, "LAD,4,1,2,nan,1.5", 6, "z", "not finite"),
    "centerlines inf coordinate": ("centerlines", 6, "LAD,4,inf,2,3,1.5", 6, "x", "not finite"),
    "centerlines duplicate point_id": ("centerlines", 7, "LAD,3,1,2,3,1.5", 7, "point_id", "duplicate point_id 3 in vessel 'LAD'"),
    "centerlines negative radius": ("centerlines", 7, "LAD,5,1,2,3,-1", 7, "radius", "radius must be positive"),
    "centerlines single-point vessel": ("centerlines", 15, "LM,0,1,2,3,1.5", 15, "vessel_id", "vessel 'LM' has 1 point"),
    # instances (lines 2-5: case0 LAD, case0 RCA, case1 LAD, case1 RCA)
    "instances missing column": ("instances", 1, "instance_id,case_id,vessel_id,start,grade", None, None, "missing column 'end'"),
    "instances start after end": ("instances", 2, "case0_LAD_0,case0,LAD,5,4,3", 2, "start", "start 5 is after end 4"),
    "instances start not integer": ("instances", 2, "case0_LAD_0,case0,LAD,x,4,3", 2, "start", "expected an integer, got 'x'"),
    "instances grade outside": ("instances", 3, "case0_RCA_0,case0,RCA,1,3,6", 3, "grade", "grade 6 is outside 1..5"),
    "instances grade zero": ("instances", 3, "case0_RCA_0,case0,RCA,1,3,0", 3, "grade", "grade 0 is outside 1..5"),
    "instances grade not integer": ("instances", 3, "case0_RCA_0,case0,RCA,1,3,2.5", 3, "grade", "expected an integer, got '2.5'"),
    "instances duplicate id": ("instances", 4, "case0_LAD_0,case1,LAD,2,4,3", 4, "instance_id", "duplicate instance_id 'case0_LAD_0'"),
    "instances unknown case": ("instances", 4, "case1_LAD_0,case7,LAD,2,4,3", 4, "case_id", "case 'case7' is not in the manifest"),
    "instances unknown vessel": ("instances", 4, "case1_LAD_0,case1,LCX,2,4,3", 4, "vessel_id", "vessel 'LCX' is not in the centerlines of case 'case1'"),
    "instances point beyond vessel": ("instances", 5, "case1_RCA_0,case1,RCA,1,9,", 5, "end", "point_id 9 is not on vessel 'RCA'"),
}


def _corrupt(paths: dict[str, Path], key: str, line: int | None, text: str) -> Path:
    target = paths[key]
    if line is None:
        target.write_text(text)
    else:
        replace_line(target, line, text)
    return target


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_exits_2_with_one_line(name: str, cohort: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    key, line, text, expected_line, field, message = DEFECTS[name]
    target = _corrupt(cohort, key, line, text)
    code = run(["validate", "--manifest", str(cohort["manifest"]), "--instances", str(cohort["instances"])])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("stenosis: error: ")
    assert str(target) in err
    assert message in err
    if expected_line is not None:
        assert f": line {expected_line}:" in err
    if field is not None:
        assert f"column '{field}'" in err


def test_valid_cohort_passes(cohort: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["validate", "--manifest", str(cohort["manifest"]), "--instances", str(cohort["instances"])])
    assert code == 0, capsys.readouterr().err


def test_centerlines_sorted_by_point_id(tmp_path: Path) -> None:
    points = inside_points(4)
    rows = ["vessel_id,point_id,x,y,z"] + [
        f"V,{pid},{points[pid][0]},{points[pid][1]},{points[pid][2]}" for pid in (2, 0, 3, 1)
    ]
    path = tmp_path / "c.csv"
    path.write_text("\n".join(rows) + "\n")
    vessel = load_centerlines(path)["V"]
    assert vessel.point_ids.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(vessel.points, points)
    assert vessel.radius is None


def test_manifest_paths_relative_to_its_folder(cohort: dict[str, Path]) -> None:
    manifest = load_manifest(cohort["manifest"])
    assert manifest.cases["case1"].image == cohort["manifest"].parent / "case1" / "image.nii.gz"
    assert [c.split for c in manifest.cases.values()] == ["train", "test"]


def test_empty_grade_is_unknown(cohort: dict[str, Path]) -> None:
    instances = load_instances(cohort["instances"], load_manifest(cohort["manifest"]))
    assert [(i.instance_id, i.grade, i.line) for i in instances[:2]] == [("case0_LAD_0", 3, 2), ("case0_RCA_0", 0, 3)]


def test_input_error_carries_location(cohort: dict[str, Path]) -> None:
    replace_line(cohort["instances"], 3, "case0_RCA_0,case0,RCA,4,3,")
    with pytest.raises(InputError) as caught:
        load_instances(cohort["instances"])
    assert (caught.value.line, caught.value.field) == (3, "start")
