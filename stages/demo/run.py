"""The whole pipeline on a small phantom cohort, on CPU: synth -> build-dataset (SCPR and patch
extraction per case, cached) -> train (the demo config) -> predict the test split ->
evaluate -> Grad-CAM of a few test instances.

Everything lives under one folder::

    OUT/cohort/          the phantom cohort (cases.csv, instances.csv, lesions.csv, volumes)
    OUT/dataset.h5       the dataset (per-case SCPR and patch files in OUT/dataset.cache/)
    OUT/run/             checkpoints, config.yaml, metrics.csv, curves.png
    OUT/preds.csv        predictions on the test split
    OUT/report/          report.json, report.md, confusion_preds.png, per_grade.png
    OUT/gradcam/         <instance>_gradcam.png per explained instance and panel.png
    OUT/demo.json        what each finished stage was made from (for reuse on a rerun)

A stage is reused when ``demo.json`` says it finished with the same settings as every stage
before it and its outputs exist; a training run killed part way is resumed.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stages.ccta.patch import PatchParams
from stages.dataset.build import BuildParams
from stages.errors import InputError
from stages.io.artifacts import write_text
from stages.scpr.extract import ScprParams

if TYPE_CHECKING:
    from stages.train.config import TrainConfig

DEMO_CONFIG = Path(__file__).with_name("demo.yaml")
STAGES = ("synth", "build-dataset", "train", "predict", "evaluate", "gradcam")
STATE_FILE = "demo.json"
# An even mix: a 40-case cohort with the paper's mix (grade 5: 1 %) holds one or two severe
# stenoses per split, too few to learn the upper grades from.
DEMO_GRADE_MIX = (1.0, 1.0, 1.0, 1.0, 1.0)

Progress = Callable[[str, int, int, str], None]  # (stage, done, total, status)
Event = Callable[[str, str, float], None]  # (stage, "start" | "done" | "reused", seconds)


@dataclass(frozen=True)
class DemoSettings:
    """What the demo runs: ``cases`` phantom cases of grade mix ``grade_mix`` from ``seed``,
    built small (SCPR ``scpr_size``² at ``scpr_pixel`` mm, ``patch_size``³ patch at
    ``patch_spacing`` mm), trained with ``config`` (default: the packaged demo config) and the
    ``overrides`` (``key=value``), and ``gradcam`` test instances explained."""

    cases: int = 40
    seed: int = 0
    grade_mix: tuple[float, ...] = DEMO_GRADE_MIX
    scpr_size: int = 16
    scpr_pixel: float = 0.5
    patch_size: int = 24
    patch_spacing: float = 1.0
    config: str = str(DEMO_CONFIG)
    overrides: tuple[str, ...] = field(default_factory=tuple)
    gradcam: int = 4
    workers: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "grade_mix", tuple(float(g) for g in self.grade_mix))
        object.__setattr__(self, "overrides", tuple(self.overrides))
        for name in ("cases", "scpr_size", "patch_size", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.gradcam < 0:
            raise ValueError(f"gradcam must be >= 0, got {self.gradcam}")

    def build_params(self) -> BuildParams:
        """The preprocessing of the demo dataset."""
        return BuildParams(
            scpr=ScprParams(size=self.scpr_size, pixel=self.scpr_pixel),
            patch=PatchParams(size=self.patch_size, spacing=self.patch_spacing),
            seed=self.seed,
        )

    @cached_property
    def train_config(self) -> TrainConfig:
        """The training config: ``config`` with the ``overrides`` applied."""
        from stages.train.config import load_config  # torch loads only when the demo runs

        return load_config(self.config, self.overrides)

    @cached_property
    def _chained_inputs(self) -> dict[str, dict[str, Any]]:
        own = {
            "synth": {"cases": self.cases, "seed": self.seed, "grade_mix": list(self.grade_mix)},
            "build-dataset": {"scpr": [self.scpr_size, self.scpr_pixel], "patch": [self.patch_size, self.patch_spacing]},
            "train": self.train_config.to_dict(),  # the values, not the file's comments
            "predict": {},
            "evaluate": {},
            "gradcam": {"n": self.gradcam},
        }
        chained = {stage: {name: own[name] for name in STAGES[: k + 1]} for k, stage in enumerate(STAGES)}
        return json.loads(json.dumps(chained))  # as demo.json holds them

    def stage_inputs(self, stage: str) -> dict[str, Any]:
        """The settings ``stage`` depends on, its own and those of every stage before it."""
        return self._chained_inputs[stage]


@dataclass(frozen=True)
class DemoResult:
    """Where everything went, what was reused, how long each stage took (s), and the test
    report (see :mod:`stages.evaluate.report`)."""

    out: Path
    seconds: dict[str, float]
    reused: dict[str, bool]
    report: dict[str, Any]
    report_files: list[Path]
    figures: list[Path]
    majority_grade: int
    majority_report: dict[str, Any]


def paths(out: Path) -> dict[str, Path]:
    """The main output of each stage under ``out``."""
    return {
        "synth": out / "cohort" / "cases.csv",
        "build-dataset": out / "dataset.h5",
        "train": out / "run" / "best.pt",
        "predict": out / "preds.csv",
        "evaluate": out / "report" / "report.json",
        "gradcam": out / "gradcam" / "panel.png",
    }


def _read_state(out: Path) -> dict[str, Any]:
    try:
        return json.loads((out / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def run_demo(
    out: str | Path,
    settings: DemoSettings = DemoSettings(),
    *,
    progress: Progress | None = None,
    event: Event | None = None,
) -> DemoResult:
    """Run (or reuse) every stage into ``out``; returns a :class:`DemoResult`."""
    from stages.dataset.build import build_dataset
    from stages.dataset.store import read_index
    from stages.evaluate.evaluate import evaluate_files, write_reports
    from stages.evaluate.predictions import write_predictions
    from stages.explain.explain import random_instances
    from stages.explain.write import write_gradcam
    from stages.predict.predict import predict
    from stages.synth import generate_cohort
    from stages.train.loop import train

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(out, "the demo's output folder exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    where = paths(out)
    state = _read_state(out)
    seconds: dict[str, float] = {}
    reused: dict[str, bool] = {}

    def report(stage: str) -> Callable[..., None]:
        return lambda done, total, status="": progress(stage, done, total, status) if progress else None

    def run_stage(stage: str, work: Callable[[], None]) -> None:
        inputs = settings.stage_inputs(stage)
        reused[stage] = state.get(stage) == inputs and where[stage].exists()
        if reused[stage]:
            seconds[stage] = 0.0
            if event:
                event(stage, "reused", 0.0)
            return
        if event:
            event(stage, "start", 0.0)
        start = time.perf_counter()
        for later in STAGES[STAGES.index(stage):]:
            state.pop(later, None)
        work()
        seconds[stage] = time.perf_counter() - start
        state[stage] = inputs
        write_text(out / STATE_FILE, json.dumps(state, indent=2) + "\n")
        if event:
            event(stage, "done", seconds[stage])

    cohort = out / "cohort"
    run_stage("synth", lambda: generate_cohort(
        cohort, settings.cases, settings.seed, grade_mix=settings.grade_mix, workers=settings.workers,
        progress=report("synth")))
    run_stage("build-dataset", lambda: build_dataset(
        cohort / "cases.csv", cohort / "instances.csv", where["build-dataset"], settings.build_params(),
        workers=settings.workers, progress=report("build-dataset")))

    def train_stage() -> None:
        run_dir = out / "run"
        resume = (run_dir / "last.pt").exists() and state.get("train-started") == settings.stage_inputs("train")
        if not resume:
            shutil.rmtree(run_dir, ignore_errors=True)  # a run of other settings: the demo owns this folder
        state["train-started"] = settings.stage_inputs("train")  # a killed run of these settings is resumed
        write_text(out / STATE_FILE, json.dumps(state, indent=2) + "\n")
        train(where["build-dataset"], settings.train_config, run_dir, resume=resume, progress=report("train"))

    run_stage("train", train_stage)
    run_stage("predict", lambda: write_predictions(
        predict(where["train"], where["build-dataset"], split="test", progress=report("predict")).table, where["predict"]))
    report_dir = out / "report"
    plots = [report_dir / "confusion_preds.png", report_dir / "per_grade.png"]
    run_stage("evaluate", lambda: write_reports(
        evaluate_files([where["predict"]]), json_path=where["evaluate"], markdown_path=report_dir / "report.md",
        plot_dir=report_dir))

    def gradcam_stage() -> None:
        n_test = int((read_index(where["build-dataset"]).split == "test").sum())
        ids = random_instances(where["build-dataset"], min(settings.gradcam, n_test), "test", settings.seed)
        shutil.rmtree(out / "gradcam", ignore_errors=True)  # figures of other instances or another model
        write_gradcam(where["train"], where["build-dataset"], out / "gradcam", ids, progress=report("gradcam"))

    if settings.gradcam:
        run_stage("gradcam", gradcam_stage)
    figures = sorted((out / "gradcam").glob("*.png")) if settings.gradcam else []
    test_report = json.loads(where["evaluate"].read_text())
    majority, majority_report = _majority(where["build-dataset"], where["predict"])
    return DemoResult(out, seconds, reused, test_report, [where["evaluate"], report_dir / "report.md", *plots],
                      figures, majority, majority_report)


def _majority(dataset: Path, preds: Path) -> tuple[int, dict[str, Any]]:
    """The most common training grade and the metrics of always predicting it on ``preds``."""
    import numpy as np

    from stages.dataset.store import read_index
    from stages.evaluate.predictions import read_predictions
    from stages.evaluate.report import metrics_report

    index = read_index(dataset)
    grade = int(np.bincount(index.grade[index.split == "train"], minlength=6)[1:].argmax() + 1)
    truth = read_predictions(preds)["grade"].to_numpy()
    truth = truth[truth > 0]
    return grade, metrics_report(truth, np.full_like(truth, grade))
