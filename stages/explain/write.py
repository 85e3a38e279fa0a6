"""`gradcam` end to end: checkpoint + dataset + instance ids -> PNGs (and arrays) in a folder.

Files in ``out_dir``: ``<instance_id>_gradcam.png`` per instance (the view and the overlay map),
``panel.png`` (every instance, a row per map) and, with ``npz``, ``<instance_id>_gradcam.npz``
holding each map asked for in SCPR space (``scpr``, ``ccta``, ``combined``, float32
``[D, H, W]``), ``ccta_patch`` (the CCTA map on the patch grid ``[Dc, Hc, Wc]``, when ``ccta``
was asked for), ``mask`` ``[D]``, ``core`` ``[2]`` (first and last core slice) and ``grade``,
``pred``, ``target``. Inputs are all checked before anything is written; each file is written
atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from stages.explain.explain import MAPS, Explanation, check_instances, check_maps, explain_instances
from stages.explain.figures import instance_png, panel_png
from stages.explain.gradcam import check_target
from stages.io.artifacts import atomic_output
from stages.train.distributed import resolve_device
from stages.train.factory import restore

PANEL = "panel.png"


def overlay_map(maps: Sequence[str]) -> str:
    """The map drawn on each instance's PNG: ``combined`` when asked for, else the first."""
    return "combined" if "combined" in maps else maps[0]


def save_npz(expl: Explanation, path: Path) -> None:
    """The arrays of ``expl`` as the module doc lists them, written atomically."""
    arrays = {**expl.maps, "mask": expl.mask, "core": np.array([expl.core_start, expl.core_end]),
              "grade": np.array(expl.grade), "pred": np.array(expl.pred), "target": np.array(expl.target)}
    if expl.ccta_patch is not None:
        arrays["ccta_patch"] = expl.ccta_patch
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def write_gradcam(
    checkpoint: str | Path,
    dataset: str | Path,
    out_dir: str | Path,
    instance_ids: Sequence[str],
    *,
    maps: Sequence[str] | None = None,
    target: int | None = None,
    npz: bool = False,
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Explain ``instance_ids`` of ``dataset`` with the model of ``checkpoint`` and write the
    files of the module doc into ``out_dir``; returns their paths (panel last). ``target``:
    the grade explained (default: each prediction)."""
    check_target(target)
    ids = check_instances(dataset, instance_ids)
    model, head, _, _ = restore(checkpoint, resolve_device(device))
    maps = check_maps(MAPS if maps is None else maps, model, checkpoint)
    out_dir = Path(out_dir)
    written: list[Path] = []
    explanations = []
    for k, expl in enumerate(explain_instances(model, head, dataset, ids, maps, target), start=1):
        written.append(out_dir / f"{expl.instance_id}_gradcam.png")
        instance_png(expl, overlay_map(maps), written[-1])
        if npz:
            written.append(out_dir / f"{expl.instance_id}_gradcam.npz")
            save_npz(expl, written[-1])
        explanations.append(expl)
        if progress is not None:
            progress(k, len(ids))
    written.append(out_dir / PANEL)
    panel_png(explanations, maps, written[-1])
    return written
