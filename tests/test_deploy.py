"""docker-compose.yml is a valid team deployment: checked by Debian's docker-compose itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _config(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def compose() -> dict:
    if shutil.which("docker-compose") is None:
        pytest.fail(
            "docker-compose is missing: `make test` installs it (Debian package docker-compose)"
        )
    result = _config({"POSTGRES_PASSWORD": "from-the-environment"})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_runs_postgres_dagster_webserver_daemon_and_dashboard(compose: dict) -> None:
    assert set(compose["services"]) == {
        "postgres",
        "dagster-webserver",
        "dagster-daemon",
        "dashboard",
    }
    assert compose["services"]["dagster-daemon"]["command"][:2] == ["dagster-daemon", "run"]
    assert compose["services"]["dashboard"]["command"][:2] == ["dealer360", "dashboard"]


def test_compose_mounts_the_inbox_and_points_every_app_at_the_same_database(compose: dict) -> None:
    for name in ("dagster-webserver", "dagster-daemon", "dashboard"):
        service = compose["services"][name]
        assert service["environment"]["DATABASE_URL"].endswith("@postgres:5432/dealer360")
        assert any(
            v.endswith(":/inbox:rw") or v.endswith(":/inbox") for v in map(str, service["volumes"])
        )


def test_compose_takes_the_password_from_the_environment_not_the_repo() -> None:
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD" in result.stderr


def test_compose_publishes_ports_on_localhost_only(compose: dict) -> None:
    for service in compose["services"].values():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), port
