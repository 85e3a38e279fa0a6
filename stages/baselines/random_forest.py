"""The paper's non-deep baseline: random-forest regression of the grade on hand-made features
of the straightened vessel (lumen, calcium and soft-plaque area profiles of the SCPR).

Features of one instance, from its SCPR ``[D, H, W]`` in HU (pixel ``Δ`` mm) with the core
``core_start..core_end`` and the valid mask along D:

- lumen area per slice: pixels with ``LUMEN_HU[0] <= HU < CALCIUM_HU``, × Δ² (mm²);
  calcium area: pixels ``>= CALCIUM_HU``; soft-plaque area: ``SOFT_HU[0] <= HU < SOFT_HU[1]``;
- the reference lumen area: median over the valid slices outside the core (the core's own
  maximum when the instance has no valid slice outside it);
- core lumen area min / mean / 10th percentile relative to the reference, the absolute minimum
  and the reference (mm²), the largest and mean calcium and soft-plaque areas relative to the
  reference, the centerline HU minimum in the core relative to the reference slices, and the
  core length (slices).

The regressor predicts a continuous grade; the decoded grade is it rounded and clipped to
1..5, and p1..p5 are the shares of trees whose own prediction rounds to each grade.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.ensemble import RandomForestRegressor

from stages.dataset.store import read_records

LUMEN_HU = (150.0, 600.0)
CALCIUM_HU = 600.0
SOFT_HU = (-30.0, 150.0)
FEATURES = (
    "core_min_rel", "core_mean_rel", "core_p10_rel", "core_min_mm2", "reference_mm2",
    "calcium_max_rel", "calcium_mean_rel", "soft_max_rel", "soft_mean_rel", "centre_min_rel", "core_length",
)


def instance_features(scpr: NDArray, mask: NDArray[np.bool_], core_start: int, core_end: int, pixel: float) -> NDArray[np.float64]:
    """The :data:`FEATURES` of one instance (see the module doc)."""
    hu = np.asarray(scpr, np.float64)
    area = pixel * pixel
    lumen = ((hu >= LUMEN_HU[0]) & (hu < CALCIUM_HU)).sum(axis=(1, 2)) * area
    calcium = (hu >= CALCIUM_HU).sum(axis=(1, 2)) * area
    soft = ((hu >= SOFT_HU[0]) & (hu < SOFT_HU[1])).sum(axis=(1, 2)) * area
    h, w = hu.shape[1:]
    centre = hu[:, (h - 1) // 2 : h // 2 + 1, (w - 1) // 2 : w // 2 + 1].mean(axis=(1, 2))
    core = np.zeros(hu.shape[0], bool)
    core[core_start : core_end + 1] = True
    core &= mask
    outside = mask & ~core
    reference = float(np.median(lumen[outside])) if outside.any() else float(lumen[core].max())
    reference = max(reference, area)
    ref_centre = float(np.median(centre[outside])) if outside.any() else float(centre[core].max())
    in_core = lumen[core]
    return np.array([
        in_core.min() / reference, in_core.mean() / reference, np.percentile(in_core, 10) / reference,
        in_core.min(), reference,
        calcium[core].max() / reference, calcium[core].mean() / reference,
        soft[core].max() / reference, soft[core].mean() / reference,
        centre[core].min() / max(abs(ref_centre), 1.0), float(core.sum()),
    ])


def dataset_features(dataset: str | Path) -> pd.DataFrame:
    """One row per instance of ``dataset``: ids, split, grade and the :data:`FEATURES`."""
    rows = []
    for record in read_records(dataset):
        values = instance_features(record.scpr, record.mask, record.core_start, record.core_end, record.scpr_pixel)
        rows.append({"instance_id": record.instance_id, "case_id": record.case_id, "vessel_id": record.vessel_id,
                     "split": record.split, "grade": record.grade, **dict(zip(FEATURES, values))})
    return pd.DataFrame(rows)


def fit_predict(train: pd.DataFrame, test: pd.DataFrame, seed: int = 0, n_trees: int = 300) -> pd.DataFrame:
    """Fit on ``train`` (rows with a grade) and predict ``test``: columns ``instance_id``,
    ``case_id``, ``vessel_id``, ``grade``, ``pred``, ``p1..p5``, ``expected`` (the
    continuous prediction)."""
    labelled = train[train["grade"] > 0]
    if labelled.empty:
        raise ValueError("the training rows carry no grade to fit")
    forest = RandomForestRegressor(n_estimators=n_trees, min_samples_leaf=2, random_state=seed, n_jobs=1)
    forest.fit(labelled[list(FEATURES)].to_numpy(), labelled["grade"].to_numpy(np.float64))
    x = test[list(FEATURES)].to_numpy()
    per_tree = np.stack([tree.predict(x) for tree in forest.estimators_])  # [trees, N]
    votes = np.clip(np.rint(per_tree), 1, 5).astype(int)
    probabilities = np.stack([(votes == k).mean(axis=0) for k in range(1, 6)], axis=1)
    continuous = per_tree.mean(axis=0)  # what forest.predict returns
    out = test[["instance_id", "case_id", "vessel_id", "grade"]].copy()
    out["pred"] = np.clip(np.rint(continuous), 1, 5).astype(int)
    for k in range(5):
        out[f"p{k + 1}"] = probabilities[:, k]
    out["expected"] = continuous
    return out.reset_index(drop=True)
