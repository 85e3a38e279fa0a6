"""Small dataset files written directly with the store API (independent of build-dataset)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages.dataset.store import InstanceRecord, write_dataset
from stages.io.artifacts import provenance
from stages.io.geometry import Geometry


def tube_record(instance_id: str, length: int, grade: int, split: str, seed: int, patch: int = 16) -> InstanceRecord:
    """An instance whose patch holds a bright (400 HU) curved tube through its points on a
    -100 HU background, with an SCPR whose lumen narrows with the grade."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, length)
    centre = (patch - 1) / 2
    points = np.stack([2 + t * (patch - 5), centre + 3 * np.sin(3 * t + seed), centre + 2 * np.cos(2 * t)], axis=1)
    grid = np.stack(np.meshgrid(*(np.arange(patch),) * 3, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    dist = np.min(np.linalg.norm(grid - points[None], axis=-1), axis=1).reshape((patch,) * 3)
    ccta = np.where(dist < 1.5, 400.0, -100.0) + rng.normal(0, 5, (patch,) * 3)
    yy, xx = np.mgrid[:12, :12] - 5.5
    radius = np.full(length, 4.0)
    core = slice(length // 3, 2 * length // 3 + 1)
    radius[core] *= 1 - 0.2 * grade
    scpr = np.where(np.hypot(yy, xx)[None] < radius[:, None, None], 400.0, -100.0)
    mask = np.ones(length, bool)
    mask[:2] = False  # padding at a vessel end
    geometry = Geometry(origin=np.zeros(3), spacing=np.ones(3), direction=np.eye(3), size=(patch,) * 3)
    world = geometry.index_to_world(points)
    tangent = np.gradient(world, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.cross(tangent, [1.0, 0.0, 0.0])  # the tube runs along world z
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    binormal = np.cross(tangent, normal)
    return InstanceRecord(instance_id, f"case{seed % 3}", "LAD", split, grade, scpr, ccta, points.astype(np.float32),
                          mask, core.start, core.stop - 1, points=world, normal=normal, binormal=binormal,
                          scpr_pixel=0.5, ccta_geometry=geometry, extras={"start": 3, "end": 9})


def write_tube_dataset(path: Path, n: int = 12, lengths: tuple[int, ...] = (9, 14, 11), graded: bool = True) -> Path:
    """``n`` tube instances, grades cycling 1..5 (all 0 unless ``graded``), splits
    train/val/test cycling by case."""
    splits = ("train", "val", "test")
    records = [tube_record(f"inst{k:02d}", lengths[k % len(lengths)], (k % 5 + 1) * graded, splits[(k % 3)], seed=k)
               for k in range(n)]
    write_dataset(path, records, provenance("dataset", {"test": True}, {}))
    return path
