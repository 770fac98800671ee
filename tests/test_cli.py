"""The `dealer360` command: help everywhere, and user mistakes as one sentence, not a traceback."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from dealer360.cli import app

runner = CliRunner()


def _command_paths(command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    if hasattr(command, "commands"):  # a group (typer vendors its own click)
        for name, sub in command.commands.items():
            paths += _command_paths(sub, (*prefix, name))
    return paths


COMMANDS = _command_paths(typer.main.get_command(app))


def test_the_output_contract_commands_exist() -> None:
    names = {" ".join(p) for p in COMMANDS}
    assert {"run", "generate", "db url", "db stop", "dashboard", "export links"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "dealer360")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_a_missing_inbox_is_one_sentence_not_a_traceback(tmp_path, database_url) -> None:
    result = runner.invoke(app, ["run", "--inbox", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "nope" in result.output and "Traceback" not in result.output


def test_an_unreachable_database_is_one_sentence(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:1/x")
    result = runner.invoke(app, ["db", "url"])
    # `db url` only prints the URL; reaching the database is the job of commands that use it.
    assert result.exit_code == 0 and "127.0.0.1:1/x" in result.output
    result = runner.invoke(app, ["dashboard", "--port", "1"])
    assert result.exit_code == 1
    assert "Cannot reach the database" in result.output and "Traceback" not in result.output
