"""Entry point: runs the typer app and turns known errors into one line and exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer
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


def _usage_error(exc: Exception) -> tuple[str, int] | None:
    """A command-line usage error of typer's bundled click (wrong option, bad value), as one
    line with a pointer to the help, and its exit status; None for any other exception."""
    if not (hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)):
        return None
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "stenosis"
    message = exc.format_message().strip()  # empty when the help was shown for a bare command
    return (f"{message} (see '{command} --help')" if message else ""), exc.exit_code


def _error(message: str) -> None:
    err_console.print(f"[bold red]stenosis: error:[/] {escape(' '.join(message.split()))}", highlight=False)


def run(argv: Sequence[str] | None = None) -> int:
    """Run ``stenosis`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status.

    Known errors (bad input, missing files, unbuilt subcommands, invalid values, usage errors)
    print ``stenosis: error: <one line>`` on stderr and return 2; with ``--debug`` they raise,
    so the traceback shows.
    """
    STATE.debug = False
    try:
        result = app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="stenosis", standalone_mode=False)
    except KNOWN_ERRORS as exc:
        if STATE.debug:
            raise
        _error(_message(exc))
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, typer.Abort):
        err_console.print("stenosis: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        usage = _usage_error(exc)
        if usage is None or STATE.debug:
            raise
        if usage[0]:
            _error(usage[0])
        return usage[1]
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
