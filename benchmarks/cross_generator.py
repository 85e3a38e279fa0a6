"""Does a trained model transfer to phantoms it has never seen the like of?

Writes a cohort from a second, deliberately different generator — smooth tubes in a plain
background, one concentric narrowing per vessel (no calcium, no blooming, other HU levels,
other noise, other vessel shapes and spacing) — builds it with the checkpoint's own
preprocessing, predicts every instance and reports QWK and MAE beside the constant predictor of
the most common grade, and the expected grade (sum of k * p_k) by true grade and by diameter
reduction.

    python benchmarks/cross_generator.py RUN/best.pt [--cases 30] [--seed 7] [--out DIR] [--no-wall]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from stages.ccta.patch import PatchParams
from stages.dataset.build import BuildParams, build_dataset
from stages.evaluate.metrics import mae, qwk
from stages.predict.predict import predict
from stages.scpr.extract import ScprParams
from stages.train.checkpoint import load_checkpoint

SPACING = (0.45, 0.45, 0.6)  # x, y, z mm: anisotropic on purpose
SIZE = (96, 96, 72)  # x, y, z voxels
REDUCTION = {1: (0.05, 0.22), 2: (0.27, 0.47), 3: (0.52, 0.67), 4: (0.72, 0.95), 5: (1.0, 1.0)}


def _vessel(rng: np.random.Generator, origin: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """A smooth curve ``[K, 3]`` (world mm, x y z) crossing the volume, sampled every 0.1 mm."""
    start = origin + extent * np.array([rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75), 0.1])
    t = np.linspace(0, 1, 4000)
    bend = rng.uniform(3, 8, 2) * np.sin(np.outer(t, rng.uniform(2, 5, 2)) + rng.uniform(0, 6, 2))
    curve = np.column_stack([start[0] + bend[:, 0], start[1] + bend[:, 1], start[2] + t * 0.8 * extent[2]])
    step = np.linalg.norm(np.diff(curve, axis=0), axis=1).sum() / (len(curve) - 1)
    return curve[:: max(1, int(round(0.1 / step)))]


def write_case(folder: Path, case_id: str, rng: np.random.Generator, wall: bool = True) -> list[dict]:
    """One case: image (NIfTI, LPS world with a non-trivial origin), centerlines CSV; returns
    its instance rows (with the true reduction). ``wall``: a 1.5 mm wall of soft tissue around
    every vessel (else the narrowing is filled with the background)."""
    origin = np.array([-40.0, 12.5, 80.0])
    extent = np.array(SIZE) * np.array(SPACING)
    zyx = np.stack(np.meshgrid(*[np.arange(n) for n in SIZE[::-1]], indexing="ij"), -1).reshape(-1, 3)
    world = origin + zyx[:, ::-1] * np.array(SPACING)
    lumen_hu, wall_hu, background_hu = rng.uniform(280, 480), rng.uniform(20, 70), rng.uniform(-90, -40)
    wall_hu = wall_hu if wall else background_hu
    image = np.full(len(world), background_hu)
    rows, centerlines = [], []
    for v in range(int(rng.integers(1, 4))):
        curve = _vessel(rng, origin, extent)
        s = np.arange(len(curve)) * 0.1
        radius0 = rng.uniform(1.3, 2.0)
        grade = int(rng.integers(1, 6))
        reduction = rng.uniform(*REDUCTION[grade])
        centre, half = rng.uniform(0.35, 0.65) * s[-1], rng.uniform(2.5, 6.0)
        shape = np.where(np.abs(s - centre) < half, 0.5 * (1 + np.cos(np.pi * (s - centre) / half)), 0.0)
        radius = radius0 * (1 - reduction * shape)
        distance, nearest = cKDTree(curve).query(world, distance_upper_bound=radius0 + 1.5)
        near = np.isfinite(distance)
        inside = near & (distance < radius[np.minimum(nearest, len(curve) - 1)])
        image[near & ~inside] = np.maximum(image[near & ~inside], wall_hu)
        image[inside] = lumen_hu
        ids = np.arange(0, len(curve), 8)  # a point every 0.8 mm
        vessel_id = f"V{v}"
        centerlines += [{"vessel_id": vessel_id, "point_id": k, "x": curve[i, 0], "y": curve[i, 1], "z": curve[i, 2]}
                        for k, i in enumerate(ids)]
        lesion = np.flatnonzero(np.abs(s[ids] - centre) <= half)
        rows.append({"instance_id": f"{case_id}_{vessel_id}", "case_id": case_id, "vessel_id": vessel_id,
                     "start": int(lesion[0]), "end": int(lesion[-1]), "grade": grade, "reduction": reduction})
    volume = gaussian_filter(image.reshape(SIZE[::-1]), sigma=0.7) + rng.normal(0, rng.uniform(10, 30), SIZE[::-1])
    itk = sitk.GetImageFromArray(volume.astype(np.int16))
    itk.SetSpacing(SPACING)
    itk.SetOrigin(tuple(origin))
    sitk.WriteImage(itk, str(folder / f"{case_id}.nii.gz"))
    pd.DataFrame(centerlines).to_csv(folder / f"{case_id}_centerlines.csv", index=False, float_format="%.4f")
    return rows


def write_cohort(folder: Path, n_cases: int, seed: int, wall: bool = True) -> pd.DataFrame:
    """cases.csv (all split test), instances.csv; returns instances with their reductions."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [row for k in range(n_cases) for row in write_case(folder, f"x{k:03d}", rng, wall)]
    pd.DataFrame({"case_id": [f"x{k:03d}" for k in range(n_cases)], "image": [f"x{k:03d}.nii.gz" for k in range(n_cases)],
                  "centerlines": [f"x{k:03d}_centerlines.csv" for k in range(n_cases)], "split": "test"}).to_csv(
        folder / "cases.csv", index=False)
    table = pd.DataFrame(rows)
    table.drop(columns="reduction").to_csv(folder / "instances.csv", index=False)
    return table


def build_params(checkpoint: Path) -> BuildParams:
    """The preprocessing the checkpoint was trained on."""
    params = json.loads(load_checkpoint(checkpoint)["dataset"])["params"]
    return BuildParams(scpr=ScprParams(**params["scpr"]), patch=PatchParams(**params["patch"]),
                       extend=params["extend"], window=tuple(params["window"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-wall", action="store_true", help="No soft-tissue wall around the vessels.")
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="cross_generator_"))
    truth = write_cohort(folder, args.cases, args.seed, wall=not args.no_wall)
    build_dataset(folder / "cases.csv", folder / "instances.csv", folder / "dataset.h5", build_params(args.checkpoint))
    preds = predict(args.checkpoint, folder / "dataset.h5", split="test").table.merge(truth[["instance_id", "reduction"]])
    y, p = preds["grade"].to_numpy(), preds["pred"].to_numpy()
    majority = np.full_like(y, np.bincount(y).argmax())
    expected = preds[[f"p{k}" for k in range(1, 6)]].to_numpy() @ np.arange(1, 6)
    print(f"{len(y)} instances from {args.cases} cases in {folder}")
    print(f"model:          QWK {qwk(y, p):.3f}  MAE {mae(y, p):.3f}")
    print(f"always grade {majority[0]}: QWK {qwk(y, majority):.3f}  MAE {mae(y, majority):.3f}")
    print("expected grade by true grade: " + ", ".join(
        f"{g}: {expected[y == g].mean():.2f} (n={int((y == g).sum())})" for g in range(1, 6) if (y == g).any()))
    rho = pd.Series(expected).corr(preds["reduction"], method="spearman")
    print(f"Spearman correlation of expected grade with diameter reduction: {rho:.3f}")


if __name__ == "__main__":
    main()
