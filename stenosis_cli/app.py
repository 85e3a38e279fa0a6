"""The typer application: root options and the subcommands, in pipeline order."""

from __future__ import annotations

from typing import Annotated

import typer

import stages
from stenosis_cli.commands import build_dataset, crop_ccta, demo, evaluate, extract_scpr, gradcam, predict, synth, train, validate
from stenosis_cli.state import STATE

app = typer.Typer(
    name="stenosis",
    help=(
        "Grade coronary stenoses on the CAD-RADS scale (1-5) from CCTA with curved feature "
        "reconstruction: 3D SCPR + CCTA patch, two 3D ResUNets, a grade transformer and the "
        "clinical risk-aware loss."
    ),
    epilog="Example: stenosis synth --out cohort --cases 20 --seed 0",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stenosis {stages.__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
) -> None:
    """Root options, parsed before any subcommand."""
    STATE.debug = debug


# Every subcommand, in pipeline order.
COMMANDS = (synth, validate, extract_scpr, crop_ccta, build_dataset, train, predict, evaluate, gradcam, demo)
for _command in COMMANDS:
    _command.register(app)
