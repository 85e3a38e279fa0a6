"""`stenosis extract-scpr`: straightened curved planar reformation (3D SCPR) of each vessel."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from stages.scpr.centerline import DEFAULT_SMOOTH
from stages.scpr.extract import CaseResult, ScprParams, extract_case, extract_manifest
from stages.scpr.sampling import DEFAULT_FILL
from stenosis_cli.console import err_console, progress_callback
from stenosis_cli.options import Force, Quiet, Shard, Smooth, Step, Workers, parse_shard


class Frame(str, Enum):
    """Frame rules of :mod:`stages.scpr.frames`."""

    rmf = "rmf"
    projection = "projection"


def extract_scpr(
    image: Annotated[Path | None, typer.Argument(help="CCTA volume (NIfTI, MHA, NRRD, ...) or DICOM series folder.")] = None,
    centerlines: Annotated[
        Path | None, typer.Argument(help="Centerline CSV (vessel_id,point_id,x,y,z[,radius]), world mm, LPS.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output HDF5 file (one case) or folder (--manifest).")] = ...,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", "-m", help="Case manifest CSV: one <case_id>_scpr.h5 per case in OUT.")
    ] = None,
    size: Annotated[int, typer.Option("--size", min=1, help="Plane side in pixels (H = W).")] = 48,
    pixel: Annotated[float, typer.Option("--pixel", help="Pixel size in the plane, mm.")] = 0.4,
    step: Step = 0.5,
    frame: Annotated[
        Frame, typer.Option("--frame", help="rmf: rotation-minimising (double reflection); projection: the authors' rule.")
    ] = Frame.rmf,
    smooth: Smooth = DEFAULT_SMOOTH,
    fill: Annotated[float, typer.Option("--fill", help="Value (HU) of samples outside the volume.")] = DEFAULT_FILL,
    png: Annotated[
        Path | None, typer.Option("--png", help="Folder for a longitudinal view per vessel (<case>_<vessel>.png).")
    ] = None,
    workers: Workers = 1,
    shard: Shard = "0/1",
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Straighten each vessel into a stack of cross-sections [N, size, size] sampled along its
    smoothed, uniformly resampled centerline; write one scpr HDF5 per case. Files made from
    the same inputs with the same parameters are kept."""
    given = [path for path in (image, centerlines) if path is not None]
    if len(given) != (0 if manifest else 2):
        raise typer.BadParameter("give IMAGE and CENTERLINES for one case, or --manifest for many (not both)")
    params = ScprParams(size=size, pixel=pixel, step=step, frame=frame.value, smooth=smooth, fill=fill)
    if manifest is None:
        with progress_callback("sampling vessels", quiet) as progress:
            results = [extract_case(image, centerlines, out, params, force=force, png_dir=png, progress=progress)]
    else:
        with progress_callback("extracting cases", quiet) as progress:
            results = extract_manifest(
                manifest, out, params, workers=workers, shard=parse_shard(shard), force=force, png_dir=png, progress=progress
            )
    if not quiet:
        _summary(results)


def _summary(results: list[CaseResult]) -> None:
    table = Table(title="scpr")
    for column, justify in (("case", "left"), ("vessels", "right"), ("slices", "right"), ("file", "left")):
        table.add_column(column, justify=justify)
    for r in results:
        table.add_row(r.case_id, str(r.n_vessels), str(r.n_slices), f"{r.out}{' (up to date)' if r.skipped else ''}")
    err_console.print(table)


def register(app: typer.Typer) -> None:
    """Add `extract-scpr` to ``app``."""
    app.command(
        "extract-scpr",
        help="Straightened curved planar reformation (3D SCPR) of each vessel -> scpr HDF5 per case.",
        epilog=(
            "Example: stenosis extract-scpr image.nii.gz centerlines.csv -o case000_scpr.h5 --png views/  "
            "or: stenosis extract-scpr --manifest cases.csv -o scpr/ --workers 4 --shard 0/10"
        ),
    )(extract_scpr)
