"""PNG figures of metric reports: confusion matrices and per-grade MAE/MCRE across files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from stages.grades import GRADES  # noqa: E402
from stages.io.artifacts import atomic_output  # noqa: E402


def _save(fig: plt.Figure, path: Path) -> None:
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)


def confusion_png(report: dict[str, Any], path: Path, title: str) -> None:
    """Counts and row-normalised confusion matrix side by side (rows truth, columns prediction)."""
    counts = np.array(report["confusion"], dtype=np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    for ax, values, label, fmt in ((axes[0], counts, "count", "{:.0f}"), (axes[1], normalised, "share of row", "{:.2f}")):
        image = ax.imshow(values, cmap="Blues", vmin=0)
        ax.set_xticks(range(5), GRADES)
        ax.set_yticks(range(5), GRADES)
        ax.set_xlabel("predicted grade")
        ax.set_ylabel("ground-truth grade")
        ax.axhline(1.5, color="crimson", lw=1)
        ax.axvline(1.5, color="crimson", lw=1)
        top = values.max() or 1.0
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, fmt.format(v), ha="center", va="center", color="white" if v > top / 2 else "black", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046, label=label)
    axes[0].set_title("counts")
    axes[1].set_title("row-normalised (red: 2|3 risk boundary)")
    fig.suptitle(f"{title}: n={report['n']}, QWK={report['qwk'] if report['qwk'] is None else round(report['qwk'], 3)}")
    _save(fig, path)


def per_grade_png(reports: Sequence[dict[str, Any]], names: Sequence[str], path: Path) -> None:
    """Grouped bars of per-grade MAE (left) and MCRE (right), one bar colour per file."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    width = 0.8 / len(reports)
    x = np.arange(len(GRADES))
    for ax, key, label in ((axes[0], "mae", "MAE"), (axes[1], "mcre", "MCRE")):
        for k, (report, name) in enumerate(zip(reports, names)):
            values = [report["per_grade"][str(g)][key] for g in GRADES]
            heights = [np.nan if v is None else v for v in values]
            ax.bar(x - 0.4 + width * (k + 0.5), heights, width, label=name)
        ax.set_xticks(x, [f"{g}\n(n={reports[0]['per_grade'][str(g)]['n']})" for g in GRADES])
        ax.set_xlabel("ground-truth grade")
        ax.set_ylabel(label)
        ax.set_title(f"per-grade {label}")
    axes[0].legend(fontsize=8)
    _save(fig, path)
