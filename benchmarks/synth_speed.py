"""Time the phantom cohort generator: a 20-case cohort with 1 and with 2 worker processes, side
by side, and the largest case on disk.

    python benchmarks/synth_speed.py [--cases 20] [--seed 0]

Prints wall and CPU seconds (this process and its workers) for each worker count, the wall
ratio, and the largest case in MB; checks that both runs wrote identical files. On a shared
machine compare CPU seconds too: other load stretches wall time, not CPU time.
"""

from __future__ import annotations

import argparse
import filecmp
import resource
import tempfile
import time
from pathlib import Path

from stages.synth import generate_cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seconds, cpu, summaries = {}, {}, {}
        for workers in (1, 2):
            start, start_cpu = time.perf_counter(), _cpu_seconds()
            summaries[workers] = generate_cohort(Path(tmp) / f"w{workers}", args.cases, args.seed, workers=workers)
            seconds[workers], cpu[workers] = time.perf_counter() - start, _cpu_seconds() - start_cpu
        same = _same_tree(Path(tmp) / "w1", Path(tmp) / "w2")
    summary = summaries[2]
    print(f"{args.cases}-case cohort, seed {args.seed}: {summary.n_vessels} vessels, {summary.n_instances} instances")
    print(f"{'workers':>8} {'wall s':>8} {'s/case':>8} {'CPU s':>8}")
    for workers, wall in seconds.items():
        print(f"{workers:>8} {wall:>8.1f} {wall / args.cases:>8.2f} {cpu[workers]:>8.1f}")
    print(f"speed-up 1 -> 2 workers: {seconds[1] / seconds[2]:.2f}x")
    print(f"largest case on disk: {summary.largest_case_mb:.1f} MB")
    print(f"files identical across worker counts: {same}")


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished child processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _same_tree(a: Path, b: Path) -> bool:
    """True when two folders hold the same relative file names with the same bytes."""
    names_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    names_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return names_a == names_b and all(filecmp.cmp(a / n, b / n, shallow=False) for n in names_a)


if __name__ == "__main__":
    main()
