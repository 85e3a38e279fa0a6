"""Errors the library raises for bad input; the CLI turns them into one line and exit status 2."""

from __future__ import annotations

from os import PathLike


class StenosisError(Exception):
    """A known failure that a user can fix (bad input, missing file, unbuilt feature)."""


class InputError(StenosisError):
    """Bad input: names the file and, where known, the CSV line and the column (field).

    ``line`` is the 1-based line number in the file as a text editor shows it (the header of a
    CSV table is line 1, its first data row line 2).
    """

    def __init__(
        self,
        file: str | PathLike[str],
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.reason = message
        where = [self.file]
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"column '{field}'")
        super().__init__(": ".join(where) + ": " + message)

