"""Running independent per-case jobs in worker processes, results in job order."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

from stages.errors import StenosisError

T = TypeVar("T")


def _call(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    """``fn(*args)`` in a worker; a known error comes back as a plain :class:`StenosisError`
    with the same one-line message (its subclasses need not pickle)."""
    try:
        return fn(*args)
    except StenosisError as exc:
        raise StenosisError(str(exc)) from None


def run_jobs(
    fn: Callable[..., T],
    jobs: Sequence[tuple[Any, ...]],
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[T]:
    """``[fn(*job) for job in jobs]`` with up to ``workers`` processes (spawned: a forked child
    can inherit ITK's threads in a locked state); ``progress(done, total)`` after each job.
    The first failure cancels the jobs not yet started and is raised."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    report = progress or (lambda done, total: None)
    if workers == 1 or len(jobs) < 2:
        results = []
        for job in jobs:
            results.append(fn(*job))
            report(len(results), len(jobs))
        return results
    slots: list[Any] = [None] * len(jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        futures = {pool.submit(_call, fn, job): k for k, job in enumerate(jobs)}
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                slots[futures[future]] = future.result()
                report(done, len(jobs))
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return slots
