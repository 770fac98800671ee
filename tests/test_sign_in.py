"""Sign-in settings and `dealer360 dashboard`'s rule: without sign-in, loopback only.

No database and no server here: the command is stopped just before it would start Streamlit,
and what it would have started with is checked. The browser tests against a real OpenID
Connect provider are in tests/dashboard/test_dashboard_sign_in.py.
"""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dealer360 import cli, db
from dealer360.settings import SIGN_IN_VARIABLES, get_sign_in, is_loopback

runner = CliRunner()
COOKIE_SECRET = "c" * 40
SIGN_IN = {
    "DEALER360_OIDC_ISSUER": "https://login.example.com/realms/dealers/",
    "DEALER360_OIDC_CLIENT_ID": "dealer360",
    "DEALER360_OIDC_CLIENT_SECRET": 'se"cret\\with\nodd = [chars]',
    "DEALER360_COOKIE_SECRET": COOKIE_SECRET,
}


@pytest.fixture(autouse=True)
def no_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*SIGN_IN_VARIABLES, "DEALER360_PUBLIC_URL", "DEALER360_DASHBOARD_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """What `dealer360 dashboard` would have started: its command and its secrets file, read
    while the server would be running."""
    seen: list[dict] = []

    def serve(command: list[str]) -> int:
        secrets = Path(command[command.index("--secrets.files") + 1])
        seen.append(
            {
                "command": command,
                "path": secrets,
                "mode": stat.S_IMODE(secrets.stat().st_mode),
                "dir_mode": stat.S_IMODE(secrets.parent.stat().st_mode),
                "secrets": tomllib.loads(secrets.read_text()),
            }
        )
        return 0

    monkeypatch.setattr(cli, "_serve", serve)
    monkeypatch.setattr(db, "connect_checked", lambda *a, **k: None)
    return seen


def dashboard(*args: str):
    return runner.invoke(cli.app, ["dashboard", *args])


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "dashboard.example.com"])
def test_without_sign_in_the_dashboard_refuses_any_address_but_loopback(host: str, started):
    result = dashboard("--host", host)
    assert result.exit_code == 1
    assert f"Refusing to serve the dashboard on {host} without sign-in" in result.output
    assert "Traceback" not in result.output and not started
    assert len(result.output.strip().splitlines()) == 1


def test_without_sign_in_the_dashboard_serves_loopback_with_no_auth_secrets(started):
    assert dashboard().exit_code == 0
    (run,) = started
    assert run["command"][run["command"].index("--server.address") + 1] == "127.0.0.1"
    assert run["secrets"] == {}  # not even a stray ~/.streamlit/secrets.toml is read
    assert not run["path"].exists()


def test_with_sign_in_the_secrets_are_private_and_point_at_the_provider(
    started, monkeypatch: pytest.MonkeyPatch
):
    for name, value in SIGN_IN.items():
        monkeypatch.setenv(name, value)
    result = dashboard("--host", "0.0.0.0", "--port", "8600")
    assert result.exit_code == 0, result.output
    (run,) = started
    assert run["mode"] == 0o600 and run["dir_mode"] == 0o700
    assert run["secrets"]["auth"] == {
        "redirect_uri": "http://localhost:8600/oauth2callback",
        "cookie_secret": COOKIE_SECRET,
        "client_id": "dealer360",
        "client_secret": SIGN_IN["DEALER360_OIDC_CLIENT_SECRET"],
        "server_metadata_url": "https://login.example.com/realms/dealers"
        "/.well-known/openid-configuration",
    }
    assert not run["path"].exists(), "the secrets outlived the server"
    assert COOKIE_SECRET not in result.output


def test_behind_a_proxy_people_come_back_to_the_public_address(
    started, monkeypatch: pytest.MonkeyPatch
):
    for name, value in SIGN_IN.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DEALER360_PUBLIC_URL", "https://crm.example.com/")
    assert dashboard("--host", "0.0.0.0").exit_code == 0
    assert started[0]["secrets"]["auth"]["redirect_uri"] == "https://crm.example.com/oauth2callback"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"DEALER360_OIDC_CLIENT_SECRET": "", "DEALER360_COOKIE_SECRET": ""},
            "Sign-in is half configured: set DEALER360_OIDC_CLIENT_SECRET,"
            " DEALER360_COOKIE_SECRET as well.",
        ),
        ({"DEALER360_COOKIE_SECRET": "short"}, "DEALER360_COOKIE_SECRET must be at least 32"),
        (
            {"DEALER360_OIDC_ISSUER": "http://login.example.com"},
            "DEALER360_OIDC_ISSUER must use https",
        ),
        ({"DEALER360_OIDC_ISSUER": "login.example.com"}, "must be an http(s) address"),
    ],
)
def test_a_bad_sign_in_setting_is_one_sentence(
    changes: dict, message: str, started, monkeypatch: pytest.MonkeyPatch
):
    for name, value in (SIGN_IN | changes).items():
        monkeypatch.setenv(name, value)
    result = dashboard()
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output and not started


def test_a_local_provider_may_use_plain_http(monkeypatch: pytest.MonkeyPatch):
    for name, value in (SIGN_IN | {"DEALER360_OIDC_ISSUER": "http://localhost:9400"}).items():
        monkeypatch.setenv(name, value)
    sign_in = get_sign_in()
    assert sign_in.server_metadata_url == "http://localhost:9400/.well-known/openid-configuration"
    assert "secret" not in repr(sign_in)


def test_sign_in_does_not_mix_with_a_fixed_database_role(started, monkeypatch):
    for name, value in SIGN_IN.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DEALER360_DASHBOARD_URL", "postgresql://d01:p@localhost/dealer360")
    result = dashboard()
    assert result.exit_code == 1 and "DEALER360_DASHBOARD_URL cannot be used" in result.output


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.com"]))
