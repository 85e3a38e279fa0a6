"""The metrics log of a run (CSV, one row per epoch) and its learning-curve PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from stages.io.artifacts import atomic_output  # noqa: E402


def write_log(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """All epoch rows so far as CSV (rewritten atomically each epoch)."""
    with atomic_output(path) as tmp:
        pd.DataFrame(list(rows)).to_csv(tmp, index=False, float_format="%.6g")


def plot_curves(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Losses (left) and validation metrics (right) against epoch."""
    table = pd.DataFrame(list(rows))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    for column, label in (("train_loss", "train"), ("val_loss", "validation")):
        if column in table and table[column].notna().any():
            left.plot(table["epoch"], table[column], marker=".", label=label)
    left.set_xlabel("epoch")
    left.set_ylabel("loss")
    left.legend()
    for column in ("val_qwk", "val_mae", "val_amae", "val_mcre", "val_amcre"):
        if column in table and table[column].notna().any():
            right.plot(table["epoch"], table[column], marker=".", label=column.removeprefix("val_").upper())
    right.set_xlabel("epoch")
    right.set_title("validation")
    if right.lines:
        right.legend()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
