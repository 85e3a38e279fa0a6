"""The dataset HDF5 file of DESIGN.md: one group per stenosis instance plus an index.

``/instances/<instance_id>/``: ``scpr`` int16 ``[D, H, W]`` HU (the SCPR of the extended
instance Ŝ), ``ccta`` int16 ``[Dc, Hc, Wc]`` HU (the patch), ``ccta_points`` float32 ``[D, 3]``
(the Ŝ points as continuous ``[z, y, x]`` indices into ``ccta``), ``mask`` bool ``[D]`` (False
on padding), ``points`` float64 ``[D, 3]`` (the Ŝ points, world mm), ``normal`` and ``binormal``
float64 ``[D, 3]`` (the SCPR frame: row i, column j of slice n samples
``points[n] + (i - (H-1)/2)·pixel·binormal[n] + (j - (W-1)/2)·pixel·normal[n]``); attributes
``case_id``, ``vessel_id``, ``split``, ``grade`` (0 when unknown), ``core_start``, ``core_end``,
``scpr_pixel`` (mm), ``ccta_origin`` ``[3]``, ``ccta_spacing`` ``[3]``, ``ccta_direction`` ``[9]``
(the patch geometry, ITK convention) and any extras (e.g. the input ``start``/``end`` point ids). ``/index/`` holds ``instance_id``, ``case_id``, ``vessel_id``, ``split``,
``grade``, ``core_start`` and ``core_end`` arrays in instance order so a split can be listed without opening every group.
Root attributes: schema version, provenance, and ``normalisation`` (JSON: the HU window
``[low, high]`` that :func:`normalise` maps to ``[0, 1]``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from stages.errors import InputError
from stages.io.geometry import Geometry
from stages.io.artifacts import SCHEMA_VERSION, write_h5

DEFAULT_WINDOW = (-300.0, 1200.0)
_STR = h5py.string_dtype()
_TEXT_COLUMNS = ("instance_id", "case_id", "vessel_id", "split")
INDEX_COLUMNS = (*_TEXT_COLUMNS, "grade", "core_start", "core_end")


@dataclass
class InstanceRecord:
    """One stenosis instance's arrays and attributes (see the module doc for shapes)."""

    instance_id: str
    case_id: str
    vessel_id: str
    split: str
    grade: int
    scpr: NDArray
    ccta: NDArray
    ccta_points: NDArray
    mask: NDArray[np.bool_]
    core_start: int
    core_end: int
    points: NDArray[np.float64]
    normal: NDArray[np.float64]
    binormal: NDArray[np.float64]
    scpr_pixel: float
    ccta_geometry: Geometry
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        d = self.scpr.shape[0]
        if self.scpr.ndim != 3 or self.ccta.ndim != 3:
            raise ValueError(f"instance {self.instance_id}: scpr and ccta must be 3D")
        if self.mask.shape != (d,) or any(a.shape != (d, 3) for a in (self.ccta_points, self.points, self.normal, self.binormal)):
            raise ValueError(f"instance {self.instance_id}: ccta_points, points, normal, binormal must be [{d}, 3], mask [{d}]")
        if self.ccta_geometry.shape != self.ccta.shape:
            raise ValueError(f"instance {self.instance_id}: ccta_geometry {self.ccta_geometry.shape} differs from ccta {self.ccta.shape}")
        if not 0 <= self.core_start <= self.core_end < d:
            raise ValueError(f"instance {self.instance_id}: core {self.core_start}..{self.core_end} outside 0..{d - 1}")


def _hu16(values: NDArray) -> NDArray[np.int16]:
    return np.clip(np.rint(values), -32768, 32767).astype(np.int16)


def write_dataset(
    path: str | Path,
    records: Iterable[InstanceRecord],
    prov: Mapping[str, Any],
    window: tuple[float, float] = DEFAULT_WINDOW,
) -> int:
    """Write all ``records`` atomically to ``path``; returns how many were written."""
    columns: dict[str, list] = {k: [] for k in INDEX_COLUMNS}
    with write_h5(path, prov) as h5:
        h5.attrs["normalisation"] = json.dumps({"window": list(window)})
        groups = h5.create_group("instances")
        for record in records:
            group = groups.create_group(record.instance_id)
            group.create_dataset("scpr", data=_hu16(record.scpr))
            group.create_dataset("ccta", data=_hu16(record.ccta))
            group.create_dataset("ccta_points", data=record.ccta_points.astype(np.float32))
            group.create_dataset("mask", data=record.mask.astype(bool))
            for name in ("points", "normal", "binormal"):
                group.create_dataset(name, data=np.asarray(getattr(record, name), dtype=np.float64))
            geometry = record.ccta_geometry
            attrs = {"case_id": record.case_id, "vessel_id": record.vessel_id, "split": record.split,
                     "grade": int(record.grade), "core_start": int(record.core_start), "core_end": int(record.core_end),
                     "scpr_pixel": float(record.scpr_pixel), "ccta_origin": geometry.origin,
                     "ccta_spacing": geometry.spacing, "ccta_direction": geometry.direction.ravel()}
            for key, value in {**record.extras, **attrs}.items():
                group.attrs[key] = value
            for key in columns:
                columns[key].append(getattr(record, key))
        index = h5.create_group("index")
        for key, values in columns.items():
            index.create_dataset(key, data=np.array(values, dtype=_STR if key in _TEXT_COLUMNS else np.int64))
    return len(columns["instance_id"])


@dataclass(frozen=True)
class DatasetIndex:
    """The ``/index`` arrays of a dataset file and its HU window."""

    instance_id: NDArray[np.str_]
    case_id: NDArray[np.str_]
    vessel_id: NDArray[np.str_]
    split: NDArray[np.str_]
    grade: NDArray[np.int64]
    core_start: NDArray[np.int64]
    core_end: NDArray[np.int64]
    window: tuple[float, float]


def read_index(path: str | Path) -> DatasetIndex:
    """The instance index of a dataset file; :class:`InputError` when the file is missing or
    is not a dataset written by :func:`write_dataset`."""
    if not Path(path).is_file():
        raise InputError(path, "dataset file does not exist")
    try:
        with h5py.File(path, "r") as h5:
            version = h5.attrs.get("schema_version")
            if version is not None and int(version) != SCHEMA_VERSION:
                raise InputError(path, f"dataset was written with schema version {int(version)}; this tool reads "
                                 f"version {SCHEMA_VERSION}: rebuild it with `stenosis build-dataset`")
            index = h5["index"]
            columns = {k: index[k].asstr()[()].astype(str) if k in _TEXT_COLUMNS else index[k][()].astype(np.int64)
                       for k in INDEX_COLUMNS}
            window = tuple(json.loads(h5.attrs["normalisation"])["window"])
            return DatasetIndex(**columns, window=window)
    except (OSError, KeyError) as exc:
        raise InputError(path, f"not a stenosis dataset file ({exc})") from None


def read_geometry_of(group: h5py.Group) -> Geometry:
    """The CCTA patch geometry stored on an instance group."""
    return Geometry(
        origin=np.asarray(group.attrs["ccta_origin"]), spacing=np.asarray(group.attrs["ccta_spacing"]),
        direction=np.asarray(group.attrs["ccta_direction"]).reshape(3, 3), size=group["ccta"].shape[::-1],
    )


def read_records(path: str | Path) -> Iterator[InstanceRecord]:
    """The instances of a dataset file as records, in index order (arrays as stored)."""
    index = read_index(path)
    with h5py.File(path, "r") as h5:
        for instance_id in index.instance_id:
            group = h5["instances"][instance_id]
            attrs = dict(group.attrs)
            named = {k: attrs.pop(k) for k in ("case_id", "vessel_id", "split", "grade", "core_start", "core_end", "scpr_pixel")}
            for k in ("ccta_origin", "ccta_spacing", "ccta_direction"):
                attrs.pop(k)
            yield InstanceRecord(
                instance_id=str(instance_id), case_id=str(named["case_id"]), vessel_id=str(named["vessel_id"]),
                split=str(named["split"]), grade=int(named["grade"]), scpr=group["scpr"][()], ccta=group["ccta"][()],
                ccta_points=group["ccta_points"][()], mask=group["mask"][()], core_start=int(named["core_start"]),
                core_end=int(named["core_end"]), points=group["points"][()], normal=group["normal"][()],
                binormal=group["binormal"][()], scpr_pixel=float(named["scpr_pixel"]), ccta_geometry=read_geometry_of(group),
                extras={k: (v.item() if isinstance(v, np.generic) else v) for k, v in attrs.items()},
            )
