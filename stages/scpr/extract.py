"""SCPR extraction for one case or a manifest of cases, writing the scpr HDF5 of DESIGN.md.

One file per case, one group per vessel ``/<vessel_id>/`` holding ``scpr`` float32
``[N, H, W]``, ``points`` ``[N, 3]`` world mm, ``tangent``, ``normal``, ``binormal`` ``[N, 3]``,
``arclength`` ``[N]`` mm and ``source_point`` ``[N]``; the root carries the parameters, the
vessel ids in input order and the provenance. Inputs are all checked (tables, points inside the
image, vessel lengths) before any volume is read; files are written atomically, and a file made
from the same inputs with the same parameters is kept as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np
from numpy.typing import NDArray

from stages.errors import InputError
from stages.io.artifacts import is_up_to_date, provenance, write_h5
from stages.io.inputs import check_centerlines_inside
from stages.io.tables import Centerline, load_centerlines, load_manifest
from stages.io.volumes import read_geometry, read_volume
from stages.parallel import run_jobs
from stages.scpr.centerline import DEFAULT_SMOOTH, ResampledCenterline, resample_centerline
from stages.scpr.frames import FRAMES, Frames, compute_frames
from stages.scpr.sampling import DEFAULT_FILL, sample_planes

KIND = "scpr"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ScprParams:
    """``size`` pixels per plane side, ``pixel`` mm between samples in a plane, ``step`` mm
    between planes along the centerline, ``frame`` one of :data:`~stages.scpr.frames.FRAMES`,
    ``smooth`` the smoothing length (mm) of the centerline spline (0 interpolates), ``fill`` the
    value (HU) of samples outside the volume."""

    size: int = 48
    pixel: float = 0.4
    step: float = 0.5
    frame: str = "rmf"
    smooth: float = DEFAULT_SMOOTH
    fill: float = DEFAULT_FILL

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size must be at least 1, got {self.size}")
        for name in ("pixel", "step"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.smooth >= 0:
            raise ValueError(f"smooth must be non-negative, got {self.smooth}")
        if self.frame not in FRAMES:
            raise ValueError(f"frame must be one of {', '.join(FRAMES)}, got '{self.frame}'")


@dataclass(frozen=True)
class Vessel:
    """One vessel ready to sample: its resampled centerline and frames."""

    vessel_id: str
    centerline: ResampledCenterline
    frames: Frames


@dataclass(frozen=True)
class CaseJob:
    """A case whose inputs are checked and whose vessels are prepared, to be written to ``out``."""

    case_id: str
    image: Path
    centerlines: Path
    out: Path
    vessels: tuple[Vessel, ...]


@dataclass(frozen=True)
class CaseResult:
    """What became of a case: ``skipped`` when ``out`` was already up to date; ``views`` the
    PNGs written."""

    case_id: str
    out: Path
    n_vessels: int
    n_slices: int
    skipped: bool
    views: tuple[Path, ...] = ()


def scpr_path(out_dir: str | Path, case_id: str) -> Path:
    """Where a manifest run writes the SCPR file of ``case_id``."""
    return Path(out_dir) / f"{case_id}_scpr.h5"


def prepare_vessels(path: Path, centerlines: dict[str, Centerline], params: ScprParams) -> tuple[Vessel, ...]:
    """Resample each vessel of the centerline file ``path`` and compute its frames. Raises
    :class:`InputError` naming the file and the vessel when a vessel cannot be an HDF5 group
    name, has non-finite points or is shorter than two steps."""
    vessels = []
    for vessel_id, line in centerlines.items():
        try:
            if "/" in vessel_id or vessel_id == ".":
                raise ValueError("a vessel id cannot contain '/' or be '.' (it names an HDF5 group)")
            resampled = resample_centerline(line.point_ids, line.points, step=params.step, smooth=params.smooth)
        except ValueError as exc:
            raise InputError(path, f"vessel '{vessel_id}': {exc}", field="vessel_id") from None
        frames = compute_frames(resampled.points, resampled.tangents, params.frame)
        vessels.append(Vessel(vessel_id, resampled, frames))
    return tuple(vessels)


def prepare_case(case_id: str, image: str | Path, centerlines: str | Path, out: str | Path, params: ScprParams) -> CaseJob:
    """Check a case's inputs (centerline table, image header, every point inside the image,
    with the RAS hint) and prepare its vessels, reading no voxels."""
    centerlines = Path(centerlines)
    table = load_centerlines(centerlines)
    check_centerlines_inside(centerlines, table, read_geometry(image))
    return CaseJob(case_id, Path(image), centerlines, Path(out), prepare_vessels(centerlines, table, params))


def run_case(
    job: CaseJob,
    params: ScprParams,
    force: bool = False,
    png_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> CaseResult:
    """Sample every vessel of ``job`` and write its HDF5 file atomically, unless the file is up
    to date (same inputs by content, same parameters and tool version) and not ``force``.
    With ``png_dir``, write the longitudinal views of every vessel there. ``progress`` is called
    with ``(vessels done, vessels)``."""
    prov = provenance(KIND, asdict(params), {"image": job.image, "centerlines": job.centerlines})
    skipped = not force and is_up_to_date(job.out, prov)
    if not skipped:
        image = read_volume(job.image)
        with write_h5(job.out, prov) as h5:
            for name, value in asdict(params).items():
                h5.attrs[name] = value
            h5.attrs["vessel_ids"] = json.dumps([v.vessel_id for v in job.vessels])
            for done, vessel in enumerate(job.vessels, start=1):
                _write_vessel(h5, vessel, sample_planes(
                    image, vessel.centerline.points, vessel.frames.normal, vessel.frames.binormal,
                    params.size, params.pixel, params.fill,
                ))
                if progress is not None:
                    progress(done, len(job.vessels))
    views: tuple[Path, ...] = ()
    if png_dir is not None:
        from stages.scpr.views import write_views

        views = write_views(job.out, png_dir, job.case_id)
    return CaseResult(
        job.case_id, job.out, len(job.vessels), sum(v.centerline.arclength.size for v in job.vessels), skipped, views
    )


def _write_vessel(h5: h5py.File, vessel: Vessel, scpr: NDArray[np.float32]) -> None:
    """The group ``/<vessel_id>/`` with the datasets of DESIGN.md (``scpr`` ``[N, H, W]``)."""
    group = h5.create_group(vessel.vessel_id)
    group["scpr"] = scpr
    group["points"] = vessel.centerline.points
    group["tangent"] = vessel.frames.tangent
    group["normal"] = vessel.frames.normal
    group["binormal"] = vessel.frames.binormal
    group["arclength"] = vessel.centerline.arclength
    group["source_point"] = vessel.centerline.source_point


def extract_case(
    image: str | Path,
    centerlines: str | Path,
    out: str | Path,
    params: ScprParams = ScprParams(),
    *,
    case_id: str | None = None,
    force: bool = False,
    png_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> CaseResult:
    """Extract the SCPR of one case (``image`` volume or DICOM folder, ``centerlines`` CSV) to
    ``out``; ``case_id`` (default: the file name of ``out`` without suffix) prefixes the PNGs."""
    out = Path(out)
    job = prepare_case(case_id or out.stem, image, centerlines, out, params)
    return run_case(job, params, force=force, png_dir=png_dir, progress=progress)


def extract_manifest(
    manifest: str | Path,
    out_dir: str | Path,
    params: ScprParams = ScprParams(),
    *,
    workers: int = 1,
    shard: tuple[int, int] = (0, 1),
    force: bool = False,
    png_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> list[CaseResult]:
    """Extract every case of shard ``(i, n)`` of a manifest (cases ``i, i+n, i+2n, ...`` in
    manifest order, ``0 <= i < n``) into ``out_dir`` (:func:`scpr_path`), with ``workers``
    processes. All inputs of the shard are checked before any volume is read. ``progress`` is
    called with ``(cases done, cases)``. Returns the results in manifest order."""
    index, count = shard
    if not 0 <= index < count:
        raise ValueError(f"shard must be i/n with 0 <= i < n, got {index}/{count}")
    cases = list(load_manifest(manifest).cases.values())[index::count]
    jobs = [
        (prepare_case(c.case_id, c.image, c.centerlines, scpr_path(out_dir, c.case_id), params), params, force, png_dir)
        for c in cases
    ]
    return run_jobs(run_case, jobs, workers, progress)
