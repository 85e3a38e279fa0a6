"""Process-wide CLI settings set by the root options (``--debug``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CliState:
    """``debug``: show tracebacks instead of one-line errors."""

    debug: bool = False


STATE = CliState()
