"""`stenosis demo` end to end in a tiny setting, and reuse of finished stages on a rerun."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages.demo.run import STAGES, DemoSettings, paths, run_demo
from stages.evaluate.predictions import read_predictions
from stenosis_cli.main import run

TINY = ("--cases", "5", "--epochs", "1", "--gradcam", "2", "--seed", "1")


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    assert run(["demo", "--out", str(out), *TINY]) == 0
    return out


def test_demo_writes_every_artifact(demo_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for stage, path in paths(demo_out).items():
        assert path.is_file(), stage
    for name in ("cohort/instances.csv", "run/last.pt", "run/metrics.csv", "run/curves.png", "report/report.md",
                 "report/confusion_preds.png", "report/per_grade.png"):
        assert (demo_out / name).is_file(), name
    preds = read_predictions(demo_out / "preds.csv")
    report = json.loads((demo_out / "report/report.json").read_text())
    assert report["n"] == len(preds) > 0
    assert len(list((demo_out / "gradcam").glob("*_gradcam.png"))) == min(2, len(preds))
    assert set(json.loads((demo_out / "demo.json").read_text())) >= set(STAGES)


def test_rerun_reuses_every_stage(demo_out: Path) -> None:
    before = {stage: path.stat().st_mtime_ns for stage, path in paths(demo_out).items()}
    events: list[tuple[str, str]] = []
    settings = DemoSettings(cases=5, seed=1, overrides=("optim.epochs=1", "optim.warmup_epochs=1"), gradcam=2)
    result = run_demo(demo_out, settings, event=lambda stage, what, _: events.append((stage, what)))
    assert events == [(stage, "reused") for stage in STAGES]
    assert all(result.reused.values())
    assert {stage: path.stat().st_mtime_ns for stage, path in paths(demo_out).items()} == before


def test_changed_training_redoes_only_training_onwards(demo_out: Path, tmp_path: Path) -> None:
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(demo_out, out)
    settings = DemoSettings(cases=5, seed=1, overrides=("optim.epochs=2", "optim.warmup_epochs=1"), gradcam=2)
    result = run_demo(out, settings)
    assert [s for s in STAGES if result.reused[s]] == ["synth", "build-dataset"]
    assert len((out / "run/metrics.csv").read_text().splitlines()) == 1 + 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cases", "2"], "Invalid value for '--cases'"),
        (["--gradcam", "-1"], "Invalid value for '--gradcam'"),
        (["--out", "A_FILE"], "A_FILE: the demo's output folder exists and is not a folder"),
    ],
)
def test_bad_demo_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    (tmp_path / "A_FILE").write_text("")
    args = [str(tmp_path / a) if a == "A_FILE" else a for a in args]
    code = run(["demo", "--out", str(tmp_path / "out"), *args] if "--out" not in args else ["demo", *args])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and message.replace("A_FILE", str(tmp_path / "A_FILE")) in err, err
    assert not (tmp_path / "out").exists()


def test_a_config_differing_only_in_comments_reuses_training(demo_out: Path, tmp_path: Path) -> None:
    from stages.demo.run import DEMO_CONFIG

    commented = tmp_path / "demo.yaml"
    commented.write_text("# a note that changes nothing\n" + DEMO_CONFIG.read_text())
    settings = DemoSettings(cases=5, seed=1, overrides=("optim.epochs=1", "optim.warmup_epochs=1"), gradcam=2,
                            config=str(commented))
    assert settings.stage_inputs("train") == DemoSettings(
        cases=5, seed=1, overrides=("optim.epochs=1", "optim.warmup_epochs=1"), gradcam=2).stage_inputs("train")
    assert all(run_demo(demo_out, settings).reused.values())
