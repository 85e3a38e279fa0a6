"""build-dataset and loading speed on a 20-case phantom cohort, each beside a baseline in the
same run: the build with 1 and with 2 worker processes (wall time, peak memory), loading
through a DataLoader with batch 32 with 2 workers beside 0 workers (steady-state instances per
second, HU as stored; normalisation happens later on the device), and the dataset's size on
disk per instance.

    python benchmarks/dataset_speed.py [--cases 20] [--draws 3200]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, RandomSampler

from stages.dataset.build import build_dataset
from stages.dataset.loader import InstanceDataset, collate
from stages.synth import generate_cohort


def peak_mb() -> float:
    """Peak resident memory of this process and of its finished children, MB (Linux: KiB units)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def load_rate(path: Path, workers: int, draws: int) -> float:
    """Steady-state instances per second through a DataLoader (batch 32, no augmentation):
    ``draws`` random instances in one pass, after a warm-up pass over the file."""
    data = InstanceDataset(path)
    for _ in DataLoader(data, batch_size=32, collate_fn=collate):  # file in the page cache
        pass
    sampler = RandomSampler(data, replacement=True, num_samples=draws, generator=torch.Generator().manual_seed(0))
    loader = DataLoader(data, batch_size=32, sampler=sampler, collate_fn=collate, num_workers=workers)
    start = time.perf_counter()
    count = sum(batch["grade"].shape[0] for batch in loader)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--draws", type=int, default=3200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate_cohort(folder / "cohort", args.cases, seed=0, workers=2)
        walls = {}
        for workers in (1, 2):
            start = time.perf_counter()
            build_dataset(folder / "cohort" / "cases.csv", folder / "cohort" / "instances.csv",
                          folder / f"dataset{workers}.h5", workers=workers)
            walls[workers] = time.perf_counter() - start
        out = folder / "dataset2.h5"
        n = len(InstanceDataset(out))
        print(f"build-dataset, {args.cases} cases, {n} instances: 1 worker {walls[1]:.1f} s, 2 workers {walls[2]:.1f} s "
              f"(ratio {walls[1] / walls[2]:.2f}); peak memory {peak_mb():.0f} MB")
        print(f"dataset on disk: {out.stat().st_size / n / 1e6:.2f} MB per instance (int16 HU, uncompressed)")
        serial = load_rate(out, 0, args.draws)
        parallel = load_rate(out, 2, args.draws)
        print(f"loading, batch 32: 2 workers {parallel:.0f} instances/s, 0 workers {serial:.0f} instances/s "
              f"(ratio {parallel / serial:.2f})")


if __name__ == "__main__":
    main()
