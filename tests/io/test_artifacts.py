"""Atomic writes and provenance stamps of HDF5 artifacts."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from stages.io.artifacts import (
    SCHEMA_VERSION, atomic_output, content_hash, is_up_to_date, provenance, read_provenance, write_h5, write_text,
)


def test_killed_writer_leaves_no_file_under_final_name(tmp_path: Path) -> None:
    final = tmp_path / "artifact.h5"
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from stages.io.artifacts import provenance, write_h5
        with write_h5({str(final)!r}, provenance("test", {{}}, {{}})) as h5:
            h5["a"] = np.zeros((256, 256, 64), np.float32)
            h5.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    assert result.returncode == -9
    assert not final.exists()
    leftovers = list(tmp_path.iterdir())
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".artifact.h5.tmp-")
    assert leftovers[0].stat().st_size > 1_000_000  # the writer really was mid-way


def test_failed_block_keeps_previous_file_and_cleans_up(tmp_path: Path) -> None:
    final = tmp_path / "table.csv"
    write_text(final, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_output(final) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert final.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_write_h5_stamps_schema_and_provenance(tmp_path: Path) -> None:
    source = tmp_path / "input.bin"
    source.write_bytes(b"abc")
    prov = provenance("scpr", {"step": 0.5, "frame": "rmf"}, {"image": source})
    with write_h5(tmp_path / "out.h5", prov) as h5:
        h5["x"] = np.arange(3)
    with h5py.File(tmp_path / "out.h5") as h5:
        assert h5.attrs["schema_version"] == SCHEMA_VERSION
        assert h5.attrs["kind"] == "scpr"
        np.testing.assert_array_equal(h5["x"][()], [0, 1, 2])
    stored = read_provenance(tmp_path / "out.h5")
    assert stored["params"] == {"frame": "rmf", "step": 0.5}
    assert stored["input_hashes"]["image"] == hashlib.sha256(b"abc").hexdigest()
    assert stored["inputs"]["image"] == str(source)


def test_up_to_date_only_for_same_inputs_and_parameters(tmp_path: Path) -> None:
    source = tmp_path / "input.bin"
    source.write_bytes(b"abc")
    out = tmp_path / "out.h5"
    prov = provenance("scpr", {"step": 0.5}, {"image": source})
    assert not is_up_to_date(out, prov)
    with write_h5(out, prov):
        pass
    assert is_up_to_date(out, provenance("scpr", {"step": 0.5}, {"image": source}))
    assert not is_up_to_date(out, provenance("scpr", {"step": 0.25}, {"image": source}))
    assert not is_up_to_date(out, provenance("patch", {"step": 0.5}, {"image": source}))
    source.write_bytes(b"abd")
    assert not is_up_to_date(out, provenance("scpr", {"step": 0.5}, {"image": source}))


def test_folder_hash_sees_names_and_bytes(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.dcm").write_bytes(b"1")
    (tmp_path / "s" / "b.dcm").write_bytes(b"2")
    first = content_hash(tmp_path / "s")
    (tmp_path / "s" / "b.dcm").write_bytes(b"3")
    second = content_hash(tmp_path / "s")
    (tmp_path / "s" / "b.dcm").rename(tmp_path / "s" / "c.dcm")
    assert len({first, second, content_hash(tmp_path / "s")}) == 3


def test_unstamped_or_missing_file_has_no_provenance(tmp_path: Path) -> None:
    assert read_provenance(tmp_path / "none.h5") is None
    with h5py.File(tmp_path / "plain.h5", "w"):
        pass
    assert read_provenance(tmp_path / "plain.h5") is None
    (tmp_path / "junk.h5").write_text("junk")
    assert read_provenance(tmp_path / "junk.h5") is None
