"""Entry point: runs the typer app and turns known errors into one line and exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.markup import escape

from stages.errors import StenosisError
from stenosis_cli.app import app
from stenosis_cli.console import err_console
from stenosis_cli.state import STATE

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
KNOWN_ERRORS = (StenosisError, OSError, ValueError)


def _message(exc: BaseException) -> str:
    """One line: a file system error names its file; any other error is its own text."""
    if isinstance(exc, OSError) and exc.filename is not None and not isinstance(exc, StenosisError):
        return f"{exc.filename}: {exc.strerror or exc}"
    return " ".join(str(exc).split()) or type(exc).__name__


def run(argv: Sequence[str] | None = None) -> int:
    """Run ``stenosis`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    Known errors (bad input, missing files, unbuilt subcommands, invalid values) print
    ``stenosis: error: <one line>`` on stderr and return 2; with ``--debug`` they raise, so the
    traceback shows.
    """
    STATE.debug = False
    try:
        app(args=list(argv) if argv is not None else None, prog_name="stenosis")
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KNOWN_ERRORS as exc:
        if STATE.debug:
            raise
        err_console.print(f"[bold red]stenosis: error:[/] {escape(_message(exc))}", highlight=False)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err_console.print("stenosis: interrupted")
        return EXIT_INTERRUPTED
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
