"""Training: a step lowers the loss, exact resume after a stop, SIGTERM, checkpoints, DDP."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from stages.dataset.loader import InstanceDataset, collate
from stages.errors import InputError
from stages.train.checkpoint import load_checkpoint
from stages.train.config import TrainConfig
from stages.train.factory import build, restore
from stages.train.loop import epoch_batches, train
from tests.dataset.helpers import write_tube_dataset

ROOT = Path(__file__).parents[2]
TINY = {
    "model": {"channels": 8, "widths": [4, 8], "depth": 1, "heads": 2, "mlp_hidden": 16, "dropout": 0.1},
    "optim": {"lr": 3e-3, "batch_size": 4, "epochs": 3, "warmup_epochs": 1},
    "data": {"num_workers": 0, "augment": True, "max_degrees": 5.0},
    "run": {"seed": 0, "deterministic": True},
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tube_dataset(tmp_path_factory.mktemp("data") / "dataset.h5", n=24)


def config(**sections: dict) -> TrainConfig:
    values = {k: dict(v) for k, v in TINY.items()}
    for name, section in sections.items():
        values[name] = {**values.get(name, {}), **section}
    return TrainConfig.from_dict(values)


def test_one_step_lowers_the_loss_on_a_fixed_batch(dataset: Path) -> None:
    torch.manual_seed(0)
    model, head = build(config(model={"dropout": 0.0}))
    data = InstanceDataset(dataset, "train")
    batch = data.to_device(collate([data[k] for k in range(len(data))]), "cpu")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    before = head.loss(model(batch), batch["grade"])
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    assert head.loss(model(batch), batch["grade"]).item() < before.item()


def test_epoch_batches_split_global_batches_across_ranks() -> None:
    single = epoch_batches(10, 4, seed=3, epoch=1)
    assert sorted(i for b in single for i in b) == list(range(10))
    ranks = [epoch_batches(10, 4, 3, 1, rank=r, world=2) for r in range(2)]
    assert [a + b for a, b in zip(*ranks)] == single  # the last global batch of 2 splits as 1 + 1
    assert epoch_batches(10, 4, 3, 1, rank=1, world=4)[-1:] != single[-1:]  # 2 cannot split across 4: dropped
    assert len(epoch_batches(10, 4, 3, 1, rank=1, world=4)) == 2
    assert epoch_batches(10, 4, 3, 1) == single and epoch_batches(10, 4, 3, 2) != single


def test_run_writes_everything(dataset: Path, tmp_path: Path) -> None:
    result = train(dataset, config(), tmp_path / "run")
    assert result.epochs_done == 3 and not result.stopped
    for name in ("last.pt", "best.pt", "metrics.csv", "curves.png", "config.yaml"):
        assert (tmp_path / "run" / name).is_file(), name
    log = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert log[0].startswith("epoch,step,train_loss,lr,val_loss,val_qwk") and len(log) == 4
    model, head, cfg, state = restore(tmp_path / "run" / "best.pt", torch.device("cpu"))
    assert cfg == config() and state["epoch"] >= 1
    with pytest.raises(InputError, match="already holds a run"):
        train(dataset, config(), tmp_path / "run")


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def test_resume_after_a_stop_matches_an_uninterrupted_run(dataset: Path, tmp_path: Path) -> None:
    train(dataset, config(), tmp_path / "straight")
    # a run that is stopped by SIGTERM in the middle of epoch 2, then resumed
    script = textwrap.dedent(f"""
        import os, signal
        from stages.train.config import TrainConfig
        from stages.train.loop import train
        from tests.train.test_loop import config
        def progress(step, total, text):
            if step == 3:  # 8 training instances, batch 4: 2 steps per epoch; this is epoch 2's first
                os.kill(os.getpid(), signal.SIGTERM)
        result = train({str(dataset)!r}, config(), {str(tmp_path / 'resumed')!r}, progress=progress)
        print(result.stopped, result.epochs_done)
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "1"]
    stopped = load_checkpoint(tmp_path / "resumed" / "last.pt")
    assert (stopped["epoch"], stopped["batch"], stopped["step"]) == (1, 1, 3)
    result = train(dataset, config(), tmp_path / "resumed", resume=True)
    assert result.epochs_done == 3
    straight, resumed = _weights(tmp_path / "straight" / "last.pt"), _weights(tmp_path / "resumed" / "last.pt")
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], rtol=0, atol=0, msg=key)
    with pytest.raises(InputError, match="config differs from the checkpoint's in optim.lr"):
        train(dataset, config(optim={"lr": 1e-2}), tmp_path / "resumed", resume=True)


def test_tampered_checkpoint_is_refused(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    torch.save({"format": "stenosis-checkpoint-1", "model": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(InputError, match="refused"):
        load_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(InputError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_ddp_two_processes_match_one(dataset: Path, tmp_path: Path) -> None:
    cfg = config(model={"dropout": 0.0}, data={"augment": False}, optim={"epochs": 2})
    train(dataset, cfg, tmp_path / "single")
    script = textwrap.dedent(f"""
        from stages.train.loop import train
        from tests.train.test_loop import config
        cfg = config(model={{"dropout": 0.0}}, data={{"augment": False}}, optim={{"epochs": 2}})
        train({str(dataset)!r}, cfg, {str(tmp_path / 'ddp')!r})
    """)
    (tmp_path / "ddp_script.py").write_text(script)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
         str(tmp_path / "ddp_script.py")],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )
    single, ddp = _weights(tmp_path / "single" / "last.pt"), _weights(tmp_path / "ddp" / "last.pt")
    for key in single:
        a, b = ddp[key], single[key]
        if key.endswith("self_attn.in_proj_bias"):
            # the key bias has an exactly zero gradient (softmax ignores a shift shared by all keys),
            # so Adam turns float rounding noise into steps; compare the query and value biases only
            third = a.shape[0] // 3
            a, b = torch.cat([a[:third], a[2 * third :]]), torch.cat([b[:third], b[2 * third :]])
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=key)
