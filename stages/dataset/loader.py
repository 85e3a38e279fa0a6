"""Torch loading of a dataset file: a lazily opened ``Dataset``, optional augmentation, and a
collate that pads instances of different lengths.

An item is a dict of tensors: ``scpr`` ``[1, D, H, W]`` and ``ccta`` ``[1, Dc, Hc, Wc]``
(float32, normalised to [0, 1] by the file's HU window), ``ccta_points`` ``[D, 3]`` (``[z, y, x]``
indices into ``ccta``), ``mask`` ``[D]`` bool, ``core_start``, ``core_end``, ``grade`` (0 when
unknown) and ``index`` (position in the file's index) as 0-d int64.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
from scipy.ndimage import affine_transform
from torch import Tensor
from torch.utils.data import Dataset

from stages.dataset.store import normalise, read_index


@dataclass(frozen=True)
class Augment:
    """Training augmentation: random flips of each patch axis and of the SCPR cross-section,
    a rotation of the patch about a random axis by up to ``max_degrees`` (points rotated with
    it), a random rotation of the SCPR cross-section by a multiple of 90 degrees, and an
    intensity scale/shift jitter."""

    flip: bool = True
    max_degrees: float = 10.0
    intensity: float = 0.05

    def __call__(self, item: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        ccta, points, scpr = item["ccta"], item["ccta_points"].astype(np.float64), item["scpr"]
        size = np.array(ccta.shape, dtype=np.float64)
        if self.flip:
            for axis in np.flatnonzero(rng.random(3) < 0.5):
                ccta = np.flip(ccta, axis)
                points[:, axis] = size[axis] - 1 - points[:, axis]
            scpr = np.flip(scpr, 2) if rng.random() < 0.5 else scpr
        scpr = np.rot90(scpr, k=int(rng.integers(4)), axes=(1, 2))
        if self.max_degrees > 0:
            rotation = _rotation(rng.normal(size=3), np.deg2rad(rng.uniform(-self.max_degrees, self.max_degrees)))
            centre = (size - 1) / 2
            # output index o samples input index R^T (o - c) + c; a point p moves to R (p - c) + c
            ccta = affine_transform(ccta, rotation.T, offset=centre - rotation.T @ centre, order=1, mode="nearest")
            points = (points - centre) @ rotation.T + centre
        scale, offset = 1 + rng.uniform(-self.intensity, self.intensity), rng.uniform(-self.intensity, self.intensity)
        return {**item, "ccta": np.ascontiguousarray(ccta) * scale + offset,
                "scpr": np.ascontiguousarray(scpr) * scale + offset, "ccta_points": points.astype(np.float32)}


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """``[3, 3]`` rotation by ``angle`` radians about ``axis`` (Rodrigues)."""
    k = axis / np.linalg.norm(axis)
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


class InstanceDataset(Dataset):
    """The instances of a dataset file, optionally one ``split`` (``train``/``val``/``test``).

    The HDF5 file is opened on first access in each process (safe with DataLoader workers and
    DDP ranks). With ``augment``, each access draws from ``np.random.default_rng([seed, epoch,
    index])``; set ``epoch`` between epochs for fresh draws that stay reproducible.
    """

    def __init__(self, path: str | Path, split: str | None = None, augment: Augment | None = None, seed: int = 0) -> None:
        self.path = Path(path)
        self.index = read_index(self.path)
        selected = np.ones(self.index.instance_id.size, bool) if split is None else self.index.split == split
        self.rows = np.flatnonzero(selected)
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self._file: h5py.File | None = None
        self._pid: int | None = None

    def __len__(self) -> int:
        return int(self.rows.size)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_file": None, "_pid": None}

    def _h5(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    def instance_ids(self) -> list[str]:
        """The ids of this dataset's instances, in item order."""
        return [str(i) for i in self.index.instance_id[self.rows]]

    def __getitem__(self, item: int) -> dict[str, Tensor]:
        row = int(self.rows[item])
        group = self._h5()["instances"][self.index.instance_id[row]]
        arrays = {
            "scpr": normalise(group["scpr"][()], self.index.window),
            "ccta": normalise(group["ccta"][()], self.index.window),
            "ccta_points": group["ccta_points"][()],
            "mask": group["mask"][()],
        }
        if self.augment is not None:
            arrays = self.augment(arrays, np.random.default_rng([self.seed, self.epoch, row]))
        return {
            "scpr": torch.from_numpy(np.asarray(arrays["scpr"], np.float32))[None],
            "ccta": torch.from_numpy(np.asarray(arrays["ccta"], np.float32))[None],
            "ccta_points": torch.from_numpy(np.asarray(arrays["ccta_points"], np.float32)),
            "mask": torch.from_numpy(arrays["mask"].astype(bool)),
            "core_start": torch.tensor(int(group.attrs["core_start"])),
            "core_end": torch.tensor(int(group.attrs["core_end"])),
            "grade": torch.tensor(int(group.attrs["grade"])),
            "index": torch.tensor(row),
        }


def collate(items: Sequence[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Stack items into a batch, padding the centerline axis ``D`` to the longest instance:
    ``scpr`` with 0, ``ccta_points`` by repeating the last point, ``mask`` with False."""
    longest = max(item["mask"].shape[0] for item in items)
    shapes = {tuple(item["ccta"].shape) for item in items}
    if len(shapes) > 1:
        raise ValueError(f"ccta patches differ in shape within a batch: {sorted(shapes)}")
    batch: dict[str, list[Tensor]] = {key: [] for key in items[0]}
    for item in items:
        pad = longest - item["mask"].shape[0]
        for key, value in item.items():
            if pad and key == "scpr":
                value = torch.nn.functional.pad(value, (0, 0, 0, 0, 0, pad))
            elif pad and key == "ccta_points":
                value = torch.cat([value, value[-1:].expand(pad, 3)])
            elif pad and key == "mask":
                value = torch.cat([value, torch.zeros(pad, dtype=torch.bool)])
            batch[key].append(value)
    return {key: torch.stack(values) for key, values in batch.items()}
