"""Training throughput (instances per second) and peak memory on CPU for the demo config and
for the paper config at batch 2, beside inference (forward only, no gradients) of the same
model on the same batches in the same run.

The data is a small phantom cohort built with the default preprocessing (SCPR 48 x 48 at
0.4 mm, 64^3 patch at 0.5 mm) unless --small (the demo's: SCPR 16 x 16 at 0.5 mm, 24^3 patch at 1 mm).

    python benchmarks/train_speed.py [--cases 6] [--steps 4] [--small]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch

from stages.dataset.build import BuildParams, build_dataset
from stages.dataset.loader import InstanceDataset, collate
from stages.demo.run import DemoSettings
from stages.synth import generate_cohort
from stages.train.config import load_config
from stages.train.factory import build

ROOT = Path(__file__).parents[1]


def peak_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(dataset: Path, config: Path, batch_size: int, steps: int) -> tuple[float, float, float]:
    """(training instances/s, inference instances/s, peak MB after training) over ``steps``
    batches after one warm-up step."""
    cfg = load_config(config, [f"optim.batch_size={batch_size}"])
    torch.manual_seed(0)
    model, head = build(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr)
    data = InstanceDataset(dataset)
    batches = [data.to_device(collate([data[(k * batch_size + j) % len(data)] for j in range(batch_size)]), "cpu")
               for k in range(steps + 1)]

    def train_step(batch: dict) -> None:
        loss = head.loss(model(batch), batch["grade"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    train_step(batches[0])
    start = time.perf_counter()
    for batch in batches[1:]:
        train_step(batch)
    train_rate = steps * batch_size / (time.perf_counter() - start)
    memory = peak_mb()
    model.eval()
    with torch.no_grad():
        model(batches[0])
        start = time.perf_counter()
        for batch in batches[1:]:
            model(batch)
    return train_rate, steps * batch_size / (time.perf_counter() - start), memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=6)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    params = DemoSettings().build_params() if args.small else BuildParams()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate_cohort(folder / "cohort", args.cases, seed=0, workers=2)
        build_dataset(folder / "cohort" / "cases.csv", folder / "cohort" / "instances.csv", folder / "d.h5", params, workers=2)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, data {'small' if args.small else 'default'}")
        for name, batch in (("demo", 16), ("paper", 2)):
            train, infer, memory = measure(folder / "d.h5", ROOT / "examples" / "configs" / f"{name}.yaml", batch, args.steps)
            print(f"{name} config, batch {batch}: training {train:.2f} instances/s, inference {infer:.2f} instances/s "
                  f"(training / inference {train / infer:.2f}); peak memory {memory:.0f} MB")


if __name__ == "__main__":
    main()
