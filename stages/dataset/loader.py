"""Torch loading of a dataset file: a lazily opened ``Dataset``, optional augmentation, a
collate that pads instances of different lengths, and the move to the device, where the HU
values are normalised.

Intensities travel as HU (int16 as stored, float32 after augmentation) and are mapped to
[0, 1] by the file's HU window only on the device (:meth:`InstanceDataset.to_device`): half
the bytes through the worker queue and no float conversion in the workers.

An item is a dict of tensors: ``scpr`` ``[1, D, H, W]`` and ``ccta`` ``[1, Dc, Hc, Wc]`` (HU),
``ccta_points`` ``[D, 3]`` (``[z, y, x]`` indices into ``ccta``), ``mask`` ``[D]`` bool,
``core_start``, ``core_end``, ``grade`` (0 when unknown) and ``index`` (position in the file's
index) as 0-d int64.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
from scipy.ndimage import affine_transform, gaussian_filter
from torch import Tensor
from torch.utils.data import Dataset, get_worker_info

from stages.dataset.store import read_index

INTENSITY_KEYS = ("scpr", "ccta")


@dataclass(frozen=True)
class Augment:
    """Training augmentation: a reversal of the instance's direction along the centerline
    (SCPR slices, points, mask and core range; a stenosis grades the same either way), random
    flips of each patch axis and of the SCPR cross-section,
    a rotation of the patch about a random axis by up to ``max_degrees`` (points rotated with
    it), a random rotation of the SCPR cross-section by a multiple of 90 degrees, an
    intensity jitter: scale by ``1 ± intensity`` and shift by ``± intensity`` of the HU window's
    width (the same for both volumes), and for each volume a Gaussian blur of up to ``blur``
    voxels (sigma) and Gaussian noise of up to ``noise`` HU (standard deviation): other
    scanners' sharpness and noise."""

    flip: bool = True
    max_degrees: float = 10.0
    intensity: float = 0.05
    reverse: bool = True
    noise: float = 0.0
    blur: float = 0.0

    def __call__(
        self, item: Mapping[str, np.ndarray], rng: np.random.Generator, window: tuple[float, float]
    ) -> dict[str, np.ndarray]:
        ccta, points, scpr = item["ccta"].astype(np.float32), item["ccta_points"].astype(np.float64), item["scpr"]
        size = np.array(ccta.shape, dtype=np.float64)
        mask, core = item["mask"], np.asarray(item["core"])
        if self.reverse and rng.random() < 0.5:
            scpr, points, mask = scpr[::-1], points[::-1], mask[::-1]
            core = mask.shape[0] - 1 - core[::-1]
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
        ccta, scpr = self._degrade(np.ascontiguousarray(ccta), rng), self._degrade(np.ascontiguousarray(scpr, np.float32), rng)
        low, high = window
        scale = 1 + rng.uniform(-self.intensity, self.intensity)
        offset = low * (1 - scale) + rng.uniform(-self.intensity, self.intensity) * (high - low)
        return {**item, "ccta": ccta * scale + offset, "scpr": scpr * scale + offset,
                "ccta_points": points.astype(np.float32), "mask": np.ascontiguousarray(mask), "core": core}

    def _degrade(self, volume: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``volume`` blurred by a random sigma in ``[0, blur]`` voxels and with Gaussian
        noise of a random std in ``[0, noise]`` HU added (float32)."""
        if self.blur > 0:
            volume = gaussian_filter(volume, sigma=rng.uniform(0, self.blur), mode="nearest")
        if self.noise > 0:
            volume = volume + rng.normal(0, rng.uniform(0, self.noise), volume.shape).astype(np.float32)
        return volume


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """``[3, 3]`` rotation by ``angle`` radians about ``axis`` (Rodrigues)."""
    k = axis / np.linalg.norm(axis)
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def normalise(hu: Tensor, window: tuple[float, float]) -> Tensor:
    """HU clipped to ``window`` and mapped linearly to ``[0, 1]`` (float32, on ``hu``'s device)."""
    low, high = window
    return hu.float().clamp_(low, high).sub_(low).mul_(1.0 / (high - low))


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
        arrays = {key: group[key][()] for key in (*INTENSITY_KEYS, "ccta_points", "mask")}
        arrays["core"] = np.array([self.index.core_start[row], self.index.core_end[row]], np.int64)
        if self.augment is not None:
            arrays = self.augment(arrays, np.random.default_rng([self.seed, self.epoch, row]), self.index.window)
        return {
            "scpr": torch.from_numpy(arrays["scpr"])[None],
            "ccta": torch.from_numpy(arrays["ccta"])[None],
            "ccta_points": torch.from_numpy(np.asarray(arrays["ccta_points"], np.float32)),
            "mask": torch.from_numpy(arrays["mask"].astype(bool)),
            "core_start": torch.tensor(int(arrays["core"][0])),
            "core_end": torch.tensor(int(arrays["core"][1])),
            "grade": torch.tensor(int(self.index.grade[row])),
            "index": torch.tensor(row),
        }

    def to_device(self, batch: Mapping[str, Tensor], device: torch.device | str) -> dict[str, Tensor]:
        """The batch on ``device`` with ``scpr`` and ``ccta`` normalised to [0, 1] there (the
        model's input, see :mod:`stages.model.cfr`)."""
        moved = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
        for key in INTENSITY_KEYS:
            moved[key] = normalise(moved[key], self.index.window)
        return moved


def _empty(shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """A zero tensor, in shared memory inside a DataLoader worker (so the batch is not copied
    again on its way to the main process)."""
    tensor = torch.zeros(shape, dtype=dtype)
    return tensor.share_memory_() if get_worker_info() is not None else tensor


def collate(items: Sequence[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Stack items into a batch, padding the centerline axis ``D`` to the longest instance:
    ``scpr`` with 0, ``ccta_points`` by repeating the last point, ``mask`` with False."""
    shapes = {tuple(item["ccta"].shape) for item in items}
    if len(shapes) > 1:
        raise ValueError(f"ccta patches differ in shape within a batch: {sorted(shapes)}")
    longest = max(item["mask"].shape[0] for item in items)
    first = items[0]
    batch = {
        "scpr": _empty((len(items), 1, longest, *first["scpr"].shape[2:]), first["scpr"].dtype),
        "ccta": _empty((len(items), *first["ccta"].shape), first["ccta"].dtype),
        "ccta_points": _empty((len(items), longest, 3), torch.float32),
        "mask": _empty((len(items), longest), torch.bool),
    }
    for k, item in enumerate(items):
        n = item["mask"].shape[0]
        batch["scpr"][k, :, :n] = item["scpr"]
        batch["ccta"][k] = item["ccta"]
        batch["ccta_points"][k, :n] = item["ccta_points"]
        batch["ccta_points"][k, n:] = item["ccta_points"][-1]
        batch["mask"][k, :n] = item["mask"]
    for key in ("core_start", "core_end", "grade", "index"):
        batch[key] = torch.stack([item[key] for item in items])
    return batch
