"""`stenosis gradcam` end to end on a small tube dataset: maps in SCPR space, files written,
the instance draw, and bad input ending with exit 2 and nothing written."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import h5py
import matplotlib.image
import numpy as np
import pytest
import torch

from stages.explain.explain import MAPS, explain_instances, random_instances
from stages.explain.figures import summary
from stages.train.checkpoint import save_checkpoint
from stages.train.config import TrainConfig
from stages.train.factory import build, restore
from stenosis_cli.main import run
from tests.dataset.helpers import write_tube_dataset


def _checkpoint(path: Path, modality: str, loss: str = "cr") -> Path:
    """An untrained model of a tiny config, saved as a checkpoint that `restore` reads."""
    config = TrainConfig.from_dict({
        "model": {"channels": 8, "widths": [4, 8], "depth": 1, "heads": 2, "mlp_hidden": 16, "modality": modality},
        "loss": {"name": loss},
    })
    torch.manual_seed(0)
    model, _ = build(config)
    save_checkpoint(path, {"model": model.state_dict(), "config": config.to_dict()})
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gradcam")
    return {"dataset": write_tube_dataset(folder / "dataset.h5", n=6),
            "both": _checkpoint(folder / "both.pt", "both"), "scpr": _checkpoint(folder / "scpr.pt", "scpr")}


def test_explanations_are_in_scpr_space(files: dict[str, Path]) -> None:
    model, head, _, _ = restore(files["both"], torch.device("cpu"))
    ids = ["inst00", "inst04"]
    explanations = list(explain_instances(model, head, files["dataset"], ids))
    assert [e.instance_id for e in explanations] == ids
    with h5py.File(files["dataset"], "r") as h5:
        for expl in explanations:
            group = h5["instances"][expl.instance_id]
            assert expl.grade == group.attrs["grade"] and 1 <= expl.pred <= 5 and expl.target == expl.pred
            assert set(expl.maps) == set(MAPS) and expl.ccta_patch.shape == group["ccta"].shape
            for cam in expl.maps.values():
                assert cam.shape == group["scpr"].shape and cam.min() >= 0 and cam.max() == pytest.approx(1.0)
                assert np.all(cam[~expl.mask] == 0)
            mean = (expl.maps["scpr"] + expl.maps["ccta"]) / 2
            np.testing.assert_allclose(expl.maps["combined"], mean / mean.max(), rtol=1e-6)
            assert expl.step == pytest.approx(np.median(np.linalg.norm(np.diff(group["points"][2:], axis=0), axis=1)))
    assert explanations[1].ae == abs(explanations[1].grade - explanations[1].pred)


def test_figure_text_and_unlabelled_instances(files: dict[str, Path], tmp_path: Path) -> None:
    dataset = write_tube_dataset(tmp_path / "unlabelled.h5", n=3, graded=False)
    model, head, _, _ = restore(files["both"], torch.device("cpu"))
    expl = next(explain_instances(model, head, dataset, ["inst01"]))
    assert expl.grade == 0 and expl.ae is None and expl.cre is None
    assert summary(expl) == f"GT ? · pred {expl.pred} · AE n/a · CRE n/a"
    # DESIGN.md's CRD table: across the 2|3 boundary (|a-b|+1)^2, else |a-b|
    expected = {(1, 3): "AE 2 · CRE 9", (3, 5): "AE 2 · CRE 2", (2, 3): "AE 1 · CRE 4", (4, 4): "AE 0 · CRE 0"}
    for (grade, pred), text in expected.items():
        assert summary(replace(expl, grade=grade, pred=pred)) == f"GT {grade} · pred {pred} · {text}"
    assert run(["gradcam", "-c", str(files["both"]), "-d", str(dataset), "-i", "inst01", "-o", str(tmp_path / "cam"), "-q"]) == 0


def test_random_draw_is_seeded_within_the_split(files: dict[str, Path]) -> None:
    first = random_instances(files["dataset"], 2, "test", seed=3)
    assert first == random_instances(files["dataset"], 2, "test", seed=3)
    assert set(first) <= {"inst02", "inst05"} and first == sorted(first)
    assert len(random_instances(files["dataset"], 6, "all")) == 6


def test_cli_writes_pngs_panel_and_arrays(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cam"
    args = ["gradcam", "-c", str(files["both"]), "-d", str(files["dataset"]), "-i", "inst01", "-i", "inst03",
            "--target", "4", "--npz", "-o", str(out), "-q"]
    assert run(args) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "inst01_gradcam.npz", "inst01_gradcam.png", "inst03_gradcam.npz", "inst03_gradcam.png", "panel.png"]
    for name in ("inst01_gradcam.png", "panel.png"):
        image = matplotlib.image.imread(out / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 200
    with np.load(out / "inst03_gradcam.npz") as arrays, h5py.File(files["dataset"], "r") as h5:
        group = h5["instances"]["inst03"]
        assert int(arrays["target"]) == 4 and int(arrays["grade"]) == group.attrs["grade"]
        assert arrays["combined"].shape == arrays["scpr"].shape == arrays["ccta"].shape == group["scpr"].shape
        assert arrays["ccta_patch"].shape == group["ccta"].shape
        assert arrays["core"].tolist() == [group.attrs["core_start"], group.attrs["core_end"]]


def test_cli_random_and_an_ablation_model_with_its_own_map(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cam"
    args = ["gradcam", "-c", str(files["scpr"]), "-d", str(files["dataset"]), "--random", "2", "--split", "train",
            "--seed", "1", "--map", "scpr", "-o", str(out), "-q"]
    assert run(args) == 0
    expected = random_instances(files["dataset"], 2, "train", seed=1)
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{i}_gradcam.png" for i in expected] + ["panel.png"])


@pytest.mark.parametrize(("model", "extra", "message"), [
    ("both", ["-i", "inst01", "-i", "nope"], "dataset.h5: no instance 'nope' (it holds 6, e.g. inst00"),
    ("scpr", ["-i", "inst01"], "the model (modality 'scpr') has no CCTA backbone, so there is no 'ccta', 'combined' map; maps it has: scpr"),
    ("both", ["-i", "inst01", "--map", "vessel"], "maps must be among scpr, ccta, combined"),
    ("both", ["-i", "inst01", "--random", "2"], "give either --instance (one or more) or --random N"),
    ("both", [], "give either --instance (one or more) or --random N"),
    ("both", ["--random", "3", "--split", "test"], "cannot draw 3 instance(s) from split 'test', which holds 2"),
    ("both", ["--random", "0"], "cannot draw 0 instance(s) from split 'test', which holds 2"),
    ("both", ["-i", "inst01", "--target", "6"], "target grade must lie in 1..5, got 6"),
    ("missing", ["-i", "inst01"], "checkpoint does not exist"),
])
def test_bad_input_exits_2_and_writes_nothing(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               model: str, extra: list[str], message: str) -> None:
    checkpoint = files.get(model, tmp_path / "missing.pt")
    code = run(["gradcam", "-c", str(checkpoint), "-d", str(files["dataset"]), *extra, "-o", str(tmp_path / "cam")])
    err = capsys.readouterr().err
    assert code == 2 and message in " ".join(err.split()), err
    assert not (tmp_path / "cam").exists()


def test_help_shows_an_example_and_every_map(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["gradcam", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example: stenosis gradcam" in out and all(f" {name}" in out for name in MAPS)
