"""The paper's comparison and ablation tables, reproduced on a phantom cohort.

Synthesises one cohort, builds it small (SCPR 16 x 16 at 0.5 mm, 32^3 patch at 1 mm), then for
each method and seed trains the demo config with the method's loss head or data type, predicts
the test split and scores it; the random forest on hand-made SCPR features
(:mod:`stages.baselines.random_forest`) is fitted on the same train split. Writes, in OUT:

    paper_tables.md     Table 1 (loss heads and the random forest) and Table 2 (ablations),
                        mean ± std over seeds of QWK, MAE, AMAE, MCRE, AMCRE
    paper_tables.json   every run's metrics, the settings, and the wall time
    preds/<method>_seed<k>.csv   the test predictions of each run

    python benchmarks/paper_tables.py --out tables [--cases 60] [--seeds 0 1 2] [--epochs 45]

Finished runs (their predictions CSV exists) are reused, so a killed run continues and seeds can
run in parallel processes (e.g. ``OMP_NUM_THREADS=1 ... --seeds 0 &`` and ``... --seeds 1 &``
once the cohort and dataset exist, then all seeds together to render the tables).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from stages.baselines.random_forest import dataset_features, fit_predict
from stages.dataset.build import build_dataset
from stages.demo.run import DEMO_CONFIG, DemoSettings
from stages.evaluate.predictions import read_predictions, write_predictions
from stages.evaluate.report import metrics_report
from stages.predict.predict import predict
from stages.synth import generate_cohort
from stages.train.config import load_config
from stages.train.loop import train

METRICS = ("qwk", "mae", "amae", "mcre", "amcre")
# (table, row label, config overrides); the random forest has no overrides (None)
METHODS: dict[str, tuple[str, str, tuple[str, ...] | None]] = {
    "rf": ("1", "Random-forest regression (hand-made SCPR features)", None),
    "ce": ("1", "Multi-class classification (cross-entropy)", ("loss.name=ce",)),
    "cost": ("1", "Cost-sensitive classification", ("loss.name=cost",)),
    "regression": ("1", "Continuous label regression", ("loss.name=regression",)),
    "ordinal": ("1", "K-rank ordinal regression", ("loss.name=ordinal",)),
    "cr": ("1", "CR loss (ours)", ()),
    "scpr": ("2", "SCPR only", ("model.modality=scpr",)),
    "ccta": ("2", "CCTA only", ("model.modality=ccta",)),
    "ad": ("2", "AD soft labels in place of CRD", ("loss.name=ad",)),
    "sd": ("2", "SD soft labels in place of CRD", ("loss.name=sd",)),
}
RUN_ORDER = ["rf", "cr", "ce", "cost", "regression", "ordinal", "scpr", "ccta", "ad", "sd"]
PAPER = {"cr": {"qwk": 0.712, "mae": 0.480, "amae": 0.533, "mcre": 1.296, "amcre": 1.186}}


def run_method(method: str, seed: int, dataset: Path, out: Path, epochs: int | None) -> pd.DataFrame:
    """The test predictions of one method and seed (reused when already written)."""
    path = out / "preds" / f"{method}_seed{seed}.csv"
    if path.exists():
        return read_predictions(path)
    overrides = METHODS[method][2]
    if overrides is None:
        features = dataset_features(dataset)
        table = fit_predict(features[features["split"] == "train"], features[features["split"] == "test"], seed=seed)
        ranges = pd.read_csv(out / "cohort" / "instances.csv", usecols=["instance_id", "start", "end"])
        table = table.drop(columns="expected").merge(ranges, on="instance_id", how="left")
    else:
        settings = [*overrides, f"run.seed={seed}"] + ([f"optim.epochs={epochs}"] if epochs else [])
        run_dir = out / "runs" / f"{method}_seed{seed}"
        train(dataset, load_config(DEMO_CONFIG, settings), run_dir, resume=(run_dir / "last.pt").exists())
        table = predict(run_dir / "best.pt", dataset, split="test").table
    write_predictions(table, path)
    return table


def mean_std(values: list[float]) -> str:
    """``mean ± std`` (sample std over seeds; only the mean for one seed)."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def render(results: dict[str, list[dict]], n_test: int, header: str) -> str:
    """The two tables in Markdown, the paper's own figures for its method beside ours."""
    lines = [header, ""]
    for table, title in (("1", "Table 1: the CR loss against the baselines"), ("2", "Table 2: ablations")):
        lines += [f"### {title} (phantom test split, {n_test} instances)", "",
                  "| method | " + " | ".join(m.upper() for m in METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
        for method, (where, label, _) in METHODS.items():
            if where != table and not (table == "2" and method == "cr"):
                continue
            if method in results:
                lines.append(f"| {label} | " + " | ".join(mean_std([r[m] for r in results[method]]) for m in METRICS) + " |")
        if table == "1":
            lines.append("| CR loss, the paper's figures (779 patient instances) | "
                         + " | ".join(f"{PAPER['cr'][m]:.3f}" for m in METRICS) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="Override the demo config's epochs.")
    parser.add_argument("--methods", nargs="+", default=RUN_ORDER, choices=list(METHODS))
    args = parser.parse_args()
    start = time.perf_counter()
    settings = DemoSettings(cases=args.cases, seed=100)
    cohort, dataset = args.out / "cohort", args.out / "dataset.h5"
    if not (cohort / "cases.csv").exists():
        generate_cohort(cohort, settings.cases, settings.seed, grade_mix=settings.grade_mix, workers=2)
    if not dataset.exists():
        build_dataset(cohort / "cases.csv", cohort / "instances.csv", dataset, settings.build_params(), workers=2)
    results: dict[str, list[dict]] = {}
    n_test = 0
    for method in args.methods:
        for seed in args.seeds:
            table = run_method(method, seed, dataset, args.out, args.epochs)
            n_test = len(table)
            report = metrics_report(table["grade"], table["pred"])
            results.setdefault(method, []).append({"seed": seed, **{m: report[m] for m in METRICS}})
            print(method, seed, {m: round(results[method][-1][m], 3) for m in METRICS}, flush=True)
    header = (f"Phantom cohort of {args.cases} cases (seed {settings.seed}, grade mix {list(settings.grade_mix)}), "
              f"demo config{f' with {args.epochs} epochs' if args.epochs else ''}, seeds {args.seeds}.")
    (args.out / "paper_tables.md").write_text(render(results, n_test, header))
    (args.out / "paper_tables.json").write_text(json.dumps(
        {"settings": vars(args) | {"out": str(args.out)}, "results": results,
         "seconds": time.perf_counter() - start}, indent=2) + "\n")
    print((args.out / "paper_tables.md").read_text())


if __name__ == "__main__":
    main()
