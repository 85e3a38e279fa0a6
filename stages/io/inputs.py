"""Whole-input checks across files: manifest, every case's centerlines against its image, and
the instance table; what `stenosis validate` runs before a long job."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stages.errors import InputError
from stages.io.geometry import Geometry
from stages.io.tables import Centerline, load_instances, load_manifest
from stages.io.volumes import read_geometry

_RAS_FLIP = np.array([-1.0, -1.0, 1.0])


@dataclass(frozen=True)
class InputSummary:
    """Counts over a validated cohort; ``grade_counts`` keyed 0 (unknown) and 1..5,
    ``split_counts`` keyed by split name (``"unassigned"`` when the manifest has none)."""

    n_cases: int
    n_vessels: int
    n_points: int
    n_instances: int
    grade_counts: dict[int, int] = field(default_factory=dict)
    split_counts: dict[str, int] = field(default_factory=dict)


def check_centerlines_inside(path: str | Path, vessels: dict[str, Centerline], geometry: Geometry) -> None:
    """Raise :class:`InputError` naming the centerline file and vessel when any point lies
    outside the image (world mm, LPS). When the same points with x and y negated would lie
    inside, the message says the file looks like RAS coordinates."""
    for vessel_id, line in vessels.items():
        inside = geometry.contains(line.points)
        if inside.all():
            continue
        first = int(np.argmin(inside))
        message = (
            f"vessel '{vessel_id}': {int((~inside).sum())} of {inside.size} points lie outside the image "
            f"(first: point_id {line.point_ids[first]} at {np.round(line.points[first], 2).tolist()} mm)"
        )
        if geometry.contains(line.points * _RAS_FLIP).all():
            message += "; with x and y negated they would lie inside: the file looks like RAS coordinates, convert to LPS"
        raise InputError(path, message, field="vessel_id")


def check_inputs(
    manifest_path: str | Path,
    instances_path: str | Path | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> InputSummary:
    """Validate a manifest, each case's image header and centerlines (inside the image), and
    optionally an instance table against them. Raises :class:`InputError` at the first defect."""
    manifest = load_manifest(manifest_path, check_images=True)
    n_vessels = n_points = 0
    for done, case in enumerate(manifest.cases.values(), start=1):
        vessels = manifest.centerlines(case.case_id)
        check_centerlines_inside(case.centerlines, vessels, read_geometry(case.image))
        n_vessels += len(vessels)
        n_points += sum(v.point_ids.size for v in vessels.values())
        if progress is not None:
            progress(done, len(manifest.cases))
    instances = load_instances(instances_path, manifest) if instances_path is not None else []
    splits = Counter(case.split or "unassigned" for case in manifest.cases.values())
    return InputSummary(
        n_cases=len(manifest.cases),
        n_vessels=n_vessels,
        n_points=n_points,
        n_instances=len(instances),
        grade_counts=dict(sorted(Counter(i.grade for i in instances).items())),
        split_counts=dict(splits),
    )
