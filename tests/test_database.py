"""The embedded PostgreSQL: starts with no configuration, is shared, survives races, stops on request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from dealer360 import db
from dealer360.errors import UserError
from dealer360.settings import get_settings

PRINT_URL = "from dealer360 import db; print(db.database_url().port)"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DEALER360_HOME"] = str(home)
    return env


def test_two_processes_starting_at_once_share_one_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PRINT_URL], env=_env(home), stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    ports = {p.communicate(timeout=120)[0].strip() for p in procs}
    try:
        assert all(p.returncode == 0 for p in procs)
        assert len(ports) == 1, f"expected one server, got ports {ports}"
        # The server outlives the processes that started it, and the next command reuses it.
        again = subprocess.run(
            [sys.executable, "-c", PRINT_URL], env=_env(home), capture_output=True, text=True
        )
        assert again.stdout.strip() in ports
    finally:
        subprocess.run(
            [sys.executable, "-m", "dealer360.cli", "db", "stop"],
            env=_env(home),
            capture_output=True,
        )


def test_db_stop_stops_the_server_and_the_next_command_starts_it_again(tmp_path: Path) -> None:
    env = _env(tmp_path / "home")
    cli = [sys.executable, "-m", "dealer360.cli"]
    url = subprocess.run(
        [*cli, "db", "url"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert url.startswith("postgresql://postgres:")
    stop = subprocess.run([*cli, "db", "stop"], env=env, capture_output=True, text=True, check=True)
    assert "stopped" in stop.stdout
    again = subprocess.run(
        [*cli, "db", "stop"], env=env, capture_output=True, text=True, check=True
    )
    assert "was not running" in again.stdout
    url2 = subprocess.run(
        [*cli, "db", "url"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert url2 == url  # the URL people copied still works after a restart: the same port
    engine = sa.create_engine(db.normalize_url(url2.strip()))
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select current_database()")) == "dealer360"
    engine.dispose()
    subprocess.run([*cli, "db", "stop"], env=env, capture_output=True, check=True)
    # When something else took that port meanwhile, the server starts on another one.
    port = db.normalize_url(url.strip()).port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", port))
        taken.listen()
        url3 = subprocess.run(
            [*cli, "db", "url"], env=env, capture_output=True, text=True, check=True
        ).stdout
    assert db.normalize_url(url3.strip()).port != port
    subprocess.run([*cli, "db", "stop"], env=env, capture_output=True)


def test_database_url_switches_to_an_external_database(database_url, monkeypatch) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", database_url.set(drivername="postgresql").render_as_string(False)
    )
    assert get_settings().database_url is not None
    engine = db.connect_checked()
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select current_database()")) == database_url.database


def test_an_unreachable_database_is_one_clear_sentence(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/nowhere")
    with pytest.raises(UserError, match="Cannot reach the database at .*127.0.0.1:1/nowhere"):
        db.connect_checked()


def test_a_database_url_that_is_not_postgres_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://u:p@localhost/x")
    with pytest.raises(UserError, match="must point at PostgreSQL"):
        db.database_url()


def test_migrations_apply_once_and_create_the_contract_schemas(engine) -> None:
    assert db.migrate(engine) == []  # the template already has every migration
    with engine.connect() as conn:
        schemas = set(conn.scalars(sa.text("select nspname from pg_namespace")))
        applied = list(
            conn.scalars(sa.text("select name from public.schema_migrations order by version"))
        )
    assert {"raw", "resolve", "marts"} <= schemas
    assert applied == [p.name for p in db.migration_files()]
