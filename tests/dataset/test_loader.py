"""The dataset file, the lazily opened torch Dataset, augmentation and collate."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from scipy.ndimage import map_coordinates
from torch.utils.data import DataLoader

from stages.dataset.loader import Augment, InstanceDataset, collate
from stages.dataset.store import DEFAULT_WINDOW, read_index
from stages.errors import InputError
from stages.io.artifacts import SCHEMA_VERSION
from tests.dataset.helpers import write_tube_dataset

BRIGHT = 400.0  # HU of the tube lumen; the background is -100 HU


@pytest.fixture
def dataset_file(tmp_path: Path) -> Path:
    return write_tube_dataset(tmp_path / "dataset.h5")


def test_index_and_splits(dataset_file: Path) -> None:
    index = read_index(dataset_file)
    assert index.instance_id.tolist() == [f"inst{k:02d}" for k in range(12)]
    assert index.grade.tolist() == [k % 5 + 1 for k in range(12)]
    train = InstanceDataset(dataset_file, "train")
    assert train.instance_ids() == [f"inst{k:02d}" for k in range(0, 12, 3)]


def test_item_in_hu_normalised_on_the_device(dataset_file: Path) -> None:
    data = InstanceDataset(dataset_file)
    item = data[1]
    assert item["scpr"].shape == (1, 14, 12, 12) and item["ccta"].shape == (1, 16, 16, 16)
    assert item["ccta"].dtype == torch.int16 and item["ccta"].max() > 300
    batch = data.to_device(collate([item]), "cpu")
    low, high = DEFAULT_WINDOW
    expected = (item["ccta"].float().clamp(low, high) - low) / (high - low)
    torch.testing.assert_close(batch["ccta"][0], expected)
    assert batch["ccta"].dtype == torch.float32 and 0.0 <= batch["ccta"].min() and batch["ccta"].max() <= 1.0
    on_points = map_coordinates(item["ccta"][0].numpy().astype(np.float32), item["ccta_points"].numpy().T, order=1)
    assert np.all(on_points > 0.8 * BRIGHT)
    assert item["mask"].tolist()[:3] == [False, False, True]


@pytest.mark.parametrize("seed", range(5))
def test_augmentation_keeps_points_on_lumen(dataset_file: Path, seed: int) -> None:
    plain = InstanceDataset(dataset_file)
    augmented = InstanceDataset(dataset_file, augment=Augment(max_degrees=15), seed=seed)
    for k in range(3):
        item = augmented[k]
        on_points = map_coordinates(item["ccta"][0].numpy(), item["ccta_points"].numpy().T, order=1)
        assert np.median(on_points) > 0.6 * BRIGHT
        assert not torch.equal(item["ccta"], plain[k]["ccta"].float())
    again = InstanceDataset(dataset_file, augment=Augment(max_degrees=15), seed=seed)
    assert torch.equal(again[0]["ccta"], augmented[0]["ccta"])


def test_reversal_keeps_the_core_on_the_same_slices(dataset_file: Path) -> None:
    plain = InstanceDataset(dataset_file)
    reversed_count = 0
    for seed in range(8):
        augmented = InstanceDataset(dataset_file, augment=Augment(flip=False, max_degrees=0, intensity=0), seed=seed)
        for k in range(len(plain)):
            a, b = plain[k], augmented[k]
            n = a["mask"].shape[0]
            core_a = slice(int(a["core_start"]), int(a["core_end"]) + 1)
            core_b = slice(int(b["core_start"]), int(b["core_end"]) + 1)
            if torch.equal(b["mask"], a["mask"]) and core_a == core_b:
                assert torch.equal(b["scpr"], a["scpr"].float())
                continue
            reversed_count += 1
            assert int(b["core_start"]) == n - 1 - int(a["core_end"]) and int(b["core_end"]) == n - 1 - int(a["core_start"])
            assert torch.equal(b["mask"], a["mask"].flip(0))
            assert torch.equal(b["scpr"][:, core_b], a["scpr"][:, core_a].flip(1).float())
            assert torch.equal(b["ccta_points"][core_b], a["ccta_points"][core_a].flip(0))
    assert 0 < reversed_count < 8 * len(plain)


def test_noise_and_blur_degrade_within_their_bounds(dataset_file: Path) -> None:
    plain = InstanceDataset(dataset_file)[0]
    still = dict(flip=False, max_degrees=0, intensity=0, reverse=False)
    noisy = InstanceDataset(dataset_file, augment=Augment(**still, noise=30.0), seed=2)[0]
    residual = (noisy["ccta"] - plain["ccta"].float()).numpy()
    assert 0 < residual.std() <= 30.0 * 1.1 and abs(residual.mean()) < 3.0
    blurred = InstanceDataset(dataset_file, augment=Augment(**still, blur=1.5), seed=2)[0]["ccta"].numpy()
    original = plain["ccta"].numpy().astype(np.float64)
    assert np.abs(np.diff(blurred, axis=2)).mean() < np.abs(np.diff(original, axis=2)).mean()  # smoother
    assert blurred.mean() == pytest.approx(original.mean(), rel=0.02)  # nearest-edge blur keeps the level


def test_collate_pads_variable_lengths(dataset_file: Path) -> None:
    data = InstanceDataset(dataset_file)
    batch = collate([data[0], data[1], data[2]])  # lengths 9, 14, 11
    assert batch["scpr"].shape == (3, 1, 14, 12, 12)
    assert batch["mask"].sum(1).tolist() == [7, 12, 9]  # two padded points at the vessel start each
    assert torch.equal(batch["ccta_points"][0, 9:], data[0]["ccta_points"][-1:].expand(5, 3))
    assert batch["scpr"][0, :, 9:].abs().sum() == 0
    assert batch["grade"].tolist() == [1, 2, 3]


def test_workers_open_the_file_lazily(dataset_file: Path) -> None:
    data = InstanceDataset(dataset_file, "train")
    serial = [b["index"].tolist() for b in DataLoader(data, batch_size=2, collate_fn=collate)]
    parallel = [b["index"].tolist() for b in DataLoader(data, batch_size=2, collate_fn=collate, num_workers=2)]
    assert serial == parallel == [[0, 3], [6, 9]]


def test_not_a_dataset(tmp_path: Path) -> None:
    (tmp_path / "x.h5").write_bytes(b"nope")
    with pytest.raises(InputError, match="not a stenosis dataset"):
        InstanceDataset(tmp_path / "x.h5")
    with pytest.raises(InputError, match="does not exist"):
        InstanceDataset(tmp_path / "none.h5")


def test_dataset_of_another_schema_version(dataset_file: Path) -> None:
    with h5py.File(dataset_file, "r+") as h5:
        h5.attrs["schema_version"] = SCHEMA_VERSION - 1
    with pytest.raises(InputError, match=f"schema version {SCHEMA_VERSION - 1}; this tool reads version {SCHEMA_VERSION}"):
        InstanceDataset(dataset_file)
