"""Every test talks to a real PostgreSQL: one embedded server per test session, one
fresh database per test, cloned from a template that has every migration applied."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from dealer360 import db
from dealer360.settings import get_settings

TEMPLATE = "dealer360_test_template"


def pytest_configure(config: pytest.Config) -> None:
    """Parse the dbt project once, before any test worker starts (`pytest -n 2`): importing
    the Dagster definitions parses it when its manifest is stale, and two workers parsing
    at once would write one manifest together."""
    if not hasattr(config, "workerinput"):
        from orchestration.modeling import ensure_manifest

        ensure_manifest()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test` runs two workers (`-n 2 --dist loadgroup`): each test file stays on one
    worker, so a module's fixture (most build and run a whole inbox) is built once, and the
    dashboard's files share one worker, so its seeded database is built once too."""
    for item in items:
        path = item.nodeid.split("::")[0]
        group = "dashboard" if path.startswith("tests/dashboard/") else path
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def pg_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private DEALER360_HOME with its own embedded server for this test session."""
    home = tmp_path_factory.mktemp("dealer360-home")
    previous = {k: os.environ.get(k) for k in ("DEALER360_HOME", "DATABASE_URL")}
    os.environ["DEALER360_HOME"] = str(home)
    os.environ.pop("DATABASE_URL", None)
    db.ensure_embedded_server()
    yield home
    db.stop_embedded_server()
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def server_url(pg_home: Path) -> URL:
    """URL of the session's server (database `postgres`), for creating test databases."""
    return db.database_url(get_settings()).set(database="postgres")


@pytest.fixture(scope="session")
def template_url(server_url: URL) -> URL:
    db.drop_database(server_url, TEMPLATE)
    url = db.create_database(server_url, TEMPLATE)
    engine = sa.create_engine(url)
    db.migrate(engine)
    engine.dispose()
    return url


@pytest.fixture
def database_url(template_url: URL, monkeypatch: pytest.MonkeyPatch) -> Iterator[URL]:
    """A fresh, fully migrated database for one test; DATABASE_URL points at it."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = db.create_database(template_url, name, template=TEMPLATE)
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    yield url
    db.drop_database(template_url, name)


@pytest.fixture
def engine(database_url: URL) -> Engine:
    return db.get_engine(database_url)
