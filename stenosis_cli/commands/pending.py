"""Subcommands of DESIGN.md that are not built yet: they say so and exit 2."""

from __future__ import annotations

import typer

from stages.errors import NotImplementedYet

# name -> (one-line purpose, example invocation), in pipeline order
PENDING: dict[str, tuple[str, str]] = {
    "demo": (
        "The whole pipeline on a small phantom cohort, on CPU.",
        "stenosis demo --out demo-out",
    ),
}


def _make(name: str):
    def command(ctx: typer.Context) -> None:
        raise NotImplementedYet(f"'stenosis {name}'")

    return command


def register(app: typer.Typer, name: str) -> None:
    """Add the pending subcommand ``name`` to ``app``; it accepts any arguments and exits 2."""
    purpose, example = PENDING[name]
    app.command(
        name,
        help=f"{purpose} [not implemented yet]",
        epilog=f"Example: {example}",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(_make(name))
