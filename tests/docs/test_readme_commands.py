"""The commands the README, the examples' README and the walk-through show: each parses against the real command
line (subcommand and every option exist, values convert, nothing required is missing), and
the README's test command is the one CI runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from stenosis_cli.app import app

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
WALKTHROUGH = ROOT / "examples" / "walkthrough.sh"
EXAMPLES_README = ROOT / "examples" / "README.md"
SHELL_VARIABLES = {"$WORK": "work", "$CONFIG": "examples/configs/demo.yaml", "$RESUME": "",
                   "$SLURM_ARRAY_TASK_ID": "0", "$SLURM_ARRAY_TASK_COUNT": "4"}


def _code_lines(markdown: str) -> list[str]:
    """The lines of the ```bash blocks, with backslash continuations joined."""
    blocks = re.findall(r"```bash\n(.*?)```", markdown, flags=re.S)
    return [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def _stenosis_commands(lines: list[str]) -> list[list[str]]:
    """Every ``stenosis ...`` invocation in ``lines`` (split at ``&&``, comments dropped)."""
    commands = []
    for line in lines:
        for part in line.split("&&"):
            part = part.split(" #")[0].strip()
            for name, value in SHELL_VARIABLES.items():
                part = part.replace(f'"{name}', f'"{value}').replace(name, value)
            words = shlex.split(part)
            if words and words[0] == "stenosis":
                commands.append(words[1:])
    return commands


def _parses(args: list[str]) -> None:
    """Parse ``args`` the way `stenosis` would, without running the command."""
    group = typer.main.get_command(app)
    parent = typer.Context(group, info_name="stenosis")
    command = group.get_command(parent, args[0])
    assert command is not None, f"no subcommand {args[0]}"
    with command.make_context(args[0], list(args[1:]), parent=parent):
        pass


def _walkthrough_lines() -> list[str]:
    text = WALKTHROUGH.read_text().replace("\\\n", " ")
    return [line.split("|| ")[-1].strip() for line in text.splitlines() if "stenosis " in line and not line.startswith("#")]


def _inline_examples(markdown: str) -> list[str]:
    """Inline code spans that are whole ``stenosis`` invocations with arguments (not a bare
    command name in prose, not elided with ``...``)."""
    spans = re.findall(r"`(stenosis [^`]+)`", markdown)
    return [" ".join(span.split()) for span in spans if "..." not in span and "[" not in span and len(span.split()) > 2]


README_COMMANDS = _stenosis_commands(_code_lines(README.read_text()) + _inline_examples(README.read_text()))
WALKTHROUGH_COMMANDS = _stenosis_commands(_walkthrough_lines()) + _stenosis_commands(_code_lines(EXAMPLES_README.read_text()))


def test_the_readme_shows_every_subcommand() -> None:
    shown = {args[0] for args in README_COMMANDS}
    group = typer.main.get_command(app)
    assert shown >= set(group.list_commands(None)), sorted(set(group.list_commands(None)) - shown)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", README_COMMANDS + WALKTHROUGH_COMMANDS, ids=lambda a: " ".join(a)[:60])
def test_command_parses(args: list[str]) -> None:
    _parses(args)


def test_a_wrong_option_would_be_caught() -> None:
    with pytest.raises(Exception, match="No such option"):
        _parses(["train", "--dataset", "d.h5", "--out", "r", "--learning-rate", "1"])


def test_first_block_is_install_and_demo_then_the_ci_test_command() -> None:
    first = _code_lines(README.read_text())[:2]
    assert "stenosis demo" in first[0] and first[0].startswith("pip install")
    test_command = first[1].split("&&")[-1].strip().replace("python3 ", "python ")
    assert test_command in (ROOT / ".ci" / "run").read_text().replace("python3 ", "python ")
