"""Speed of `stenosis gradcam` for one instance on CPU with the demo config
(examples/configs/demo.yaml), beside the plain forward pass of the same model on the same
instance in the same run.

The instance has the default build-dataset sizes: an SCPR of 47 x 48 x 48 (core of 27 points
extended by 10 on each side, 0.4 mm pixels, 0.5 mm step) and a 64^3 CCTA patch at 0.5 mm. The
model is freshly initialised (trained weights cost the same). Reports the median of
``--repeat`` runs of: the forward pass (no gradients), the Grad-CAM of both backbones with the
CCTA map carried into SCPR space (`explain_instances`), and the whole command for that one
instance (`write_gradcam`: checkpoint restore, dataset read, maps, the instance PNG and the
panel), with their ratios to the forward pass; and, for scale, the same command as a fresh
`stenosis gradcam` process, which adds Python's start and the imports of torch, matplotlib,
scipy and h5py.

    python benchmarks/gradcam_speed.py [--repeat 5] [--threads N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stages.dataset.loader import InstanceDataset, collate  # noqa: E402
from stages.dataset.store import InstanceRecord, write_dataset  # noqa: E402
from stages.explain.explain import explain_instances  # noqa: E402
from stages.explain.write import write_gradcam  # noqa: E402
from stages.io.artifacts import provenance  # noqa: E402
from stages.io.geometry import Geometry  # noqa: E402
from stages.train.checkpoint import save_checkpoint  # noqa: E402
from stages.train.config import load_config  # noqa: E402
from stages.train.factory import build, restore  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "examples" / "configs" / "demo.yaml"
D, SIDE, PATCH = 47, 48, 64


def instance() -> InstanceRecord:
    """A straight bright tube along the patch's z axis, in noise, at the default sizes."""
    rng = np.random.default_rng(0)
    geometry = Geometry(origin=np.zeros(3), spacing=np.full(3, 0.5), direction=np.eye(3), size=(PATCH,) * 3)
    index = np.stack([np.linspace(8.5, 54.5, D), np.full(D, 31.5), np.full(D, 31.5)], axis=1)  # [z, y, x]
    zz, yy, xx = np.mgrid[:PATCH, :PATCH, :PATCH]
    ccta = np.where(np.hypot(yy - 31.5, xx - 31.5) < 4, 400.0, -100.0) + rng.normal(0, 20, (PATCH,) * 3)
    across = np.hypot(*np.mgrid[:SIDE, :SIDE] - (SIDE - 1) / 2)
    scpr = np.where(across[None] < 5, 400.0, -100.0) + rng.normal(0, 20, (D, SIDE, SIDE))
    return InstanceRecord(
        "bench", "case0", "LAD", "test", 3, scpr, ccta, index.astype(np.float32), np.ones(D, bool), 10, 36,
        points=geometry.index_to_world(index), normal=np.tile([1.0, 0.0, 0.0], (D, 1)),
        binormal=np.tile([0.0, 1.0, 0.0], (D, 1)), scpr_pixel=0.4, ccta_geometry=geometry,
    )


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(DEMO)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_dataset(folder / "dataset.h5", [instance()], provenance("dataset", {"benchmark": True}, {}))
        torch.manual_seed(0)
        model, _ = build(config)
        save_checkpoint(folder / "demo.pt", {"model": model.state_dict(), "config": config.to_dict()})
        model, head, _, _ = restore(folder / "demo.pt", torch.device("cpu"))
        data = InstanceDataset(folder / "dataset.h5")
        batch = data.to_device(collate([data[0]]), "cpu")

        def forward() -> None:
            with torch.no_grad():
                model(batch)

        base = median_seconds(forward, args.repeat)
        maps = median_seconds(lambda: list(explain_instances(model, head, folder / "dataset.h5", ["bench"])), args.repeat)
        whole = median_seconds(lambda: write_gradcam(folder / "demo.pt", folder / "dataset.h5", folder / "cam", ["bench"],
                                                     device="cpu"), args.repeat)
        command = [sys.executable, "-c", "from stenosis_cli.main import main; main()", "gradcam", "-c", str(folder / "demo.pt"),
                   "-d", str(folder / "dataset.h5"), "-i", "bench", "-o", str(folder / "cli"), "--device", "cpu", "-q"]
        process = median_seconds(lambda: subprocess.run(command, check=True), args.repeat)
    print(f"one instance (SCPR {D}x{SIDE}x{SIDE}, patch {PATCH}^3), demo config, CPU, {torch.get_num_threads()} threads, "
          f"median of {args.repeat}:")
    rows = [("Grad-CAM maps, both backbones, in SCPR", maps), ("whole command (restore, maps, PNG, panel)", whole),
            ("the same as a fresh process (with imports)", process)]
    print(f"  {'baseline forward pass (no grad):':<46}{base:.3f} s")
    for label, seconds in rows:
        print(f"  {label + ':':<46}{seconds:.3f} s  ({seconds / base:.1f} x forward)")

if __name__ == "__main__":
    main()
