"""PNG figures of Grad-CAM explanations on the longitudinal SCPR view.

The view is the SCPR plane through the centerline (the T-M plane, B = 0, of
:func:`stages.scpr.views.central_planes`), arc length running left to right, the normal M up,
both in mm at true aspect; the CT window is :data:`stages.scpr.views.WINDOW_HU`. A heat map is
the same plane of a map in SCPR space, drawn over the view with opacity growing with its value
(jet colours, 0..1). Dashed lines bound the instance core; grey hatching covers padded slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402

from stages.explain.explain import Explanation  # noqa: E402
from stages.io.artifacts import atomic_output  # noqa: E402
from stages.scpr.views import WINDOW_HU, central_planes  # noqa: E402

CMAP = "jet"
MAP_LABELS = {"scpr": "SCPR backbone", "ccta": "CCTA backbone", "combined": "combined"}
_CORE_COLOUR = "#00e5ff"
_PANEL_INCHES_PER_MM = 0.13
"""Scale of the panel's views (about 2.5 inches across a 48 x 0.4 mm cross-section)."""


def _save(fig: plt.Figure, path: Path) -> None:
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def summary(expl: Explanation) -> str:
    """``GT g · pred p · AE a · CRE c`` (``?`` and ``n/a`` without ground truth)."""
    if not expl.grade:
        return f"GT ? · pred {expl.pred} · AE n/a · CRE n/a"
    return f"GT {expl.grade} · pred {expl.pred} · AE {expl.ae} · CRE {expl.cre}"


def _opacity(values: np.ndarray) -> np.ndarray:
    """Heat-map opacity: 0 at 0, rising linearly to 0.8 at 0.6 and above, so weak evidence
    leaves the view visible."""
    return 0.8 * np.clip(values / 0.6, 0.0, 1.0)


def _aspect(expl: Explanation) -> float:
    """Height over width of the view in mm."""
    return expl.scpr.shape[2] * expl.pixel / (expl.scpr.shape[0] * expl.step)


def _plane(volume: np.ndarray) -> np.ndarray:
    """``[W, D]``: the T-M plane of an SCPR-space volume ``[D, H, W]``, arc length along columns."""
    return central_planes(np.asarray(volume, dtype=np.float32))[0].T


def _draw(ax: Axes, expl: Explanation, heat: np.ndarray | None) -> None:
    """The grey view, the heat map's plane over it (when given), core lines and padding."""
    d, w = expl.scpr.shape[0], expl.scpr.shape[2]
    half = expl.pixel * (w - 1) / 2
    extent = (-expl.step / 2, (d - 0.5) * expl.step, -half - expl.pixel / 2, half + expl.pixel / 2)
    common = {"extent": extent, "origin": "lower", "aspect": "equal", "interpolation": "nearest"}
    ax.imshow(_plane(expl.scpr), cmap="gray", vmin=WINDOW_HU[0], vmax=WINDOW_HU[1], **common)
    if heat is not None:
        plane = np.clip(_plane(heat), 0.0, 1.0)
        ax.imshow(plane, cmap=CMAP, vmin=0.0, vmax=1.0, alpha=_opacity(plane), **common)
    for edge in (expl.core_start - 0.5, expl.core_end + 0.5):
        ax.axvline(edge * expl.step, color=_CORE_COLOUR, linestyle="--", linewidth=1.4)
    for n in np.flatnonzero(~expl.mask):
        ax.axvspan((n - 0.5) * expl.step, (n + 0.5) * expl.step, facecolor="0.5", alpha=0.5, hatch="//", linewidth=0)
    ax.tick_params(labelsize=8)


def _colorbar(fig: plt.Figure, axes: Sequence[Axes] | Axes) -> None:
    bar = fig.colorbar(ScalarMappable(Normalize(0, 1), CMAP), ax=axes, shrink=0.8, pad=0.02)
    bar.set_label("Grad-CAM (normalised)", fontsize=9)


def instance_png(expl: Explanation, map_name: str, path: str | Path) -> None:
    """One instance: the view alone (top) and with ``map_name``'s heat map (bottom), the
    core marked, and the truth, prediction, AE and CRE in the title."""
    aspect = _aspect(expl)
    if aspect < 0.6:  # a long view: one above the other
        fig, axes = plt.subplots(2, 1, figsize=(7.6, 2 * 6.0 * aspect + 1.6), sharex=True, layout="constrained")
    else:  # a short one: side by side
        fig, axes = plt.subplots(1, 2, figsize=(2 * 4.5 + 1.6, 4.5 * aspect + 1.4), sharey=True, layout="constrained")
    _draw(axes[0], expl, None)
    _draw(axes[1], expl, expl.maps[map_name])
    for ax in axes:
        ax.text((expl.core_start + expl.core_end) / 2 * expl.step, 0.97, "core", transform=ax.get_xaxis_transform(),
                color=_CORE_COLOUR, ha="center", va="top", fontsize=10, fontweight="bold")
        ax.set_ylabel("M (mm)", fontsize=9)
        ax.set_xlabel("arc length along the extended instance (mm)", fontsize=9)
        ax.label_outer()
    axes[0].set_title("SCPR, plane through the centerline (T-M)", fontsize=10)
    axes[1].set_title(f"Grad-CAM of grade {expl.target}, {MAP_LABELS[map_name]} map", fontsize=10)
    _colorbar(fig, axes)
    fig.suptitle(f"{expl.instance_id}:  {summary(expl)}", fontsize=13, fontweight="bold")
    _save(fig, Path(path))


def panel_png(explanations: Sequence[Explanation], maps: Sequence[str], path: str | Path) -> None:
    """Figure-3-like panel: one column per instance (its id and GT, prediction, AE, CRE on
    top), rows: the view, then each of ``maps`` over it; every view at the same mm scale."""
    rows = 1 + len(maps)
    lengths = [expl.scpr.shape[0] * expl.step for expl in explanations]
    across = max(expl.scpr.shape[2] * expl.pixel for expl in explanations)
    size = (_PANEL_INCHES_PER_MM * sum(lengths) + 0.5 * len(lengths) + 1.6,
            rows * (_PANEL_INCHES_PER_MM * across + 0.45) + 0.8)
    fig, axes = plt.subplots(rows, len(explanations), figsize=size, squeeze=False, layout="constrained",
                             gridspec_kw={"width_ratios": lengths})
    for c, expl in enumerate(explanations):
        axes[0, c].set_title(f"{expl.instance_id}\n{summary(expl)}\nGrad-CAM of grade {expl.target}", fontsize=9)
        _draw(axes[0, c], expl, None)
        for r, name in enumerate(maps, start=1):
            _draw(axes[r, c], expl, expl.maps[name])
        axes[-1, c].set_xlabel("arc length (mm)", fontsize=9)
    for r, label in enumerate(["SCPR", *(MAP_LABELS[name] for name in maps)]):
        axes[r, 0].set_ylabel(f"{label}\nM (mm)", fontsize=9)
    _colorbar(fig, axes[1:, :].ravel().tolist())
    _save(fig, Path(path))
