"""Speed and memory of SCPR sampling beside the paper authors' approach
(benchmarks/scpr_baseline.py: the whole volume converted to float64 for each vessel, then
``map_coordinates`` on the full array), measured in the same run on the same volume, points
and frames.

A 512 x 512 x 320 int16 volume (0.4 x 0.4 x 0.5 mm) and 6 vessels of 150 mm, sampled at
48 x 48, 0.4 mm, every 0.5 mm. Reports, for each method: the time for 1 and for 6 vessels and
the marginal cost of a vessel ((T6 - T1) / 5), the peak memory of a whole run on that volume
above the peak of a run on a small case (64^3 voxels, 1 vessel) in multiples of the int16
volume's bytes (each run in a fresh process; ours is the real `extract_case` with its HDF5
file), and the largest difference between the two methods' samples.

    python benchmarks/scpr_speed.py [--shape 512 512 320] [--vessels 6] [--length 150] [--repeat 3]
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
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scpr_baseline import baseline_sample_planes  # noqa: E402
from stages.io.geometry import Geometry  # noqa: E402
from stages.io.tables import load_centerlines  # noqa: E402
from stages.io.volumes import read_volume  # noqa: E402
from stages.scpr.extract import ScprParams, Vessel, extract_case, prepare_vessels  # noqa: E402
from stages.scpr.sampling import sample_planes  # noqa: E402

SPACING = (0.4, 0.4, 0.5)
ORIGIN = (-102.4, -102.4, -80.0)
PARAMS = ScprParams()  # 48 x 48 at 0.4 mm, 0.5 mm step: the paper's settings


def write_case(folder: Path, shape_xyz: tuple[int, int, int], n_vessels: int, length_mm: float, seed: int = 0) -> tuple[Path, Path]:
    """An int16 volume of random HU (uncompressed MHA) and ``n_vessels`` smooth random
    centerlines of ``length_mm`` inside it, a point every mm; returns (volume, centerlines)."""
    rng = np.random.default_rng(seed)
    array = rng.integers(-1024, 1500, size=shape_xyz[::-1], dtype=np.int16)
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    volume = folder / "volume.mha"
    sitk.WriteImage(image, str(volume), useCompression=False)
    extent = np.array(shape_xyz) * SPACING
    centre, reach = np.array(ORIGIN) + extent / 2, 0.8 * extent / 2
    rows = ["vessel_id,point_id,x,y,z"]
    t = np.linspace(0.0, 1.0, 20001)
    for v in range(n_vessels):
        phase, freq = rng.uniform(0, 1, 3), rng.uniform(0.3, 0.8, 3)
        dense = centre + reach * np.sin(2 * np.pi * (freq * t[:, None] + phase))
        s = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))]
        if s[-1] < length_mm:
            raise ValueError(f"vessel {v} is only {s[-1]:.0f} mm long; choose a larger volume")
        at = np.arange(0.0, length_mm + 1e-9, 1.0)
        points = np.stack([np.interp(at, s, dense[:, k]) for k in range(3)], axis=1)
        rows += [f"V{v},{i},{p[0]:.4f},{p[1]:.4f},{p[2]:.4f}" for i, p in enumerate(points)]
    centerlines = folder / "centerlines.csv"
    centerlines.write_text("\n".join(rows) + "\n")
    return volume, centerlines


def _best_times(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """The best of ``repeat`` wall times of each run, the runs interleaved so that load from
    other processes falls on all of them alike."""
    best = dict.fromkeys(runs, np.inf)
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def _ours(image: sitk.Image, vessels: list[Vessel]) -> list[np.ndarray]:
    return [sample_planes(image, v.centerline.points, v.frames.normal, v.frames.binormal,
                          PARAMS.size, PARAMS.pixel, PARAMS.fill) for v in vessels]


def _baseline(image: sitk.Image, vessels: list[Vessel]) -> list[np.ndarray]:
    volume, geometry = sitk.GetArrayViewFromImage(image), Geometry.from_image(image)
    return [baseline_sample_planes(volume, geometry, v.centerline.points, v.frames.normal, v.frames.binormal,
                                   PARAMS.size, PARAMS.pixel, PARAMS.fill) for v in vessels]


def peak_run(method: str, volume: Path, centerlines: Path, out: Path) -> None:
    """One whole run in this process (read, prepare, sample; ours also writes its HDF5), then
    print the process's peak resident memory in bytes."""
    if method == "ours":
        extract_case(volume, centerlines, out, PARAMS, force=True)
    else:
        vessels = list(prepare_vessels(centerlines, load_centerlines(centerlines), PARAMS))
        _baseline(read_volume(volume), vessels)
    print(_peak_rss())


def _peak_rss() -> int:
    """This process's peak resident memory (bytes): VmHWM of this address space. (Not
    ``ru_maxrss``: Linux carries the parent's peak into a child across fork and exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise OSError("no VmHWM in /proc/self/status (Linux only)")


def _peak(method: str, volume: Path, centerlines: Path, out: Path) -> int:
    result = subprocess.run(
        [sys.executable, __file__, "--peak", method, str(volume), str(centerlines), str(out)],
        capture_output=True, text=True, check=True,
    )
    return int(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", type=int, nargs=3, default=(512, 512, 320), metavar=("X", "Y", "Z"))
    parser.add_argument("--vessels", type=int, default=6)
    parser.add_argument("--length", type=float, default=150.0, help="mm per vessel")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peak", nargs=4, metavar=("METHOD", "VOLUME", "CENTERLINES", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak:
        method, *paths = args.peak
        peak_run(method, *map(Path, paths))
        return

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "big").mkdir()
        (folder / "small").mkdir()
        volume, centerlines = write_case(folder / "big", tuple(args.shape), args.vessels, args.length)
        small = write_case(folder / "small", (64, 64, 64), 1, 20.0)
        volume_bytes = int(np.prod(args.shape)) * 2

        image = read_volume(volume)
        start = time.perf_counter()
        vessels = list(prepare_vessels(centerlines, load_centerlines(centerlines), PARAMS))
        prepare_s = (time.perf_counter() - start) / len(vessels)
        ours, theirs = _ours(image, vessels), _baseline(image, vessels)
        max_diff = max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs))

        methods = {"ours": _ours, "baseline": _baseline}
        times = _best_times(
            {(key, k): (lambda f=f, k=k: f(image, vessels[:k])) for key, f in methods.items() for k in (1, len(vessels))},
            args.repeat,
        )
        cases = {"big": (volume, centerlines), "small": small}
        peaks = {(key, tag): _peak(key, *paths, folder / f"{key}_{tag}.h5") for key in methods for tag, paths in cases.items()}

    n = len(vessels)
    rows = []
    for key, name in (("ours", "ours (sample_planes)"), ("baseline", "baseline (authors')")):
        t1, tn = times[key, 1], times[key, n]
        rows.append((name, t1, tn, (tn - t1) / (n - 1), (peaks[key, "big"] - peaks[key, "small"]) / volume_bytes))

    slices = sum(v.centerline.arclength.size for v in vessels)
    print(f"volume {tuple(args.shape)} int16 ({volume_bytes / 2**20:.0f} MiB), {n} vessels of {args.length:.0f} mm "
          f"({slices} slices of {PARAMS.size}x{PARAMS.size} at {PARAMS.pixel} mm), best of {args.repeat}\n")
    print(f"| method | 1 vessel (s) | {n} vessels (s) | marginal per vessel (s) | peak memory above a small case (x int16 volume) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, t1, tn, marginal, peak in rows:
        print(f"| {name} | {t1:.3f} | {tn:.3f} | {marginal:.3f} | {peak:.2f} |")
    (_, *ours_row), (_, *base_row) = rows
    print(f"\nmarginal cost per vessel: {base_row[2] / ours_row[2]:.1f}x lower than the baseline's; "
          f"centerline smoothing + frames: {prepare_s * 1000:.1f} ms per vessel (shared by both)")
    print(f"max |ours - baseline| over all samples: {max_diff:.2e} HU")


if __name__ == "__main__":
    main()
