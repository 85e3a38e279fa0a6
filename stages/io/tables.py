"""Validated loading of the three input tables of DESIGN.md: case manifest, centerlines,
stenosis instances.

Each defect raises :class:`~stages.errors.InputError` naming the file, the line (header = line
1) and the column. Centerline points are world mm (LPS) ``[x, y, z]``; ``point_id`` orders the
points of a vessel. Paths in a manifest are relative to the manifest's folder.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from stages.errors import InputError
from stages.grades import GRADES
from stages.io.csvtable import check_unique, integer_column, number_column, read_table, text_column
from stages.io.volumes import read_geometry

SPLITS = ("train", "val", "test")
MANIFEST_COLUMNS = ("case_id", "image", "centerlines")
CENTERLINE_COLUMNS = ("vessel_id", "point_id", "x", "y", "z")
INSTANCE_COLUMNS = ("instance_id", "case_id", "vessel_id", "start", "end")


@dataclass(frozen=True)
class Case:
    """One manifest row: absolute paths to its volume and its centerline table."""

    case_id: str
    image: Path
    centerlines: Path
    split: str | None
    line: int


@dataclass(frozen=True)
class Manifest:
    """The cases of a manifest, in file order, keyed by ``case_id``."""

    path: Path
    cases: dict[str, Case]

    def centerlines(self, case_id: str) -> dict[str, Centerline]:
        """The validated centerlines of one case (read on every call)."""
        return load_centerlines(self.cases[case_id].centerlines)


@dataclass(frozen=True)
class Centerline:
    """One vessel's input centerline, sorted by ``point_id``.

    ``point_ids`` ``[N]`` int64, ``points`` ``[N, 3]`` world mm ``(x, y, z)``, ``radius`` ``[N]``
    mm or None when the table has no radius column.
    """

    vessel_id: str
    point_ids: NDArray[np.int64]
    points: NDArray[np.float64]
    radius: NDArray[np.float64] | None = field(default=None)


@dataclass(frozen=True)
class Instance:
    """One stenosis instance: inclusive ``start..end`` input ``point_id`` range of a vessel;
    ``grade`` 1..5, or 0 when unknown."""

    instance_id: str
    case_id: str
    vessel_id: str
    start: int
    end: int
    grade: int
    line: int


def load_manifest(path: str | Path, *, check_images: bool = True) -> Manifest:
    """Read and validate a case manifest ``case_id,image,centerlines[,split]``.

    Checks unique non-empty case ids, existing centerline files, valid splits, and, with
    ``check_images``, that every image exists and its header reads as a 3D scalar volume.
    """
    path = Path(path)
    table = read_table(path, MANIFEST_COLUMNS)
    ids = text_column(table, "case_id", path)
    check_unique(ids, path, "case_id")
    has_split = "split" in table.columns
    if has_split:
        bad = ~table["split"].isin(SPLITS)
        if bad.any():
            line = int(table.index[bad.argmax()])
            raise InputError(
                path, f"split must be one of {', '.join(SPLITS)}, got '{table['split'][line]}'",
                line=line, field="split",
            )
    images = text_column(table, "image", path)
    centerline_files = text_column(table, "centerlines", path)
    folder = path.parent
    cases: dict[str, Case] = {}
    for line, case_id in ids.items():
        image = folder / images[line]
        centerlines = folder / centerline_files[line]
        if check_images:
            try:
                read_geometry(image)
            except InputError as exc:
                raise InputError(path, f"image {image}: {exc.reason}", line=int(line), field="image") from None
        if not centerlines.is_file():
            raise InputError(path, f"centerline file {centerlines} does not exist", line=int(line), field="centerlines")
        split = table["split"][line] if has_split else None
        cases[case_id] = Case(case_id, image, centerlines, split, int(line))
    return Manifest(path=path, cases=cases)


def load_centerlines(path: str | Path) -> dict[str, Centerline]:
    """Read and validate a centerline table ``vessel_id,point_id,x,y,z[,radius]``.

    Returns the vessels in order of first appearance, each sorted by ``point_id``. Checks
    integer point ids unique within a vessel, finite coordinates, positive finite radii and at
    least 2 points per vessel.
    """
    path = Path(path)
    table = read_table(path, CENTERLINE_COLUMNS)
    vessel = text_column(table, "vessel_id", path)
    point_id = integer_column(table, "point_id", path)
    try:
        xyz = np.stack([number_column(table, axis, path).to_numpy() for axis in ("x", "y", "z")], axis=1)
    except InputError as exc:  # name the vessel too: a centerline's defects are read per vessel
        raise InputError(path, f"vessel '{vessel[exc.line]}': {exc.reason}", line=exc.line, field=exc.field) from None
    radius = None
    if "radius" in table.columns:
        radius = number_column(table, "radius", path)
        if (radius <= 0).any():
            bad = radius.index[(radius <= 0).argmax()]
            raise InputError(path, f"radius must be positive, got {table['radius'][bad]}", line=int(bad), field="radius")
        radius = radius.to_numpy()
    repeated = table.index[(vessel + "/" + point_id.astype(str)).duplicated().to_numpy()]
    if len(repeated):
        line = int(repeated[0])
        raise InputError(
            path, f"duplicate point_id {point_id[line]} in vessel '{vessel[line]}'", line=line, field="point_id"
        )
    vessels: dict[str, Centerline] = {}
    lines = table.index.to_numpy()
    for vessel_id in pd.unique(vessel):
        rows = np.flatnonzero(vessel.to_numpy() == vessel_id)
        if rows.size < 2:
            raise InputError(
                path, f"vessel '{vessel_id}' has {rows.size} point; a centerline needs at least 2",
                line=int(lines[rows[0]]), field="vessel_id",
            )
        order = rows[np.argsort(point_id.to_numpy()[rows], kind="stable")]
        vessels[vessel_id] = Centerline(
            vessel_id=vessel_id,
            point_ids=point_id.to_numpy()[order],
            points=xyz[order],
            radius=None if radius is None else radius[order],
        )
    return vessels


def load_instances(path: str | Path, manifest: Manifest | None = None) -> list[Instance]:
    """Read and validate a stenosis instance table ``instance_id,case_id,vessel_id,start,end[,grade]``.

    Checks unique ids, integer ``start <= end``, grades in 1..5 (empty = unknown, stored as 0)
    and, given the ``manifest``, that each case exists, each vessel exists in the case's
    centerlines and ``start`` and ``end`` are point ids of that vessel.
    """
    path = Path(path)
    table = read_table(path, INSTANCE_COLUMNS)
    ids = text_column(table, "instance_id", path)
    check_unique(ids, path, "instance_id")
    case = text_column(table, "case_id", path)
    vessel = text_column(table, "vessel_id", path)
    start = integer_column(table, "start", path)
    end = integer_column(table, "end", path)
    reversed_range = start > end
    if reversed_range.any():
        line = int(table.index[reversed_range.argmax()])
        raise InputError(path, f"start {start[line]} is after end {end[line]}", line=line, field="start")
    grade = pd.Series(0, index=table.index, dtype=np.int64)
    if "grade" in table.columns:
        grade = integer_column(table, "grade", path, allow_empty=True)
        outside = (table["grade"] != "") & ~grade.isin(GRADES)
        if outside.any():
            line = int(table.index[outside.argmax()])
            raise InputError(path, f"grade {grade[line]} is outside 1..5", line=line, field="grade")
    instances = [
        Instance(ids[i], case[i], vessel[i], int(start[i]), int(end[i]), int(grade[i]), int(i))
        for i in table.index
    ]
    if manifest is not None:
        for problem in reference_problems(instances, manifest):
            raise problem.error(path)
    return instances


@dataclass(frozen=True)
class ReferenceProblem:
    """An instance that points at something the cohort lacks: the column and what is wrong."""

    instance: Instance
    field: str
    message: str

    def error(self, path: Path) -> InputError:
        """As an :class:`InputError` on the instance table, naming the instance and its case."""
        inst = self.instance
        return InputError(
            path, f"instance '{inst.instance_id}' (case '{inst.case_id}'): {self.message}", line=inst.line, field=self.field
        )


def reference_problems(
    instances: Sequence[Instance], manifest: Manifest, vessels_of: Mapping[str, dict[str, Centerline]] | None = None
) -> Iterator[ReferenceProblem]:
    """Each instance whose case is not in the manifest, whose vessel is not in that case's
    centerlines, or whose ``start``/``end`` is not a point id of that vessel (centerlines read
    from the manifest unless ``vessels_of`` gives them by case)."""
    loaded: dict[str, dict[str, Centerline]] = dict(vessels_of or {})
    for inst in instances:
        if inst.case_id not in manifest.cases:
            yield ReferenceProblem(inst, "case_id", f"case '{inst.case_id}' is not in the manifest {manifest.path}")
            continue
        if inst.case_id not in loaded:
            loaded[inst.case_id] = manifest.centerlines(inst.case_id)
        vessels = loaded[inst.case_id]
        if inst.vessel_id not in vessels:
            yield ReferenceProblem(
                inst, "vessel_id",
                f"vessel '{inst.vessel_id}' is not in the centerlines of case '{inst.case_id}' "
                f"({manifest.cases[inst.case_id].centerlines}; vessels: {', '.join(vessels)})",
            )
            continue
        point_ids = vessels[inst.vessel_id].point_ids
        for column, value in (("start", inst.start), ("end", inst.end)):
            if value not in point_ids:
                yield ReferenceProblem(
                    inst, column,
                    f"point_id {value} is not on vessel '{inst.vessel_id}' of case '{inst.case_id}' "
                    f"(its point ids run {point_ids.min()}..{point_ids.max()})",
                )
                break
