"""`stenosis train` from the command line: outputs, configs, overrides and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from stages.train.config import TrainConfig, load_config
from stenosis_cli.main import run
from tests.dataset.helpers import write_tube_dataset

ROOT = Path(__file__).parents[2]
SMALL = ["--set", "model.channels=8", "--set", "model.widths=[4,8]", "--set", "model.depth=1", "--set", "model.heads=2",
         "--set", "optim.epochs=1", "--set", "optim.warmup_epochs=0", "--set", "optim.batch_size=4", "--set", "data.num_workers=0"]


def test_paper_config_is_the_default() -> None:
    assert load_config(ROOT / "examples/configs/paper.yaml") == TrainConfig()
    demo = load_config(ROOT / "examples/configs/demo.yaml")
    assert demo.loss.name == "cr" and demo.model.channels < TrainConfig().model.channels


def test_train_cli_writes_a_run(tmp_path: Path) -> None:
    dataset = write_tube_dataset(tmp_path / "d.h5")
    code = run(["train", "--dataset", str(dataset), "--config", str(ROOT / "examples/configs/demo.yaml"),
                "--out", str(tmp_path / "run"), *SMALL, "--quiet"])
    assert code == 0
    assert {"last.pt", "best.pt", "metrics.csv", "curves.png", "config.yaml"} <= {p.name for p in (tmp_path / "run").iterdir()}
    assert load_config(tmp_path / "run" / "config.yaml").optim.epochs == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "optim.lrr=1"], "--set: unknown config key(s): optim.lrr"),
        (["--set", "optim.lr=fast"], "optim.lr must be a number, got 'fast'"),
        (["--set", "loss.name=focal"], "loss.name must be one of"),
        (["--set", "model.heads=3"], "heads must divide dim"),
        (["--set", "data.noise=-5"], "data.noise must be >= 0, got -5"),
        (["--config", "CONFIG_BAD_YAML"], "not valid YAML"),
        (["--config", "CONFIG_UNKNOWN_SECTION"], "unknown config section(s): optimiser"),
        (["--dataset", "NO_DATASET"], "dataset file does not exist"),
        (["--resume"], "nothing to resume"),
    ],
)
def test_bad_config_or_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    dataset = write_tube_dataset(tmp_path / "d.h5", n=6)
    (tmp_path / "bad.yaml").write_text("model: [unclosed\n")
    (tmp_path / "unknown.yaml").write_text("optimiser:\n  lr: 1\n")
    args = [{"CONFIG_BAD_YAML": str(tmp_path / "bad.yaml"), "CONFIG_UNKNOWN_SECTION": str(tmp_path / "unknown.yaml"),
             "NO_DATASET": str(tmp_path / "none.h5")}.get(a, a) for a in args]
    base = ["train", "--dataset", str(dataset), "--out", str(tmp_path / "run"), *SMALL]
    code = run(base + args)
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "run" / "last.pt").exists()
