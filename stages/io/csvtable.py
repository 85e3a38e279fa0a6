"""Reading a CSV table with a header row into validated columns, each defect an
:class:`~stages.errors.InputError` naming the file, the line (header = line 1) and the column."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stages.errors import InputError

_INTEGER = r"[+-]?\d+"
_PADDING = re.compile(rb"[ \t][,\r\n]|[,\n][ \t]|^[ \t]|[ \t]$")


def read_table(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """All cells as stripped strings, columns named by the header, index = the line number of
    each row in the file; blank lines skipped. Raises on a missing, unreadable, empty or
    ragged file, on repeated or missing columns and on a table without rows."""
    if not path.is_file():
        raise InputError(path, "file does not exist" if not path.exists() else "not a file")
    header = _header(path)
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(path, f"column '{repeated[0]}' appears more than once in the header")
    for column in required:
        if column not in header:
            hint = next((f"; the header looks {name}-separated, the tables are comma-separated"
                         for sep, name in ((";", "semicolon"), ("\t", "tab")) if len(header) == 1 and sep in header[0]), "")
            raise InputError(path, f"missing column '{column}' (columns found: {', '.join(header)}{hint})")
    try:
        raw = pd.read_csv(
            path, dtype=str, header=None, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig"
        )
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found is None:
            raise InputError(path, f"malformed CSV: {' '.join(str(exc).split())}") from None
        expected, line, saw = map(int, found.groups())
        raise InputError(path, f"malformed CSV: {saw} fields where the header has {expected}", line=line) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise InputError(path, f"cannot read table: {exc}") from None
    table = raw.iloc[1:].set_axis(header, axis=1)
    if _has_padding(path):
        table = table.apply(lambda col: col.str.strip())
    table.index = pd.RangeIndex(2, 2 + len(table))
    table = table[(table != "").any(axis=1)]
    if table.empty:
        raise InputError(path, "table has a header but no rows")
    return table


def _has_padding(path: Path) -> bool:
    """Whether any cell may start or end with a space or tab (a cheap scan of the bytes, so
    the common unpadded table skips stripping every cell)."""
    return _PADDING.search(path.read_bytes()) is not None


def _header(path: Path) -> list[str]:
    """The stripped cells of the first line; raises when there is none."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = [cell.strip() for cell in next(csv.reader(handle), [])]
    except (csv.Error, UnicodeDecodeError, OSError) as exc:
        raise InputError(path, f"cannot read table: {exc}") from None
    if not any(header):
        raise InputError(path, "file is empty (a header row is required)")
    return header


def text_column(table: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """A column of non-empty strings."""
    values = table[column]
    empty = values == ""
    if empty.any():
        raise InputError(path, "empty value", line=int(values.index[empty.argmax()]), field=column)
    return values


def integer_column(table: pd.DataFrame, column: str, path: Path, *, allow_empty: bool = False) -> pd.Series:
    """A column of integers (int64); empty cells become 0 when ``allow_empty``."""
    values = table[column]
    ok = values.str.fullmatch(_INTEGER)
    if allow_empty:
        ok |= values == ""
    if not ok.all():
        bad = values.index[(~ok).argmax()]
        what = "missing value" if values[bad] == "" else f"expected an integer, got '{values[bad]}'"
        raise InputError(path, what, line=int(bad), field=column)
    return values.replace("", "0").astype(np.int64)


def number_column(table: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """A column of finite floats."""
    values = table[column]
    parsed = pd.to_numeric(values, errors="coerce").astype(np.float64)
    not_number = parsed.isna() & ~values.str.lower().isin(("nan", "-nan", "+nan"))
    if not_number.any():
        bad = values.index[not_number.argmax()]
        what = "missing value" if values[bad] == "" else f"expected a number, got '{values[bad]}'"
        raise InputError(path, what, line=int(bad), field=column)
    not_finite = ~np.isfinite(parsed.to_numpy())
    if not_finite.any():
        bad = values.index[not_finite.argmax()]
        raise InputError(path, f"value is not finite ({values[bad]})", line=int(bad), field=column)
    return parsed


def check_unique(values: pd.Series, path: Path, column: str) -> None:
    """Raise at the second occurrence of any repeated value, naming the first."""
    duplicated = values.duplicated()
    if duplicated.any():
        line = int(values.index[duplicated.argmax()])
        first = int(values.index[(values == values[line]).argmax()])
        raise InputError(path, f"duplicate {column} '{values[line]}' (first on line {first})", line=line, field=column)
