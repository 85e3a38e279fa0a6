"""The files a phantom cohort consists of: tables as DESIGN.md specifies, determinism, noise,
progress reports, README, atomic writes."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from stages.io.tables import load_centerlines, load_instances, load_manifest
from stages.synth.vessels import TEMPLATES
from tests.synth.conftest import N_CASES, SEED, Cohort


def _header(path: Path) -> list[str]:
    with open(path, newline="") as handle:
        return next(csv.reader(handle))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _array(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def test_tables_follow_the_contract(phantom: Cohort) -> None:
    root = phantom.path
    assert _header(root / "cases.csv") == ["case_id", "image", "centerlines"]
    assert _header(root / "instances.csv") == ["instance_id", "case_id", "vessel_id", "start", "end", "grade"]
    manifest = load_manifest(root / "cases.csv")
    assert list(manifest.cases) == [f"case{i:03d}" for i in range(N_CASES)]
    instances = load_instances(root / "instances.csv", manifest)
    assert len(instances) == phantom.summary.n_instances > 0
    assert len({i.instance_id for i in instances}) == len(instances)
    for case in manifest.cases.values():
        assert case.image == root / case.case_id / "image.nii.gz"
        assert _header(case.centerlines) == ["vessel_id", "point_id", "x", "y", "z", "radius"]
        vessels = load_centerlines(case.centerlines)
        assert set(vessels) <= set(TEMPLATES) and 2 <= len(vessels) <= 4
        for line in vessels.values():
            assert np.array_equal(line.point_ids, np.arange(len(line.point_ids)))
            assert np.all((line.radius > 0.5) & (line.radius < 2.1))
        for inst in (i for i in instances if i.case_id == case.case_id):
            assert 0 <= inst.start < inst.end < len(vessels[inst.vessel_id].point_ids)
            assert inst.grade in (1, 2, 3, 4, 5)
    assert sum(len(load_centerlines(c.centerlines)) for c in manifest.cases.values()) == phantom.summary.n_vessels


def test_centerlines_are_uneven_jittered_and_coronary_sized(phantom: Cohort) -> None:
    table = pd.concat(pd.read_csv(p).assign(case=p.parent.name) for p in sorted(phantom.path.glob("case*/centerlines.csv")))
    for (case, vessel), rows in table.groupby(["case", "vessel_id"]):
        p = rows.sort_values("point_id")[["x", "y", "z"]].to_numpy()
        step = np.linalg.norm(np.diff(p, axis=0), axis=1)
        assert 0.45 < np.median(step) < 1.0, (case, vessel)  # drawn 0.3-1.2 mm, plus jitter
        assert step.std() > 0.15, (case, vessel)  # not evenly spaced
        assert 55.0 < step.sum() < 130.0, (case, vessel)  # 60-120 mm, chords lengthened by jitter
        # Jitter: second differences of a smooth curve sampled at <= 1.2 mm are tiny (< 0.05 mm
        # at a 7 mm bend radius); 0.1-0.2 mm point jitter makes them ~0.2-0.5 mm.
        wiggle = np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=1)
        assert 0.1 < np.median(wiggle) < 0.6, (case, vessel)


def test_same_seed_gives_identical_bytes_whatever_the_workers(phantom: Cohort, phantom_again: Cohort) -> None:
    first, second = _files(phantom.path), _files(phantom_again.path)
    assert sorted(first) == sorted(second)
    assert "case000/image.nii.gz" in first and "README.md" in first
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []
    image_a = sitk.ReadImage(str(phantom.path / "case000/image.nii.gz"))
    image_b = sitk.ReadImage(str(phantom_again.path / "case000/image.nii.gz"))
    assert np.array_equal(sitk.GetArrayFromImage(image_a), sitk.GetArrayFromImage(image_b))
    assert (image_a.GetOrigin(), image_a.GetSpacing(), image_a.GetDirection()) == \
        (image_b.GetOrigin(), image_b.GetSpacing(), image_b.GetDirection())


def test_another_seed_gives_another_case(phantom: Cohort, phantom_other_seed: Cohort) -> None:
    for name in ("case000/centerlines.csv", "case000/lumen.nii.gz"):
        assert (phantom.path / name).read_bytes() != (phantom_other_seed.path / name).read_bytes()
    a, b = _array(phantom.path / "case000/image.nii.gz"), _array(phantom_other_seed.path / "case000/image.nii.gz")
    assert a.shape != b.shape or not np.array_equal(a, b)


def test_noise_is_ct_like_and_leaves_the_anatomy_alone(phantom: Cohort, phantom_clean: Cohort) -> None:
    noisy, clean = phantom.path / "case000", phantom_clean.path / "case000"
    assert (noisy / "centerlines.csv").read_bytes() == (clean / "centerlines.csv").read_bytes()
    assert np.array_equal(_array(noisy / "lumen.nii.gz"), _array(clean / "lumen.nii.gz"))
    difference = _array(noisy / "image.nii.gz").astype(float) - _array(clean / "image.nii.gz")
    assert 15.0 * 0.9 < difference.std() < 30.0 * 1.1  # drawn 15-30 HU after the blur
    # Blurred by the PSF before it is written: neighbouring noise values correlate.
    assert np.corrcoef(difference[:, :, 1:].ravel(), difference[:, :, :-1].ravel())[0, 1] > 0.2


def test_progress_counts_up_to_the_number_of_cases(phantom: Cohort) -> None:
    assert phantom.progress[0] == (0, N_CASES)
    assert phantom.progress[-1] == (N_CASES, N_CASES)
    assert [done for done, _ in phantom.progress] == list(range(N_CASES + 1))


def test_summary_and_readme_agree_with_the_tables(phantom: Cohort) -> None:
    instances = pd.read_csv(phantom.path / "instances.csv")
    summary = phantom.summary
    assert summary.manifest == phantom.path / "cases.csv" and summary.instances == phantom.path / "instances.csv"
    assert summary.n_cases == N_CASES and summary.seed == SEED
    assert summary.grade_counts == {g: int((instances.grade == g).sum()) for g in range(1, 6)}
    sizes = [sum(f.stat().st_size for f in d.iterdir()) / 1e6 for d in phantom.path.glob("case*") if d.is_dir()]
    assert summary.largest_case_mb == pytest.approx(max(sizes)) and max(sizes) < 30.0
    readme = (phantom.path / "README.md").read_text()
    for text in (f"seed {SEED}", f"{summary.n_instances} stenosis instances", f"{summary.n_vessels} vessels",
                 "lumen.nii.gz", "centerlines.csv"):
        assert text in readme


def test_no_temporary_files_are_left(phantom: Cohort) -> None:
    assert [p.name for p in phantom.path.rglob("*") if ".tmp" in p.name] == []
