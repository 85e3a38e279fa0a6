"""Rich output on stderr and progress bars that appear only on a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import sys
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

# In a pipe or a log file rich would assume 80 columns and truncate table headers.
err_console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


def show_progress(quiet: bool) -> bool:
    """Progress bars only on an interactive terminal and without ``--quiet``."""
    return not quiet and err_console.is_terminal


@contextmanager
def progress_callback(description: str, quiet: bool) -> Iterator[Callable[..., None]]:
    """A ``(done, total[, status])`` callback for a stage function, drawing a rich bar on
    stderr (``status`` after the description) when :func:`show_progress` allows, else doing
    nothing."""
    if not show_progress(quiet):
        yield lambda done, total, status="": None
        return
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task(description, total=None)
        yield lambda done, total, status="": bar.update(
            task, completed=done, total=total, description=f"{description} {status}".strip()
        )
