"""docker-compose.yml is a valid team deployment: checked by Debian's docker-compose itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SIGN_IN = {
    "DEALER360_OIDC_ISSUER": "https://sso.example.com/realms/dealers",
    "DEALER360_OIDC_CLIENT_ID": "dealer360",
    "DEALER360_OIDC_CLIENT_SECRET": "from-the-environment",
    "DEALER360_COOKIE_SECRET": "from-the-environment-as-well",
}


def _config(env: dict[str, str], without: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`docker-compose config` with `env` added to this environment and `without` taken out."""
    return subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        env={k: v for k, v in (os.environ | env).items() if k not in without},
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def compose() -> dict:
    if shutil.which("docker-compose") is None:
        pytest.fail(
            "docker-compose is missing: `make test` installs it (Debian package docker-compose)"
        )
    result = _config({"POSTGRES_PASSWORD": "from-the-environment"} | SIGN_IN)
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
    result = _config(SIGN_IN, without=("POSTGRES_PASSWORD",))
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD" in result.stderr


def test_compose_publishes_ports_on_localhost_only(compose: dict) -> None:
    for service in compose["services"].values():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), port


def test_compose_serves_the_dashboard_behind_sign_in(compose: dict) -> None:
    dashboard = compose["services"]["dashboard"]
    assert dashboard["command"][2:4] == ["--host", "0.0.0.0"]  # hence sign-in is required
    assert {k: dashboard["environment"][k] for k in SIGN_IN} == SIGN_IN
    assert dashboard["environment"]["DEALER360_PUBLIC_URL"] == "http://localhost:8501"
    assert dashboard["environment"]["DATABASE_URL"].endswith("@postgres:5432/dealer360")


@pytest.mark.parametrize("missing", sorted(SIGN_IN))
def test_compose_refuses_a_dashboard_without_sign_in(missing: str) -> None:
    result = _config({"POSTGRES_PASSWORD": "from-the-environment"} | SIGN_IN, without=(missing,))
    assert result.returncode != 0
    assert f"set {missing}" in result.stderr
