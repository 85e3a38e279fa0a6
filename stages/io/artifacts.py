"""Artifacts on disk: atomic writes, HDF5 files stamped with schema version and provenance.

Every file is written under a temporary name in its final folder and renamed into place when
complete, so an interrupted run never leaves a truncated file under the final name. Every HDF5
artifact records what made it (tool version, parameters, input paths and content hashes) so a
rerun with the same inputs and parameters can skip the work and one with different inputs
cannot reuse a stale file.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py

import stages

SCHEMA_VERSION = 2
_HASH_CHUNK = 1 << 20


@contextmanager
def atomic_output(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it to ``final`` when the block ends.

    The parent folder is created. If the block raises, the temporary file is removed and
    ``final`` is left as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically (UTF-8, ``\\n`` line ends)."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")


def content_hash(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes, or of a folder's files (relative names and bytes,
    in sorted order, e.g. a DICOM series)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def provenance(kind: str, params: Mapping[str, Any], inputs: Mapping[str, str | Path]) -> dict[str, Any]:
    """What made an artifact: its kind, the tool version, schema version, the parameters
    (JSON-serialisable) and each named input's path and content hash."""
    return {
        "kind": kind,
        "schema_version": SCHEMA_VERSION,
        "tool_version": stages.__version__,
        "params": json.loads(json.dumps(dict(params), sort_keys=True)),
        "inputs": {name: str(Path(p)) for name, p in sorted(inputs.items())},
        "input_hashes": {name: content_hash(p) for name, p in sorted(inputs.items())},
    }


def _reuse_key(prov: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a provenance record that decides whether an artifact is still valid."""
    return {k: prov.get(k) for k in ("kind", "schema_version", "tool_version", "params", "input_hashes")}


@contextmanager
def write_h5(final: str | Path, prov: Mapping[str, Any]) -> Iterator[h5py.File]:
    """Open a new HDF5 file for writing under a temporary name, stamp ``prov`` onto its root
    (``schema_version``, ``kind``, ``tool_version`` and a JSON ``provenance`` attribute), and
    rename it to ``final`` when the block ends without error."""
    with atomic_output(final) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.attrs["schema_version"] = SCHEMA_VERSION
            h5.attrs["kind"] = str(prov["kind"])
            h5.attrs["tool_version"] = str(prov["tool_version"])
            h5.attrs["provenance"] = json.dumps(dict(prov), sort_keys=True)
            yield h5


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The provenance stamped on an HDF5 artifact, or None when the file is missing,
    unreadable or unstamped."""
    try:
        with h5py.File(path, "r") as h5:
            raw = h5.attrs.get("provenance")
    except (OSError, KeyError):
        return None
    if raw is None:
        return None
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def is_up_to_date(path: str | Path, prov: Mapping[str, Any]) -> bool:
    """True when the artifact at ``path`` was made by the same tool and schema version, from
    inputs with the same content and with the same parameters as ``prov`` describes."""
    stored = read_provenance(path)
    return stored is not None and _reuse_key(stored) == _reuse_key(prov)
