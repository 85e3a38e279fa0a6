"""The typer application: root options and the subcommands, in pipeline order."""

from __future__ import annotations

from typing import Annotated

import typer

import stages
from stenosis_cli.commands import build_dataset, crop_ccta, evaluate, extract_scpr, gradcam, pending, predict, synth, train, validate
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


# Every subcommand, in pipeline order; those without a module here are not built yet.
ORDER = ("synth", "validate", "extract-scpr", "crop-ccta", "build-dataset", "train", "predict", "evaluate", "gradcam", "demo")
BUILT = {"synth": synth, "validate": validate, "extract-scpr": extract_scpr, "crop-ccta": crop_ccta, "build-dataset": build_dataset, "train": train, "predict": predict, "evaluate": evaluate, "gradcam": gradcam}
for _name in ORDER:
    if _name in BUILT:
        BUILT[_name].register(app)
    else:
        pending.register(app, _name)
