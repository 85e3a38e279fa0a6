"""The command line: help, version, one-line errors, --debug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stenosis_cli.main import run

DESIGN_COMMANDS = [
    "synth", "extract-scpr", "crop-ccta", "build-dataset", "train", "predict", "evaluate", "gradcam", "demo",
]


def _stenosis(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script's module, as a user would run it, in a pipe."""
    code = "from stenosis_cli.main import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env={"COLUMNS": "200", "PATH": ""})


def test_help_lists_every_design_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    for name in DESIGN_COMMANDS:
        assert f" {name} " in out, name


@pytest.mark.parametrize("name", [*DESIGN_COMMANDS, "validate"])
def test_every_subcommand_help_shows_an_example(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"Example: stenosis {name}" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import stages

    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"stenosis {stages.__version__}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["synth", "--cases", "0", "--out", "x"], "Invalid value for '--cases'"),
        (["synth"], "Missing option '--out'"),
        (["no-such-command"], "No such command 'no-such-command'"),
        (["evaluate", "p.csv", "--bootstrap", "many"], "Invalid value for '--bootstrap'"),
    ],
)
def test_usage_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert run(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("stenosis: error: ") and message in err, err
    assert "--help')" in err


def test_error_in_a_pipe_is_one_line_without_traceback(tmp_path: Path) -> None:
    result = _stenosis("validate", "--manifest", str(tmp_path / "missing.csv"))
    assert result.returncode == 2
    assert result.stderr == f"stenosis: error: {tmp_path / 'missing.csv'}: file does not exist\n"
    assert result.stdout == ""


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = _stenosis("--debug", "validate", "--manifest", str(tmp_path / "missing.csv"))
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "InputError" in result.stderr
