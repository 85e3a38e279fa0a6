"""The phantom cohort: generate its cases (in parallel processes if asked), then write the case
manifest, the stenosis instances, the lesion ground truth and a README into the cohort folder.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from stages.io.artifacts import atomic_output, write_text
from stages.grades import GRADES
from stages.synth.case import (
    GEOMETRY_KINDS, INSTANCE_COLUMNS, LESION_COLUMNS, PIXEL_MM, SLICE_MM, CaseRecord, generate_case,
)
from stages.synth.lesions import (
    DRAW_RANGES, GRADE_RANGES, HEALTHY_GAP_MM, LESION_LENGTH_MM, MIN_LESION_RADIUS_MM, grade_probabilities,
)

DEFAULT_GRADE_MIX = (0.42, 0.37, 0.13, 0.07, 0.01)
"""Relative frequency of grades 1..5, roughly that of a clinical CCTA cohort."""


@dataclass(frozen=True)
class CohortSummary:
    """What :func:`generate_cohort` wrote: counts, grade counts (keys 1..5, all present), the
    largest case on disk in MB, and the paths of the cohort's tables and README."""

    out_dir: Path
    manifest: Path
    instances: Path
    lesions: Path
    readme: Path
    seed: int
    n_cases: int
    n_vessels: int
    n_instances: int
    grade_counts: dict[int, int]
    largest_case_mb: float


def generate_cohort(
    out_dir: Path,
    n_cases: int,
    seed: int,
    *,
    grade_mix: Sequence[float] = DEFAULT_GRADE_MIX,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    noise: bool = True,
) -> CohortSummary:
    """Write a phantom CCTA cohort of ``n_cases`` cases into ``out_dir``.

    Files (paths relative to ``out_dir``): ``cases.csv`` (``case_id,image,centerlines``),
    ``instances.csv`` (``instance_id,case_id,vessel_id,start,end,grade``), ``lesions.csv``
    (each instance's drawn reduction, length and plaque), ``README.md``, and per case
    ``<case_id>/image.nii.gz`` (int16 HU), ``<case_id>/lumen.nii.gz`` (uint8 labels: 0
    background, 1 lumen, 2 soft plaque, 3 calcified plaque) and ``<case_id>/centerlines.csv``
    (``vessel_id,point_id,x,y,z,radius``, world mm LPS). Existing files of the same names are
    replaced; other files in ``out_dir`` are left alone.

    ``grade_mix``: relative frequencies of grades 1..5; ``workers``: processes making cases
    (the files are the same for any count); ``progress(done, total)`` is called as cases
    finish; ``noise=False`` leaves the image noise out (for tests). The same ``seed`` gives
    byte-identical files. Raises ValueError naming a bad argument.
    """
    _check_count("n_cases", n_cases)
    _check_count("workers", workers)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    probabilities = grade_probabilities(grade_mix)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    records = sorted(_run_cases(out_dir, n_cases, int(seed), probabilities, workers, noise, progress),
                     key=lambda r: r.case_id)
    manifest = out_dir / "cases.csv"
    instances = out_dir / "instances.csv"
    lesions = out_dir / "lesions.csv"
    readme = out_dir / "README.md"
    _write_csv(manifest, ("case_id", "image", "centerlines"), ((r.case_id, r.image, r.centerlines) for r in records))
    _write_csv(instances, INSTANCE_COLUMNS, (row for r in records for row in r.instances))
    _write_csv(lesions, LESION_COLUMNS, (row for r in records for row in r.lesions))
    grades = [int(row[-1]) for r in records for row in r.instances]
    summary = CohortSummary(
        out_dir=out_dir,
        manifest=manifest,
        instances=instances,
        lesions=lesions,
        readme=readme,
        seed=int(seed),
        n_cases=len(records),
        n_vessels=sum(len(r.vessels) for r in records),
        n_instances=len(grades),
        grade_counts={g: grades.count(g) for g in GRADES},
        largest_case_mb=max(r.bytes for r in records) / 1e6,
    )
    write_text(readme, _readme(summary, records, probabilities, noise))
    return summary


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def _run_cases(
    out_dir: Path, n_cases: int, seed: int, probabilities: NDArray[np.float64], workers: int,
    noise: bool, progress: Callable[[int, int], None] | None,
) -> list[CaseRecord]:
    """Generate every case, in this process or in a pool of ``workers`` processes."""
    report = progress or (lambda done, total: None)
    report(0, n_cases)
    records: list[CaseRecord] = []
    if workers == 1 or n_cases == 1:
        for index in range(n_cases):
            records.append(generate_case(out_dir, index, seed, probabilities, noise=noise))
            report(len(records), n_cases)
        return records
    with ProcessPoolExecutor(max_workers=min(workers, n_cases)) as pool:
        futures = [pool.submit(generate_case, out_dir, i, seed, probabilities, noise=noise) for i in range(n_cases)]
        try:
            for future in as_completed(futures):
                records.append(future.result())
                report(len(records), n_cases)
        except BaseException:
            for future in futures:
                future.cancel()  # cases not started yet; the pool still waits for running ones
            raise
    return records


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write a CSV table atomically (``\\n`` line ends)."""
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)


def _percent_range(bounds: tuple[float, float]) -> str:
    """``(0.25, 0.49)`` as ``25-49 %``, ``(1.0, 1.0)`` as ``100 %``."""
    lo, hi = (round(100 * b) for b in bounds)
    return f"{lo} %" if lo == hi else f"{lo}-{hi} %"


def _readme(summary: CohortSummary, records: list[CaseRecord], probabilities: NDArray[np.float64], noise: bool) -> str:
    """A human summary of the cohort in Markdown."""
    n = max(summary.n_instances, 1)
    pixels = [r.spacing[0] for r in records]
    sizes = [r.bytes / 1e6 for r in records]
    kinds = {kind: sum(r.kind == kind for r in records) for kind in GEOMETRY_KINDS}
    grade_rows = "\n".join(
        f"| {g} | {_percent_range(GRADE_RANGES[g])} | {_percent_range(DRAW_RANGES[g])} | {100 * probabilities[g - 1]:.1f} % "
        f"| {summary.grade_counts[g]} | {100 * summary.grade_counts[g] / n:.1f} % |"
        for g in GRADES
    )
    return f"""# Phantom CCTA cohort

Made by `stages.synth.generate_cohort` (`stenosis synth`) with seed {summary.seed},
{summary.n_cases} cases, grade mix {', '.join(f'{p:.3f}' for p in probabilities)} (grades 1..5),
image noise {'on' if noise else 'off'}. The same seed and parameters give byte-identical files.

{summary.n_cases} cases, {summary.n_vessels} vessels, {summary.n_instances} stenosis instances.

| grade | CAD-RADS range | drawn range | intended | instances | share |
| --- | --- | --- | --- | --- | --- |
{grade_rows}

Each vessel holds 0-3 stenoses ({LESION_LENGTH_MM[0]:.0f}-{LESION_LENGTH_MM[1]:.0f} mm long, at least
{HEALTHY_GAP_MM:.0f} mm of healthy vessel between them and from the vessel ends, only where the
healthy lumen radius is at least {MIN_LESION_RADIUS_MM} mm): soft, mixed or calcified plaque,
concentric or eccentric; grade 5 is an occlusion whose lumen is fully replaced by plaque over
at least 3 mm. The drawn ranges keep a margin from the CAD-RADS limits so that the lesion, as
voxelised, still measures in its grade.

Spacing: in-plane {min(pixels):.3f}-{max(pixels):.3f} mm (drawn per case in
{PIXEL_MM[0]}-{PIXEL_MM[1]} mm), slices {SLICE_MM} mm. Geometry: {kinds['plain']} cases with identity
direction and zero origin, {kinds['shifted']} with identity direction and a scanner-like origin,
{kinds['oblique']} with a rotated (some also flipped) direction and a scanner-like origin.
Case size on disk {min(sizes):.1f}-{max(sizes):.1f} MB.

## Files

- `cases.csv`: case manifest `case_id,image,centerlines` (paths relative to this folder; no
  `split` column, so build-dataset splits the cases itself).
- `instances.csv`: stenosis instances `instance_id,case_id,vessel_id,start,end,grade`; `start`
  and `end` are inclusive `point_id`s of the case's centerline bracketing the lesion with
  0.5-2 mm of healthy vessel each side.
- `lesions.csv`: ground truth of each instance as drawn: diameter `reduction` (fraction),
  support `length_mm`, `plaque` (soft, mixed, calcified), `eccentricity` (0 concentric .. 1),
  `calcium_hu` (empty without calcium).
- `<case_id>/image.nii.gz`: int16 CT volume in HU, cropped around the vessels (8 mm margin):
  contrast lumen 300-500 HU at the ostia, ventricular blood, myocardium, epicardial fat,
  pericardium, lung and abdomen, Gaussian scanner blur 0.3-0.5 mm and noise 15-30 HU SD.
- `<case_id>/lumen.nii.gz`: uint8 label map on the same grid: 0 background, 1 coronary lumen,
  2 non-calcified plaque, 3 calcified plaque.
- `<case_id>/centerlines.csv`: `vessel_id,point_id,x,y,z,radius`, world mm (LPS, origin, spacing
  and direction of the image apply), unevenly spaced (0.3-1.2 mm) with 0.1-0.2 mm jitter;
  `radius` is the healthy (plaque-free) lumen radius.
"""
