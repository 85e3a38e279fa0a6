"""`stenosis crop-ccta`: a CCTA patch around each stenosis instance, per case."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from stages.ccta.crop import DEFAULT_EXTEND, PatchResult, crop_case, crop_manifest
from stages.ccta.patch import PatchParams
from stages.errors import InputError
from stages.io.inputs import check_centerlines_inside
from stages.io.tables import Case, Manifest, load_centerlines, load_instances, reference_problems
from stages.io.volumes import read_geometry
from stages.scpr.extract import DEFAULT_SMOOTH, ScprParams
from stenosis_cli.console import err_console, progress_callback
from stenosis_cli.options import (
    Extend, Force, Margin, PatchSize, PatchSpacing, Quiet, Shard, Smooth, Step, Workers, parse_shard,
)


def _single_case(image: Path, centerlines: Path, instances: Path, case_id: str | None):
    """The instances of one case from a table (``case_id`` picks one when the table holds several)."""
    table = load_instances(instances)
    cases = sorted({i.case_id for i in table})
    if case_id is None and len(cases) > 1:
        raise InputError(instances, f"holds {len(cases)} cases ({', '.join(cases[:5])}...); pick one with --case-id")
    chosen = case_id or cases[0]
    mine = [i for i in table if i.case_id == chosen]
    if not mine:
        raise InputError(instances, f"no instance of case '{chosen}'", field="case_id")
    vessels = load_centerlines(centerlines)
    check_centerlines_inside(centerlines, vessels, read_geometry(image))
    one_case = Manifest(path=instances, cases={chosen: Case(chosen, image, centerlines, None, 0)})
    for problem in reference_problems(mine, one_case, {chosen: vessels}):
        raise problem.error(instances)
    return chosen, mine


def crop_ccta(
    image: Annotated[Path | None, typer.Argument(help="CCTA volume or DICOM folder (one case).")] = None,
    centerlines: Annotated[Path | None, typer.Argument(help="Centerline CSV of that case.")] = None,
    instances_file: Annotated[Path | None, typer.Argument(help="Instance CSV (one case).", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Patch HDF5 (one case) or folder (--manifest).")] = ...,
    manifest: Annotated[Path | None, typer.Option("--manifest", "-m", help="Case manifest: one <case>_patch.h5 per case.")] = None,
    instances: Annotated[Path | None, typer.Option("--instances", "-i", help="Instance CSV (with --manifest).")] = None,
    case_id: Annotated[str | None, typer.Option("--case-id", help="The case to crop when INSTANCES holds several.")] = None,
    patch: PatchSize = 64,
    spacing: PatchSpacing = 0.5,
    margin: Margin = 3.0,
    extend: Extend = DEFAULT_EXTEND,
    step: Step = 0.5,
    smooth: Smooth = DEFAULT_SMOOTH,
    workers: Workers = 1,
    shard: Shard = "0/1",
    force: Force = False,
    quiet: Quiet = False,
) -> None:
    """Resample a cube around each extended instance Ŝ (SimpleITK, physical space, oriented
    like the image) and store it with the Ŝ points in patch indices [z, y, x]."""
    single = (image, centerlines, instances_file)
    if (manifest is None) == any(a is None for a in single) or (manifest is not None and any(a is not None for a in single)):
        raise typer.BadParameter("give IMAGE CENTERLINES INSTANCES for one case, or --manifest with --instances")
    scpr, params = ScprParams(step=step, smooth=smooth), PatchParams(size=patch, spacing=spacing, margin=margin)
    with progress_callback("cropping patches", quiet) as progress:
        if manifest is None:
            chosen, mine = _single_case(image, centerlines, instances_file, case_id)
            results = [crop_case(chosen, image, centerlines, mine, out, scpr=scpr, patch=params, m=extend, force=force)]
        else:
            if instances is None:
                raise typer.BadParameter("--manifest needs --instances")
            results = crop_manifest(manifest, instances, out, scpr=scpr, patch=params, m=extend, workers=workers,
                                    shard=parse_shard(shard), force=force, progress=progress)
    if not quiet:
        _summary(results)


def _summary(results: list[PatchResult]) -> None:
    table = Table(title="ccta patches")
    for column in ("case", "instances", "spacing grown", "file"):
        table.add_column(column)
    for r in results:
        table.add_row(r.case_id, str(r.n_instances), str(r.n_grown), f"{r.out}{' (up to date)' if r.skipped else ''}")
    err_console.print(table)


def register(app: typer.Typer) -> None:
    """Add `crop-ccta` to ``app``."""
    app.command(
        "crop-ccta",
        help="CCTA patch around each stenosis instance, resampled in physical space -> patch HDF5.",
        epilog=(
            "Example: stenosis crop-ccta --manifest cases.csv --instances instances.csv -o patches/ --workers 2  "
            "or: stenosis crop-ccta image.nii.gz centerlines.csv instances.csv -o case000_patch.h5"
        ),
    )(crop_ccta)
