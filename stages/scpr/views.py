"""Longitudinal views of an SCPR file: per vessel, a PNG with the two central planes of the
straightened volume side by side, arc length running down the page, so a person sees at a
glance that the lumen runs straight down the middle.

The left panel is the central row plane (the T-M plane, B = 0; columns along M), the right one
the central column plane (the T-B plane, M = 0; rows along B), both in mm at true aspect.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
from numpy.typing import NDArray

from stages.io.artifacts import atomic_output

WINDOW_HU = (-100.0, 700.0)
"""Grey-level window of the views: a CT angiography window (level 300, width 800)."""
_INCHES_PER_MM = 0.1
"""Figure size per mm of the planes (10 pixels per mm at 100 dpi)."""


def central_planes(scpr: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """The planes of ``scpr`` ``[N, H, W]`` through the centerline: the central row ``[N, W]``
    (B = 0) and the central column ``[N, H]`` (M = 0). With an even side the centre lies
    between two rows (columns), whose mean is the plane by linear interpolation."""
    def centre(axis: int) -> NDArray[np.float32]:
        n = scpr.shape[axis]
        return np.take(scpr, [(n - 1) // 2, n // 2], axis=axis).mean(axis=axis, dtype=np.float32)

    return centre(1), centre(2)


def write_views(h5_path: str | Path, out_dir: str | Path, prefix: str) -> tuple[Path, ...]:
    """Write ``<out_dir>/<prefix>_<vessel_id>.png`` for every vessel of the SCPR file
    ``h5_path`` (atomically) and return their paths, in the file's vessel order."""
    from matplotlib.figure import Figure

    out_dir = Path(out_dir)
    written = []
    with h5py.File(h5_path, "r") as h5:
        step, pixel = float(h5.attrs["step"]), float(h5.attrs["pixel"])
        for vessel_id in json.loads(h5.attrs["vessel_ids"]):
            row_plane, column_plane = central_planes(h5[vessel_id]["scpr"][()])
            length = step * (row_plane.shape[0] - 1)
            half = pixel * (row_plane.shape[1] - 1) / 2
            fig = Figure(figsize=(4 * half * _INCHES_PER_MM + 1.5, length * _INCHES_PER_MM + 1.2), dpi=100)
            axes = fig.subplots(1, 2, sharey=True)
            panels = ((axes[0], row_plane, "T-M plane (B = 0)", "M (mm)"), (axes[1], column_plane, "T-B plane (M = 0)", "B (mm)"))
            for ax, plane, title, across in panels:
                ax.imshow(
                    plane, cmap="gray", vmin=WINDOW_HU[0], vmax=WINDOW_HU[1], interpolation="nearest",
                    extent=(-half - pixel / 2, half + pixel / 2, length + step / 2, -step / 2), aspect="equal",
                )
                ax.axvline(0.0, color="tab:orange", linewidth=0.6, linestyle="--", alpha=0.5)
                ax.set_title(title, fontsize=8)
                ax.set_xlabel(across, fontsize=8)
                ax.tick_params(labelsize=7)
            axes[0].set_ylabel("arc length (mm)", fontsize=8)
            fig.suptitle(f"{prefix} {vessel_id}", fontsize=9)
            path = out_dir / f"{prefix}_{vessel_id}.png"
            with atomic_output(path) as tmp:
                fig.savefig(tmp, format="png", bbox_inches="tight")
            written.append(path)
    return tuple(written)

