"""`stenosis predict`: a predictions CSV that `evaluate` accepts, TTA, unlabelled data, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from stages.dataset.loader import InstanceDataset, collate
from stages.evaluate.predictions import read_predictions
from stages.predict.predict import tta_views
from stages.train.checkpoint import load_checkpoint, save_checkpoint
from stages.train.config import TrainConfig
from stages.train.loop import train
from stenosis_cli.main import run
from tests.dataset.helpers import write_tube_dataset

TINY = TrainConfig.from_dict({
    "model": {"channels": 8, "widths": [4, 8], "depth": 1, "heads": 2, "mlp_hidden": 16},
    "optim": {"batch_size": 4, "epochs": 1, "warmup_epochs": 0},
    "data": {"num_workers": 0},
})


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("predict")
    dataset = write_tube_dataset(folder / "dataset.h5", n=15)
    train(dataset, TINY, folder / "run")
    return folder / "run" / "best.pt", dataset


def test_predictions_csv_is_valid_and_evaluates(trained: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint, dataset = trained
    out = tmp_path / "preds.csv"
    assert run(["predict", "-c", str(checkpoint), "-d", str(dataset), "--split", "test", "-o", str(out), "-q"]) == 0
    table = read_predictions(out)
    assert table["instance_id"].tolist() == [f"inst{k:02d}" for k in range(2, 15, 3)]
    assert table["grade"].tolist() == [k % 5 + 1 for k in range(2, 15, 3)]
    assert (table["start"] == 3).all() and (table["end"] == 9).all()
    probs = table[[f"p{g}" for g in range(1, 6)]].to_numpy()
    np.testing.assert_array_equal(table["pred"], probs.argmax(1) + 1)
    assert run(["evaluate", str(out), "--json", str(tmp_path / "r.json"), "-q"]) == 0


def test_tta_views_keep_points_on_the_lumen(trained: tuple[Path, Path]) -> None:
    _, dataset = trained
    data = InstanceDataset(dataset)
    batch = data.to_device(collate([data[k] for k in range(3)]), "cpu")
    for view in tta_views(batch):
        for b in range(3):
            values = map_coordinates(view["ccta"][b, 0].numpy(), view["ccta_points"][b].numpy().T, order=1)
            assert np.median(values) > 0.3
    assert len(list(tta_views(batch))) == 4


def test_tta_predictions(trained: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint, dataset = trained
    assert run(["predict", "-c", str(checkpoint), "-d", str(dataset), "--split", "all", "--tta", "-o", str(tmp_path / "p.csv"), "-q"]) == 0
    assert len(read_predictions(tmp_path / "p.csv")) == 15


def test_unlabelled_dataset(trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint, _ = trained
    dataset = write_tube_dataset(tmp_path / "unlabelled.h5", n=6, graded=False)
    out = tmp_path / "p.csv"
    assert run(["predict", "-c", str(checkpoint), "-d", str(dataset), "--split", "all", "-o", str(out), "-q"]) == 0
    assert out.read_text().splitlines()[1].split(",")[5] == ""
    capsys.readouterr()
    assert run(["evaluate", str(out)]) == 2
    assert "there is no truth to score" in capsys.readouterr().err


def test_bad_inputs_exit_2(trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint, dataset = trained
    state = load_checkpoint(checkpoint)
    state["config"]["model"]["channels"] = 16
    save_checkpoint(tmp_path / "mismatch.pt", state)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    cases = [
        (["-c", str(tmp_path / "mismatch.pt"), "-d", str(dataset)], "checkpoint weights do not match its config"),
        (["-c", str(tmp_path / "junk.pt"), "-d", str(dataset)], "not a readable checkpoint"),
        (["-c", str(tmp_path / "none.pt"), "-d", str(dataset)], "checkpoint does not exist"),
        (["-c", str(checkpoint), "-d", str(tmp_path / "none.h5")], "dataset file does not exist"),
        (["-c", str(checkpoint), "-d", str(dataset), "--split", "dev"], "split must be one of"),
    ]
    for args, message in cases:
        code = run(["predict", *args, "-o", str(tmp_path / "out.csv")])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (args, err)
        assert not (tmp_path / "out.csv").exists()
