"""build-dataset: per-case SCPR and patch artifacts (cached, redone only when their inputs or
parameters change), assembled into the dataset HDF5 of DESIGN.md, with splits by case,
worker processes, shards for SLURM array jobs and their merge.

Inputs are checked before any volume is read: an instance whose case or vessel is missing, whose
range is not on its vessel, or whose case's image cannot be read or whose centerlines leave the
image, stops the build (nothing written) or, with ``skip_bad``, is left out and listed in
``<out>.skipped.csv``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from stages.ccta.crop import DEFAULT_EXTEND, crop_case, patch_path
from stages.ccta.patch import PatchParams
from stages.dataset.splits import assign_splits
from stages.dataset.store import DEFAULT_WINDOW, InstanceRecord, read_index, read_records, write_dataset
from stages.errors import InputError
from stages.io.artifacts import atomic_output, provenance, read_provenance
from stages.io.geometry import Geometry
from stages.io.inputs import check_centerlines_inside
from stages.io.tables import Case, Centerline, Instance, Manifest, load_centerlines, load_instances, load_manifest, reference_problems
from stages.io.volumes import read_geometry
from stages.parallel import run_jobs
from stages.scpr.extract import ScprParams, prepare_case, run_case, scpr_path

KIND = "dataset"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BuildParams:
    """Everything that shapes the data: SCPR and patch parameters, the extension ``m``, the HU
    ``window`` mapped to [0, 1] when loading, and the ``seed`` of the 3:1:1 case split."""

    scpr: ScprParams = field(default_factory=ScprParams)
    patch: PatchParams = field(default_factory=PatchParams)
    extend: int = DEFAULT_EXTEND
    window: tuple[float, float] = DEFAULT_WINDOW
    seed: int = 0

    def __post_init__(self) -> None:
        if self.extend < 0:
            raise ValueError(f"extend must be >= 0, got {self.extend}")
        if not self.window[0] < self.window[1]:
            raise ValueError(f"window must be [low, high] with low < high, got {list(self.window)}")

    def to_dict(self) -> dict:
        return {"scpr": asdict(self.scpr), "patch": asdict(self.patch), "extend": self.extend,
                "window": list(self.window), "seed": self.seed}


@dataclass(frozen=True)
class Skipped:
    """An instance left out, and why."""

    instance_id: str
    case_id: str
    reason: str


@dataclass(frozen=True)
class BuildSummary:
    """What a build wrote: instance counts by split and grade, cases redone and reused,
    instances left out (and the CSV listing them)."""

    out: Path
    counts: dict[str, dict[int, int]]
    cases_built: int
    cases_reused: int
    skipped: list[Skipped]
    skipped_csv: Path | None
    n_grown: int


def _case_problem(case: Case) -> tuple[str | None, dict[str, Centerline]]:
    """Why none of a case's instances can be built (unreadable image or centerlines, points
    outside the image) or None, and the case's centerlines (empty when unreadable)."""
    vessels: dict[str, Centerline] = {}
    try:
        vessels = load_centerlines(case.centerlines)
        check_centerlines_inside(case.centerlines, vessels, read_geometry(case.image))
    except InputError as exc:
        return str(exc), vessels
    return None, vessels


def _check(
    manifest_data: Manifest, instances_path: Path, cases: list[Case], instances: list[Instance], skip_bad: bool
) -> tuple[list[Instance], list[Skipped]]:
    """The instances that can be built and the ones left out (or the first problem raised):
    first whole cases (unreadable image or centerlines, points outside the image), then each
    remaining instance against the manifest and its vessel."""
    in_shard = {c.case_id for c in cases}
    skipped: list[Skipped] = []

    def reject(inst: Instance, error: InputError, reason: str) -> None:
        if not skip_bad:
            raise error
        skipped.append(Skipped(inst.instance_id, inst.case_id, reason))

    checks = {c.case_id: _case_problem(c) for c in cases}
    bad_cases = {case_id: reason for case_id, (reason, _) in checks.items() if reason is not None}
    for inst in (i for i in instances if i.case_id in bad_cases):
        reason = bad_cases[inst.case_id]
        reject(inst, InputError(instances_path, f"instance '{inst.instance_id}' (case '{inst.case_id}'): {reason}",
                                line=inst.line, field="case_id"), reason)
    checked = [i for i in instances if i.case_id not in bad_cases and (i.case_id in in_shard or i.case_id not in manifest_data.cases)]
    vessels_of = {case_id: vessels for case_id, (reason, vessels) in checks.items() if reason is None}
    for problem in reference_problems(checked, manifest_data, vessels_of):
        reject(problem.instance, problem.error(instances_path), problem.message)
    left_out = {s.instance_id for s in skipped}
    good = [i for i in checked if i.case_id in in_shard and i.instance_id not in left_out]
    return good, skipped


def _case_artifacts(case: Case, instances: list[Instance], params: BuildParams, cache: Path, force: bool) -> tuple[bool, int]:
    """Make or reuse a case's SCPR and patch files; returns (redone, patches grown)."""
    job = prepare_case(case.case_id, case.image, case.centerlines, scpr_path(cache / "scpr", case.case_id), params.scpr)
    scpr = run_case(job, params.scpr, force=force)
    patch = crop_case(case.case_id, case.image, case.centerlines, instances, patch_path(cache / "patch", case.case_id),
                      scpr=params.scpr, patch=params.patch, m=params.extend, force=force)
    return not (scpr.skipped and patch.skipped), patch.n_grown


def _records(cases: list[Case], instances: list[Instance], splits: dict[str, str], cache: Path) -> Iterator[InstanceRecord]:
    """The dataset records, in manifest order of cases and table order of instances."""
    by_case: dict[str, list[Instance]] = {}
    for inst in instances:
        by_case.setdefault(inst.case_id, []).append(inst)
    for case in cases:
        if case.case_id not in by_case:
            continue
        with h5py.File(scpr_path(cache / "scpr", case.case_id), "r") as scpr, \
                h5py.File(patch_path(cache / "patch", case.case_id), "r") as patches:
            fill = float(scpr.attrs["fill"])
            pixel = float(scpr.attrs["pixel"])
            for inst in by_case[case.case_id]:
                group = patches["instances"][inst.instance_id]
                vessel = scpr[inst.vessel_id]
                indices, mask = group["indices"][()], group["mask"][()]
                slices = vessel["scpr"][np.unique(indices)][np.searchsorted(np.unique(indices), indices)]
                slices[~mask] = fill
                geometry = Geometry(np.asarray(group.attrs["origin"]), np.asarray(group.attrs["spacing"]),
                                    np.asarray(group.attrs["direction"]).reshape(3, 3), group["ccta"].shape[::-1])
                yield InstanceRecord(
                    instance_id=inst.instance_id, case_id=case.case_id, vessel_id=inst.vessel_id,
                    split=splits[case.case_id], grade=inst.grade, scpr=slices, ccta=group["ccta"][()],
                    ccta_points=group["ccta_points"][()], mask=mask, core_start=int(group.attrs["core_start"]),
                    core_end=int(group.attrs["core_end"]), points=vessel["points"][()][indices],
                    normal=vessel["normal"][()][indices], binormal=vessel["binormal"][()][indices],
                    scpr_pixel=pixel, ccta_geometry=geometry,
                    extras={"start": inst.start, "end": inst.end, "patch_grown": bool(group.attrs["grown"])},
                )


def build_dataset(
    manifest: str | Path,
    instances: str | Path,
    out: str | Path,
    params: BuildParams = BuildParams(),
    *,
    cache_dir: str | Path | None = None,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    skip_bad: bool = False,
    force: bool = False,
    progress: Progress | None = None,
) -> BuildSummary:
    """Build the dataset file ``out`` from the cases of shard ``(i, n)`` (cases ``i, i+n, ...``
    in manifest order) with ``workers`` processes, caching per-case artifacts in ``cache_dir``
    (default ``<out>.cache``). Splits come from the manifest's ``split`` column, else 3:1:1 by
    case with ``params.seed`` (drawn over the whole manifest, so shards agree)."""
    manifest, instances, out = Path(manifest), Path(instances), Path(out)
    index, count = shard
    if not 0 <= index < count:
        raise ValueError(f"shard must be i/n with 0 <= i < n, got {index}/{count}")
    cache = Path(cache_dir) if cache_dir is not None else out.with_name(out.name + ".cache")
    manifest_data = load_manifest(manifest, check_images=False)
    all_cases = list(manifest_data.cases.values())
    cases = all_cases[index::count]
    table = load_instances(instances)
    good, skipped = _check(manifest_data, instances, cases, table, skip_bad)
    if any(c.split is None for c in all_cases):
        splits = assign_splits([c.case_id for c in all_cases], params.seed)
    else:
        splits = {c.case_id: c.split for c in all_cases}
    jobs = [(c, [i for i in good if i.case_id == c.case_id]) for c in cases]
    jobs = [(c, insts) for c, insts in jobs if insts]
    outcomes = run_jobs(_case_artifacts, [(c, insts, params, cache, force) for c, insts in jobs], workers, progress)
    prov = provenance(KIND, {**params.to_dict(), "shard": [index, count], "skip_bad": skip_bad},
                      {"manifest": manifest, "instances": instances})
    write_dataset(out, _records(cases, good, splits, cache), prov, params.window)
    skipped_csv = _write_skipped(out, skipped)
    counts: dict[str, dict[int, int]] = {}
    for inst in good:
        counts.setdefault(splits[inst.case_id], Counter())[inst.grade] += 1
    return BuildSummary(out, {k: dict(v) for k, v in counts.items()}, sum(r for r, _ in outcomes),
                        sum(not r for r, _ in outcomes), skipped, skipped_csv, sum(g for _, g in outcomes))


def skipped_csv_path(out: Path) -> Path:
    """The CSV beside a dataset file that lists the instances left out."""
    return out.with_name(out.stem + ".skipped.csv")


def _write_skipped(out: Path, skipped: Sequence[Skipped]) -> Path | None:
    path = skipped_csv_path(out)
    if not skipped:
        path.unlink(missing_ok=True)
        return None
    with atomic_output(path) as tmp:
        pd.DataFrame([asdict(s) for s in skipped]).to_csv(tmp, index=False)
    return path


def merge_datasets(shards: Sequence[str | Path], out: str | Path) -> int:
    """Merge shard dataset files (built with the same parameters from the same tables) into
    ``out``; returns the number of instances. Raises :class:`InputError` naming a shard whose
    parameters or inputs differ from the first's, or that repeats an instance."""
    if not shards:
        raise ValueError("shards must name at least one dataset file")
    for path in shards:
        read_index(path)  # an InputError for anything but a dataset file
    provenances = [read_provenance(s) for s in shards]
    first = provenances[0]

    def key(prov: dict) -> tuple:
        params = {k: v for k, v in prov["params"].items() if k != "shard"}
        return (prov["kind"], prov["tool_version"], json.dumps(params, sort_keys=True), json.dumps(prov["input_hashes"], sort_keys=True))

    seen: set[str] = set()
    for path, prov in zip(shards, provenances):
        if prov is None or key(prov) != key(first):
            raise InputError(path, f"was built with other parameters or inputs than {shards[0]}; cannot merge")
        ids = set(read_index(path).instance_id.tolist())
        repeated = sorted(ids & seen)
        if repeated:
            raise InputError(path, f"instance '{repeated[0]}' is also in another shard")
        seen |= ids
    merged = {**first, "params": {**first["params"], "shard": [0, 1]}, "merged_from": [str(s) for s in shards]}
    window = read_index(shards[0]).window
    return write_dataset(out, (r for s in shards for r in read_records(s)), merged, window)
