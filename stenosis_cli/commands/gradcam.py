"""`stenosis gradcam`: Grad-CAM overlays on the straightened vessel for chosen instances."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stenosis_cli.console import err_console, progress_callback
from stenosis_cli.options import Quiet

EXAMPLE = "stenosis gradcam --checkpoint runs/demo/best.pt --dataset dataset.h5 --random 4 --split test --seed 0 -o cam/"


def gradcam(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", "-c", help="Checkpoint from `stenosis train` (best.pt or last.pt).")],
    dataset: Annotated[Path, typer.Option("--dataset", "-d", help="Dataset HDF5 from build-dataset.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PNGs (and arrays).")],
    instance: Annotated[list[str] | None, typer.Option("--instance", "-i", help="Instance id to explain (repeat for more).")] = None,
    random: Annotated[int | None, typer.Option("--random", help="Explain N instances drawn from --split instead.")] = None,
    split: Annotated[str, typer.Option("--split", help="Split --random draws from: train, val, test or all.")] = "test",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --random draw.")] = 0,
    target: Annotated[int | None, typer.Option("--target", help="Grade to explain (default: the predicted grade).")] = None,
    maps: Annotated[list[str] | None, typer.Option("--map", help="Map to draw, repeatable: scpr, ccta, combined (default: all three).")] = None,
    npz: Annotated[bool, typer.Option("--npz", help="Also save the 3D maps of each instance (<id>_gradcam.npz).")] = False,
    device: Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")] = "auto",
    quiet: Quiet = False,
) -> None:
    """Grad-CAM of the last layer of each backbone, the CCTA map carried into SCPR space and
    averaged with the SCPR map. Writes <id>_gradcam.png per instance (the longitudinal SCPR
    view, the combined map over it, the core marked, GT, prediction, AE and CRE) and
    panel.png (instances side by side, a row per map)."""
    from stages.explain.explain import random_instances  # torch and matplotlib load only for the commands that need them
    from stages.explain.write import write_gradcam

    if (instance is None) == (random is None):
        raise ValueError("give either --instance (one or more) or --random N")
    ids = instance if instance is not None else random_instances(dataset, random, split, seed)
    with progress_callback("explaining", quiet) as progress:
        written = write_gradcam(checkpoint, dataset, out, ids, maps=maps, target=target, npz=npz,
                                device=device, progress=progress)
    if not quiet:
        err_console.print(f"wrote {len(written)} files to {out} (panel: {written[-1].name})")


def register(app: typer.Typer) -> None:
    """Add `gradcam` to ``app``."""
    app.command(
        "gradcam",
        help="Grad-CAM overlays on the straightened vessel for chosen instances -> PNGs (and arrays).",
        epilog=f"Example: {EXAMPLE}",
    )(gradcam)
