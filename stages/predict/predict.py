"""Batched inference with a trained checkpoint over a dataset file, with optional test-time
augmentation, producing the predictions table of DESIGN.md."""

from __future__ import annotations

import json
from dataclasses import dataclass
from collections.abc import Callable, Iterator
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from stages.dataset.loader import InstanceDataset, collate
from stages.errors import InputError
from stages.evaluate.predictions import PROB_COLUMNS
from stages.train.distributed import resolve_device
from stages.train.factory import restore

SPLITS = ("train", "val", "test", "all")


def tta_views(batch: dict[str, Tensor]) -> Iterator[dict[str, Tensor]]:
    """The batch and three mirrored views of it: the patch flipped along x, along y, and both
    (instance points mirrored with it), with the SCPR cross-section mirrored to match."""
    size = torch.tensor(batch["ccta"].shape[-3:], dtype=batch["ccta_points"].dtype, device=batch["ccta"].device)
    for axes in ((), (2,), (1,), (1, 2)):  # patch axes in [z, y, x] order
        view = dict(batch)
        if axes:
            view["ccta"] = batch["ccta"].flip([a + 2 for a in axes])
            points = batch["ccta_points"].clone()
            for a in axes:
                points[..., a] = size[a] - 1 - points[..., a]
            view["ccta_points"] = points
            view["scpr"] = batch["scpr"].flip([a + 2 for a in axes])
        yield view


def _input_ids(dataset: InstanceDataset) -> pd.DataFrame:
    """Per item: instance, case and vessel ids and the input ``start``/``end`` point ids."""
    rows = []
    with h5py.File(dataset.path, "r") as h5:
        for instance_id in dataset.instance_ids():
            attrs = h5["instances"][instance_id].attrs
            rows.append({"instance_id": instance_id, "case_id": str(attrs["case_id"]), "vessel_id": str(attrs["vessel_id"]),
                         "start": int(attrs.get("start", -1)), "end": int(attrs.get("end", -1)), "grade": int(attrs["grade"])})
    return pd.DataFrame(rows, columns=["instance_id", "case_id", "vessel_id", "start", "end", "grade"])


def dataset_mismatch(checkpoint_state: dict, dataset_path: Path) -> list[str]:
    """Preprocessing parameters of ``dataset_path`` that differ from those of the dataset the
    checkpoint was trained on (empty when they agree or either is unknown)."""
    trained = json.loads(checkpoint_state.get("dataset") or "{}").get("params", {})
    with h5py.File(dataset_path, "r") as h5:
        raw = h5.attrs.get("provenance", "{}")
    here = json.loads(raw.decode() if isinstance(raw, bytes) else raw).get("params", {})
    ignore = {"seed", "shard", "skip_bad"}  # how a file was split or assembled, not how its inputs look
    return sorted(k for k in set(trained) & set(here) if k not in ignore and trained[k] != here[k])


@dataclass(frozen=True)
class Predictions:
    """The predictions ``table`` and the preprocessing parameters in which the dataset differs
    from the one the checkpoint was trained on (``mismatch``, see :func:`dataset_mismatch`)."""

    table: pd.DataFrame
    mismatch: list[str]


@torch.no_grad()
def predict(
    checkpoint: str | Path,
    dataset: str | Path,
    *,
    split: str = "test",
    device: str = "auto",
    tta: bool = False,
    batch_size: int = 16,
    num_workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Predictions:
    """The predictions (table ``instance_id, case_id, vessel_id, start, end, grade, pred,
    p1..p5``; ``grade`` 0 where unknown) for the instances of ``split`` (``all``: every one).

    ``pred`` is the head's decoding of the model outputs (argmax for the classification and
    soft-label heads, rounding for regression, the count of positive ranks for ordinal); with
    ``tta`` the outputs are averaged over :func:`tta_views` first."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got '{split}'")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    target = resolve_device(device)
    model, head, _, state = restore(checkpoint, target)
    data = InstanceDataset(dataset, None if split == "all" else split)
    if len(data) == 0:
        raise InputError(dataset, f"no instance in split '{split}'")
    table = _input_ids(data)
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, collate_fn=collate, num_workers=num_workers)
    probabilities, grades = [], []
    for batch in loader:
        batch = data.to_device(batch, target)
        views = list(tta_views(batch)) if tta else [batch]
        outputs = torch.stack([model(view).float() for view in views]).mean(0)
        probabilities.append(head.probabilities(outputs).cpu().numpy())
        grades.append(head.decode(outputs).cpu().numpy())
        if progress is not None:
            progress(sum(len(p) for p in probabilities), len(data))
    probs = np.concatenate(probabilities)
    table["pred"] = np.concatenate(grades)
    for k, column in enumerate(PROB_COLUMNS):
        table[column] = probs[:, k]
    return Predictions(table, dataset_mismatch(state, Path(dataset)))
