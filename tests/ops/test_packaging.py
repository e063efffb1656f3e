"""The Dockerfile and compose.yaml cannot be run here (no container runtime), so this checks
that every `redcard` command and option they name exists, and that the docs name them too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer.main
import yaml

from redcard.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[list[str]]:
    found: list[list[str]] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD "):
            found.append(json.loads(line[4:]))
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for service in compose["services"].values():
        command = service.get("command")
        if isinstance(command, list) and command and command[0] == "redcard":
            found.append(command)
    return found


def _check(argv: list[str]) -> None:
    """Walk the command line through the CLI's own definition, refusing what it lacks."""
    command = typer.main.get_command(app)
    args = argv[1:]
    while hasattr(command, "commands"):  # a group: the next word names a subcommand
        name, args = args[0], args[1:]
        sub = command.commands.get(name)
        assert sub is not None, f"{' '.join(argv)}: no command {name!r}"
        command = sub
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for arg in args:
        if arg.startswith("--"):
            assert arg in options, f"{' '.join(argv)}: {command.name} has no option {arg}"


def test_the_packaging_names_only_commands_that_exist() -> None:
    commands = _commands()
    named = {" ".join(c[:2]) for c in commands}
    assert {"redcard serve", "redcard worker", "redcard db"} <= named
    for argv in commands:
        _check(argv)


def test_the_deploy_guide_names_only_commands_that_exist() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()
    lines = re.findall(r"`(redcard [a-z][^`]*)`", text)
    assert len(lines) >= 4
    for line in lines:
        _check([w for w in line.split() if not w.isupper()])  # N, PORT: placeholders


def test_an_unknown_option_is_caught() -> None:
    with pytest.raises(AssertionError, match="--threads"):
        _check(["redcard", "serve", "--threads", "4"])
    with pytest.raises(AssertionError, match="no command 'deploy'"):
        _check(["redcard", "deploy"])
