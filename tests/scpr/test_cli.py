"""`stenosis extract-scpr`: the HDF5 layout, one case and a manifest (shards, workers, skipping
files that are up to date), PNG views, and bad input (exit 2, one line, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from stenosis_cli.main import run
from tests.fixtures import replace_line

FAST = ["--size", "16", "--quiet"]


def _case(cohort: dict[str, Path]) -> list[str]:
    return [str(cohort["image"]), str(cohort["centerlines"])]


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_one_case_writes_the_design_layout(cohort: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "case0_scpr.h5"
    assert run(["extract-scpr", *_case(cohort), "-o", str(out), "--size", "16", "--pixel", "0.5", "-q"]) == 0
    with h5py.File(out, "r") as h5:
        assert json.loads(h5.attrs["vessel_ids"]) == ["LAD", "RCA"]
        assert (h5.attrs["size"], h5.attrs["pixel"], h5.attrs["step"], h5.attrs["frame"]) == (16, 0.5, 0.5, "rmf")
        provenance = json.loads(h5.attrs["provenance"])
        assert provenance["kind"] == "scpr" and provenance["params"]["size"] == 16
        assert set(provenance["inputs"]) == {"image", "centerlines"}
        for vessel in ("LAD", "RCA"):
            group = h5[vessel]
            n = group["arclength"].shape[0]
            assert group["scpr"].dtype == np.float32 and group["scpr"].shape == (n, 16, 16)
            for name in ("points", "tangent", "normal", "binormal"):
                assert group[name].shape == (n, 3)
            np.testing.assert_allclose(group["arclength"][()], np.arange(n) * 0.5)
            np.testing.assert_allclose(np.cross(group["tangent"][()], group["normal"][()]), group["binormal"][()], atol=1e-9)
            source = group["source_point"][()]
            assert source.shape == (n,) and source[0] == 0 and np.all(np.diff(source) > 0)


def test_up_to_date_files_are_kept_and_changed_parameters_rewrite(cohort: dict[str, Path], tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "case0_scpr.h5"
    assert run(["extract-scpr", *_case(cohort), "-o", str(out), *FAST]) == 0
    stamp = out.stat().st_mtime_ns
    assert run(["extract-scpr", *_case(cohort), "-o", str(out), "--size", "16"]) == 0
    assert out.stat().st_mtime_ns == stamp and "up to date" in capsys.readouterr().err
    assert run(["extract-scpr", *_case(cohort), "-o", str(out), *FAST, "--force"]) == 0
    assert out.stat().st_mtime_ns != stamp
    stamp = out.stat().st_mtime_ns
    assert run(["extract-scpr", *_case(cohort), "-o", str(out), *FAST, "--frame", "projection"]) == 0
    assert out.stat().st_mtime_ns != stamp
    with h5py.File(out, "r") as h5:
        assert h5.attrs["frame"] == "projection"


def test_manifest_shards_split_the_cases(cohort: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "scpr"
    assert run(["extract-scpr", "--manifest", str(cohort["manifest"]), "-o", str(out), "--shard", "1/2", *FAST]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["case1_scpr.h5"]
    assert run(["extract-scpr", "--manifest", str(cohort["manifest"]), "-o", str(out), "--shard", "0/2", *FAST]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["case0_scpr.h5", "case1_scpr.h5"]


def test_manifest_with_workers_matches_one_process_and_writes_views(cohort: dict[str, Path], tmp_path: Path) -> None:
    manifest = str(cohort["manifest"])
    assert run(["extract-scpr", "--manifest", manifest, "-o", str(tmp_path / "one"), *FAST]) == 0
    assert run(["extract-scpr", "--manifest", manifest, "-o", str(tmp_path / "two"), "--workers", "2",
                "--png", str(tmp_path / "views"), *FAST]) == 0
    for case in ("case0", "case1"):
        with h5py.File(tmp_path / "one" / f"{case}_scpr.h5") as a, h5py.File(tmp_path / "two" / f"{case}_scpr.h5") as b:
            np.testing.assert_array_equal(a["LAD/scpr"][()], b["LAD/scpr"][()])
    views = sorted((tmp_path / "views").iterdir())
    assert [p.name for p in views] == ["case0_LAD.png", "case0_RCA.png", "case1_LAD.png", "case1_RCA.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in views)


def test_views_are_drawn_for_files_already_up_to_date(cohort: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "case0_scpr.h5"
    assert run(["extract-scpr", *_case(cohort), "-o", str(out), *FAST]) == 0
    assert run(["extract-scpr", *_case(cohort), "-o", str(out), *FAST, "--png", str(tmp_path / "v")]) == 0
    assert sorted(p.name for p in (tmp_path / "v").iterdir()) == ["case0_scpr_LAD.png", "case0_scpr_RCA.png"]


def _write_points(path: Path, rows: list[str]) -> None:
    path.write_text("vessel_id,point_id,x,y,z,radius\n" + "\n".join(rows) + "\n")


def _shifted(cohort: dict[str, Path], shift: np.ndarray) -> None:
    """Move the LAD of case0 by ``shift`` mm (world), or negate x and y when ``shift`` is None."""
    lines = cohort["centerlines"].read_text().splitlines()
    rows = []
    for line in lines[1:]:
        vessel, pid, *xyz, radius = line.split(",")
        p = np.array(xyz, dtype=float)
        if vessel == "LAD":
            p = p * np.array([-1.0, -1.0, 1.0]) if shift is None else p + shift
        rows.append(f"{vessel},{pid},{p[0]:.4f},{p[1]:.4f},{p[2]:.4f},{radius}")
    _write_points(cohort["centerlines"], rows)


def _nothing_written(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (lambda c: _shifted(c, np.array([0.0, 0.0, 200.0])), "vessel 'LAD': 8 of 8 points lie outside the image"),
        (lambda c: _shifted(c, None), "the file looks like RAS coordinates"),
        (lambda c: replace_line(c["centerlines"], 2, "LAD,0,nan,40,101"), "line 2: column 'x': vessel 'LAD': value is not finite"),
        (lambda c: _write_points(c["centerlines"], ["LAD,0,-7.0,44.0,98.0,1", "LAD,1,-7.0,44.0,98.6,1"]),
         "vessel 'LAD': the centerline is 0.6 mm long, shorter than two steps (1 mm)"),
        (lambda c: _write_points(c["centerlines"], ["LAD/2,0,-7.0,44.0,98.0,1", "LAD/2,1,-7.0,44.0,96.0,1"]),
         "vessel 'LAD/2': a vessel id cannot contain '/'"),
    ],
    ids=["outside", "ras", "nan", "short", "slash"],
)
def test_bad_centerlines_exit_2_naming_file_and_vessel(cohort: dict[str, Path], tmp_path: Path, corrupt, expected: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    corrupt(cohort)
    out = tmp_path / "out" / "case0_scpr.h5"
    assert run(["extract-scpr", *_case(cohort), "-o", str(out), "--png", str(tmp_path / "views"), *FAST]) == 2
    err = _error(capsys)
    assert err.startswith(f"stenosis: error: {cohort['centerlines']}: ") and expected in err, err
    assert _nothing_written(tmp_path / "out") and _nothing_written(tmp_path / "views")


def test_a_bad_case_in_a_manifest_stops_before_any_file_is_written(cohort: dict[str, Path], tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    case1 = cohort["manifest"].parent / "case1" / "centerlines.csv"
    replace_line(case1, 3, "LAD,1,500,500,500,1.5")
    assert run(["extract-scpr", "--manifest", str(cohort["manifest"]), "-o", str(tmp_path / "out"), *FAST]) == 2
    assert f"{case1}: column 'vessel_id': vessel 'LAD'" in _error(capsys)
    assert _nothing_written(tmp_path / "out")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (lambda c: [*_case(c), "--manifest", str(c["manifest"])], "give IMAGE and CENTERLINES for one case, or --manifest"),
        (lambda c: [], "give IMAGE and CENTERLINES for one case, or --manifest"),
        (lambda c: ["--manifest", str(c["manifest"]), "--shard", "2/2"], "expected i/n with 0 <= i < n"),
        (lambda c: [*_case(c), "--pixel", "0"], "pixel must be positive"),
        (lambda c: [*_case(c), "--step", "-1"], "step must be positive"),
    ],
    ids=["both", "neither", "shard", "pixel", "step"],
)
def test_bad_options_exit_2(cohort: dict[str, Path], tmp_path: Path, args, expected: str,
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["extract-scpr", *args(cohort), "-o", str(tmp_path / "out"), "-q"]) == 2
    assert expected in capsys.readouterr().err
    assert _nothing_written(tmp_path / "out")
