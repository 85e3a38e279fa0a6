"""`stenosis demo`: the whole pipeline on a small phantom cohort, on CPU, from nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from stenosis_cli.console import err_console, show_progress
from stenosis_cli.options import Quiet, Workers

HEADLINE = ("qwk", "mae", "amae", "mcre", "amcre")


@contextmanager
def _stage_view(stages: tuple[str, ...], quiet: bool) -> Iterator[tuple[Callable[..., None], Callable[..., None]]]:
    """One rich progress view, a row per stage: ``(progress, event)`` callbacks for
    :func:`stages.demo.run.run_demo`. Without a terminal (or with ``--quiet``) a line per
    finished stage instead (none with ``--quiet``)."""
    if not show_progress(quiet):
        def line(stage: str, what: str, seconds: float) -> None:
            if not quiet and what != "start":
                err_console.print(f"{stage}: {'reused' if what == 'reused' else f'done in {seconds:.1f} s'}")
        yield (lambda *_: None), line
        return
    columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console) as view:
        rows = {stage: view.add_task(f"  {stage}", total=None, start=False) for stage in stages}

        def progress(stage: str, done: int, total: int, status: str = "") -> None:
            view.update(rows[stage], completed=done, total=total, description=f"▶ {stage} {status}".rstrip())

        def event(stage: str, what: str, seconds: float) -> None:
            if what == "start":
                view.start_task(rows[stage])
                view.update(rows[stage], description=f"▶ {stage}")
                return
            view.update(rows[stage], total=1, completed=1,
                        description=f"✓ {stage} ({'reused' if what == 'reused' else f'{seconds:.0f} s'})")
            view.stop_task(rows[stage])

        yield progress, event


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the cohort, dataset, run, predictions, report and figures.")] = Path("stenosis-demo"),
    cases: Annotated[int, typer.Option("--cases", "-n", min=3, help="Phantom cases to synthesise.")] = 40,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Training epochs (default: the demo config's).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the cohort, the split and the Grad-CAM draw.")] = 0,
    gradcam: Annotated[int, typer.Option("--gradcam", min=0, help="Test instances to explain with Grad-CAM.")] = 4,
    workers: Workers = 2,
    quiet: Quiet = False,
) -> None:
    """Synthesise a phantom cohort, build the dataset, train the demo config, predict and
    evaluate the test split and draw Grad-CAM figures; a rerun reuses what is done."""
    from stages.demo.run import STAGES, DemoSettings, run_demo  # torch loads only for the commands that need it

    overrides = (f"optim.epochs={epochs}", f"optim.warmup_epochs={min(epochs, 2)}") if epochs else ()
    settings = DemoSettings(cases=cases, seed=seed, overrides=overrides, gradcam=gradcam, workers=workers)
    with _stage_view(STAGES if gradcam else STAGES[:-1], quiet) as (progress, event):
        result = run_demo(out, settings, progress=progress, event=event)
    if quiet:
        return
    table = Table(title=f"test split: {result.report['n']} instances")
    table.add_column("predictor")
    for key in HEADLINE:
        table.add_column(key.upper(), justify="right")
    table.add_row("CFR model (demo config)", *(f"{result.report[k]:.3f}" for k in HEADLINE))
    table.add_row(f"always grade {result.majority_grade}", *(f"{result.majority_report[k]:.3f}" for k in HEADLINE))
    err_console.print(table)
    err_console.print(f"stage times: " + ", ".join(
        f"{s} {'reused' if result.reused[s] else f'{t:.0f} s'}" for s, t in result.seconds.items()))
    err_console.print(f"report: {', '.join(str(p) for p in result.report_files)}")
    if result.figures:
        err_console.print(f"Grad-CAM figures: {out / 'gradcam'} ({len(result.figures)} PNGs, panel.png side by side)")


def register(app: typer.Typer) -> None:
    """Add `demo` to ``app``."""
    app.command(
        "demo",
        help="Run the whole pipeline on a small phantom cohort on CPU (about 4 minutes on 2 cores).",
        epilog="Example: stenosis demo --out stenosis-demo   (tiny smoke run: stenosis demo --cases 6 --epochs 1)",
    )(demo)
