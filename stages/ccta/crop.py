"""Per-case patch artifacts: for each stenosis instance of a case, the extended instance Ŝ on
the resampled centerline and a CCTA patch that holds it.

``<case>_patch.h5``: ``/instances/<instance_id>/`` with ``ccta`` int16 ``[S, S, S]`` HU,
``ccta_points`` float32 ``[D, 3]`` (Ŝ as ``[z, y, x]`` patch indices), ``indices`` int64 ``[D]``
(Ŝ on the vessel's resampled centerline), ``mask`` bool ``[D]``; attributes ``vessel_id``,
``start``, ``end`` (input point ids), ``grade``, ``core_start``, ``core_end``, ``origin``,
``spacing``, ``direction`` (the patch geometry) and ``grown`` (the spacing had to grow to fit).
Root: provenance (inputs by content; parameters including the case's instance rows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from stages.ccta.patch import PatchParams, crop_patch
from stages.dataset.extend import core_range, extend
from stages.io.artifacts import is_up_to_date, provenance, write_h5
from stages.io.inputs import check_centerlines_inside
from stages.io.tables import Instance, load_centerlines, load_instances, load_manifest
from stages.io.volumes import read_geometry, read_volume
from stages.parallel import run_jobs
from stages.scpr.extract import ScprParams, prepare_vessels

KIND = "ccta-patch"
DEFAULT_EXTEND = 10


@dataclass(frozen=True)
class PatchResult:
    """What became of a case: instances written, how many needed a grown spacing, and whether
    the file was already up to date."""

    case_id: str
    out: Path
    n_instances: int
    n_grown: int
    skipped: bool


def patch_path(out_dir: str | Path, case_id: str) -> Path:
    """Where a manifest run writes the patch file of ``case_id``."""
    return Path(out_dir) / f"{case_id}_patch.h5"


def crop_case(
    case_id: str,
    image: str | Path,
    centerlines: str | Path,
    instances: Sequence[Instance],
    out: str | Path,
    *,
    scpr: ScprParams = ScprParams(),
    patch: PatchParams = PatchParams(),
    m: int = DEFAULT_EXTEND,
    force: bool = False,
) -> PatchResult:
    """Write the patch file of one case (its ``instances`` must reference its vessels and
    point ids; see :func:`stages.io.tables.reference_problems`), unless it is up to date."""
    out, centerlines = Path(out), Path(centerlines)
    rows = [[i.instance_id, i.vessel_id, i.start, i.end, i.grade] for i in instances]
    params = {"scpr": asdict(scpr), "patch": asdict(patch), "extend": m, "instances": rows}
    prov = provenance(KIND, params, {"image": image, "centerlines": centerlines})
    if not force and is_up_to_date(out, prov):
        return PatchResult(case_id, out, len(instances), 0, True)
    table = load_centerlines(centerlines)
    check_centerlines_inside(centerlines, table, read_geometry(image))
    vessels = {v.vessel_id: v for v in prepare_vessels(centerlines, table, scpr)}
    volume = read_volume(image)
    grown = 0
    with write_h5(out, prov) as h5:
        h5.attrs["case_id"] = case_id
        groups = h5.create_group("instances")
        for inst in instances:
            line = vessels[inst.vessel_id].centerline
            first, last = core_range(line.source_point, inst.start, inst.end)
            ext = extend(line.points.shape[0], first, last, m)
            cropped = crop_patch(volume, line.points[ext.indices], patch)
            grown += cropped.grown
            group = groups.create_group(inst.instance_id)
            group["ccta"] = np.clip(np.rint(cropped.array), -32768, 32767).astype(np.int16)
            group["ccta_points"] = cropped.points_index.astype(np.float32)
            group["indices"] = ext.indices
            group["mask"] = ext.mask
            attrs = {
                "vessel_id": inst.vessel_id, "start": inst.start, "end": inst.end, "grade": inst.grade,
                "core_start": ext.core_start, "core_end": ext.core_end, "origin": cropped.geometry.origin,
                "spacing": cropped.geometry.spacing, "direction": cropped.geometry.direction.ravel(),
                "grown": cropped.grown,
            }
            for key, value in attrs.items():
                group.attrs[key] = value
    return PatchResult(case_id, out, len(instances), grown, False)


def crop_manifest(
    manifest: str | Path,
    instances: str | Path,
    out_dir: str | Path,
    *,
    scpr: ScprParams = ScprParams(),
    patch: PatchParams = PatchParams(),
    m: int = DEFAULT_EXTEND,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[PatchResult]:
    """Write the patch file (:func:`patch_path`) of every case of shard ``(i, n)`` that has
    instances, with ``workers`` processes; every instance is checked against the manifest and
    the centerlines first, so a bad one stops the run before any file is written."""
    index, count = shard
    if not 0 <= index < count:
        raise ValueError(f"shard must be i/n with 0 <= i < n, got {index}/{count}")
    cohort = load_manifest(manifest)
    table = load_instances(instances, cohort)
    jobs = []
    for case in list(cohort.cases.values())[index::count]:
        mine = [i for i in table if i.case_id == case.case_id]
        if mine:
            jobs.append((case.case_id, case.image, case.centerlines, mine, patch_path(out_dir, case.case_id)))
    return run_jobs(_crop_job, [(*job, scpr, patch, m, force) for job in jobs], workers, progress)


def _crop_job(case_id, image, centerlines, instances, out, scpr, patch, m, force) -> PatchResult:  # noqa: ANN001
    """:func:`crop_case` with positional arguments, for :func:`stages.parallel.run_jobs`."""
    return crop_case(case_id, image, centerlines, instances, out, scpr=scpr, patch=patch, m=m, force=force)
