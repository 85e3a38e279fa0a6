"""Splitting cases (patients) into train/val/test, never instances, so no patient straddles
two splits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RATIOS = (3, 1, 1)
SPLITS = ("train", "val", "test")


def assign_splits(case_ids: Sequence[str], seed: int, ratios: Sequence[int] = RATIOS) -> dict[str, str]:
    """Case id -> split, shuffled with ``seed`` and cut in the proportions ``ratios``
    (train:val:test); with 3 or more cases every split gets at least one."""
    if len(ratios) != 3 or any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise ValueError(f"ratios must be 3 non-negative numbers with a positive sum, got {list(ratios)}")
    order = np.random.default_rng(seed).permutation(len(case_ids))
    n = len(case_ids)
    n_val = int(round(n * ratios[1] / sum(ratios)))
    n_test = int(round(n * ratios[2] / sum(ratios)))
    if n >= 3:
        n_val, n_test = max(n_val, 1 if ratios[1] else 0), max(n_test, 1 if ratios[2] else 0)
    n_train = n - n_val - n_test
    labels = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    return {case_ids[k]: labels[rank] for rank, k in enumerate(order)}
