"""build-dataset on a small phantom cohort: round trip, splits, caching, shards, kills, bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import map_coordinates

from stages.ccta.patch import PatchParams
from stages.dataset.build import BuildParams, build_dataset
from stages.dataset.loader import InstanceDataset, collate
from stages.dataset.store import read_index, read_records
from stages.scpr.extract import ScprParams
from stenosis_cli.main import run
from tests.fixtures import replace_line

ROOT = Path(__file__).parents[2]
SMALL = BuildParams(scpr=ScprParams(size=24, pixel=0.5), patch=PatchParams(size=32, spacing=0.6), extend=6)
CLI_SMALL = ["--size", "24", "--pixel", "0.5", "--patch", "32", "--spacing", "0.6", "--extend", "6", "-q"]


@pytest.fixture(scope="module")
def cohort(phantom_cohort: Path) -> Path:
    return phantom_cohort


@pytest.fixture(scope="module")
def built(cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "dataset.h5"
    build_dataset(cohort / "cases.csv", cohort / "instances.csv", out, SMALL)
    return out


def _copy(cohort: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(cohort, tmp_path / "cohort"))


def test_points_sit_on_the_lumen_in_the_patch_and_the_scpr(built: Path, cohort: Path) -> None:
    table = pd.read_csv(cohort / "instances.csv")
    index = read_index(built)
    assert sorted(index.instance_id) == sorted(table["instance_id"])
    for record in read_records(built):
        inside = record.mask
        in_patch = map_coordinates(record.ccta.astype(np.float32), record.ccta_points[inside].T, order=1)
        centre = record.scpr[inside, 11:13, 11:13].mean(axis=(1, 2))
        assert np.median(in_patch) > 200, record.instance_id  # contrast-filled lumen, 300-500 HU
        assert np.median(centre) > 200
        assert np.corrcoef(in_patch, centre)[0, 1] > 0.5  # patch and SCPR see the same lesion
        world = record.ccta_geometry.index_to_world(record.ccta_points)
        np.testing.assert_allclose(world, record.points, atol=1e-3)
        d = record.scpr.shape[0]
        assert record.scpr.shape == (d, 24, 24) and record.ccta.shape == (32, 32, 32)
        assert record.core_start == 6 and record.core_end == d - 7


def test_no_case_in_two_splits(built: Path) -> None:
    index = read_index(built)
    per_case = pd.DataFrame({"case": index.case_id, "split": index.split}).groupby("case")["split"].nunique()
    assert (per_case == 1).all()
    assert set(index.split) <= {"train", "val", "test"}


def test_cache_reused_and_invalidated(cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.h5"
    first = build_dataset(cohort / "cases.csv", cohort / "instances.csv", out, SMALL)
    again = build_dataset(cohort / "cases.csv", cohort / "instances.csv", out, SMALL)
    assert (first.cases_built, again.cases_built, again.cases_reused) == (first.cases_built, 0, first.cases_built)
    changed = BuildParams(scpr=SMALL.scpr, patch=PatchParams(size=32, spacing=0.7), extend=6)
    redone = build_dataset(cohort / "cases.csv", cohort / "instances.csv", out, changed)
    assert redone.cases_built == first.cases_built
    with h5py.File(out) as h5:
        group = h5["instances"][read_index(out).instance_id[0]]
        assert group.attrs["ccta_spacing"][0] == pytest.approx(0.7)


def test_shards_merged_equal_one_run(cohort: Path, built: Path, tmp_path: Path) -> None:
    parts = []
    for k in range(2):
        parts.append(tmp_path / f"part{k}.h5")
        assert run(["build-dataset", "-m", str(cohort / "cases.csv"), "-i", str(cohort / "instances.csv"),
                    "-o", str(parts[-1]), "--shard", f"{k}/2", "--cache", str(tmp_path / "cache"), *CLI_SMALL]) == 0
    merged = tmp_path / "merged.h5"
    assert run(["build-dataset", "--merge", str(parts[0]), "--merge", str(parts[1]), "-o", str(merged), "-q"]) == 0
    one = {r.instance_id: r for r in read_records(built)}
    both = {r.instance_id: r for r in read_records(merged)}
    assert sorted(one) == sorted(both)
    for key, a in one.items():
        b = both[key]
        assert (a.split, a.grade, a.core_start, a.core_end) == (b.split, b.grade, b.core_start, b.core_end)
        for name in ("scpr", "ccta", "ccta_points", "mask", "points"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_killed_build_leaves_no_dataset_and_rerun_completes(cohort: Path, tmp_path: Path) -> None:
    out = tmp_path / "d.h5"
    script = textwrap.dedent(f"""
        import os, signal
        from stages.dataset import store
        from tests.dataset.test_build import SMALL
        from stages.dataset.build import build_dataset
        real = store.InstanceRecord.__post_init__
        count = [0]
        def dying(self):
            count[0] += 1
            if count[0] == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            real(self)
        store.InstanceRecord.__post_init__ = dying
        build_dataset({str(cohort / 'cases.csv')!r}, {str(cohort / 'instances.csv')!r}, {str(out)!r}, SMALL)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT)
    assert result.returncode == -9 and not out.exists()
    summary = build_dataset(cohort / "cases.csv", cohort / "instances.csv", out, SMALL)
    assert len(read_index(out).instance_id) == sum(sum(c.values()) for c in summary.counts.values())


def _bad_cases(cohort: Path) -> dict[str, tuple]:
    table = pd.read_csv(cohort / "instances.csv")
    first = table.iloc[0]
    return {
        "missing vessel": (2, f"{first.instance_id},{first.case_id},XYZ,{first.start},{first.end},{first.grade}", "vessel 'XYZ' is not in"),
        "range beyond vessel": (2, f"{first.instance_id},{first.case_id},{first.vessel_id},{first.start},99999,{first.grade}", "point_id 99999 is not on vessel"),
        "unreadable image": (None, first.case_id, "cannot read image"),
    }


@pytest.mark.parametrize("name", ["missing vessel", "range beyond vessel", "unreadable image"])
def test_bad_input_exit_2_and_skip_bad(name: str, cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _copy(cohort, tmp_path)
    line, text, message = _bad_cases(folder)[name]
    if line is None:
        (folder / text / "image.nii.gz").write_bytes(b"broken")
    else:
        replace_line(folder / "instances.csv", line, text)
    bad_id = pd.read_csv(folder / "instances.csv").iloc[0].instance_id
    args = ["build-dataset", "-m", str(folder / "cases.csv"), "-i", str(folder / "instances.csv"), "-o", str(tmp_path / "d.h5")]
    assert run(args + CLI_SMALL) == 2
    err = capsys.readouterr().err
    assert message in err and f"instance '{bad_id}'" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "d.h5").exists()
    assert run(args + CLI_SMALL + ["--skip-bad"]) == 0
    skipped = pd.read_csv(tmp_path / "d.skipped.csv")
    assert bad_id in set(skipped["instance_id"])
    kept = set(read_index(tmp_path / "d.h5").instance_id)
    everything = set(pd.read_csv(folder / "instances.csv")["instance_id"])
    assert kept | set(skipped["instance_id"]) == everything and not kept & set(skipped["instance_id"])


def test_loader_reads_the_built_dataset(built: Path) -> None:
    data = InstanceDataset(built)
    item = data.to_device(collate([data[0]]), "cpu")
    assert item["ccta"].shape == (1, 1, 32, 32, 32) and 0 <= float(item["ccta"].min()) and float(item["ccta"].max()) <= 1


def test_skip_bad_leaves_out_a_case_with_a_malformed_centerline_table(cohort: Path, tmp_path: Path) -> None:
    folder = _copy(cohort, tmp_path)
    table = pd.read_csv(folder / "instances.csv")
    case = table.case_id.iloc[0]
    replace_line(folder / case / "centerlines.csv", 3, "LAD,x,1,2,3,1.5")
    args = ["build-dataset", "-m", str(folder / "cases.csv"), "-i", str(folder / "instances.csv"), "-o", str(tmp_path / "d.h5")]
    assert run(args + CLI_SMALL) == 2
    assert run(args + CLI_SMALL + ["--skip-bad"]) == 0
    skipped = pd.read_csv(tmp_path / "d.skipped.csv")
    assert set(skipped.instance_id) == set(table[table.case_id == case].instance_id)
    assert "expected an integer, got 'x'" in skipped.reason.iloc[0]
