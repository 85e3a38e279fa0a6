"""Speed of `stenosis evaluate`: a million-row predictions CSV, and a 1000-resample bootstrap
on 10,000 rows, each beside a baseline in the same run.

Baselines: plain ``pandas.read_csv`` + scikit-learn metrics (no validation) for the full
evaluation, and explicit instance resampling (an index draw per replicate) for the bootstrap.

    python benchmarks/evaluate_speed.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score, mean_absolute_error

from stages.evaluate.evaluate import evaluate_files
from stages.evaluate.metrics import mcre
from stages.evaluate.predictions import write_predictions
from stages.evaluate.report import bootstrap_intervals
from stages.grades import crd


def make_table(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` predictions with a clinical grade mix and probabilities peaked on the prediction."""
    rng = np.random.default_rng(seed)
    grade = rng.choice(np.arange(1, 6), size=n, p=[0.42, 0.37, 0.13, 0.07, 0.01])
    pred = np.clip(grade + rng.integers(-1, 2, size=n), 1, 5)
    probs = rng.dirichlet(np.ones(5), size=n) * 0.3
    probs[np.arange(n), pred - 1] += 0.7
    table = pd.DataFrame({
        "instance_id": [f"i{k}" for k in range(n)], "case_id": [f"c{k // 20}" for k in range(n)],
        "vessel_id": np.array(["LAD", "LCX", "RCA"])[np.arange(n) % 3], "start": 0, "end": 10,
        "grade": grade, "pred": pred,
    })
    for g in range(5):
        table[f"p{g + 1}"] = probs[:, g] / probs.sum(axis=1)
    return table


def baseline_evaluate(path: Path) -> float:
    """Unvalidated read and the headline metrics with scikit-learn and pandas group-bys."""
    table = pd.read_csv(path)
    y, p = table["grade"].to_numpy(), table["pred"].to_numpy()
    cohen_kappa_score(y, p, weights="quadratic", labels=[1, 2, 3, 4, 5])
    mean_absolute_error(y, p)
    table["ae"], table["cre"] = np.abs(y - p), crd(y, p)
    table.groupby("grade")[["ae", "cre"]].mean().mean()
    return float(table["cre"].mean())


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "preds.csv"
        write_predictions(make_table(args.rows), path)
        ours = timed(evaluate_files, [path], by_case=True)
        base = timed(baseline_evaluate, path)
    print(f"evaluate {args.rows:,} rows (validated, by case): {ours:.2f} s; "
          f"baseline read_csv+sklearn (unvalidated): {base:.2f} s; ratio {ours / base:.2f}")
    small = make_table(10_000, seed=1)
    y, p = small["grade"].to_numpy(), small["pred"].to_numpy()
    ours = timed(bootstrap_intervals, y, p, 1000, 0)
    rng = np.random.default_rng(0)
    base = timed(lambda: [mcre(y[i], p[i]) for i in rng.integers(0, y.size, size=(1000, y.size))])
    print(f"bootstrap 1000 x 10,000 rows, all 7 metrics: {ours:.3f} s; "
          f"baseline index resampling, MCRE only: {base:.2f} s; ratio {ours / base:.4f}")


if __name__ == "__main__":
    main()
