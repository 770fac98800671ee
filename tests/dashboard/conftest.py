"""One seeded database for every dashboard test: a generated dealer group (300 people) plus
the hand-written people of `dashboard_scenario`.

The whole pipeline runs once per session (`orchestration.runner.run_pipeline`), as
`dealer360 run` does; pages and the browser then read what it built. While working on pages,
`DEALER360_DASHBOARD_TEST_DB=<url>` reuses a database seeded by an earlier session instead
(see `scenario_database` below: it is kept, not dropped, when that variable names it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from dashboard_scenario import Scenario, write_scenario
from sqlalchemy.engine import URL

from dealer360 import db


@pytest.fixture(scope="session")
def scenario(template_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """The seeded database, with DATABASE_URL pointing at it for the whole session."""
    from generator import generate_inbox
    from orchestration.runner import run_pipeline

    inbox = tmp_path_factory.mktemp("dashboard-inbox")
    reused = os.environ.get("DEALER360_DASHBOARD_TEST_DB")
    if reused:
        url = db.normalize_url(reused)
        people = write_scenario(inbox)
    else:
        url = db.create_database(
            template_url, f"dash_{uuid.uuid4().hex[:10]}", template=template_url.database
        )
        generate_inbox(inbox, people=300, seed=7)
        people = write_scenario(inbox)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
        patch.delenv("DEALER360_DASHBOARD_URL", raising=False)
        if not reused:
            summary = run_pipeline(inbox)
            assert summary.succeeded, summary.error
        yield Scenario(url, db.get_engine(url), *people)
    db.get_engine(url).dispose()
    if not reused:
        db.drop_database(template_url, url.database)


@pytest.fixture
def dashboard_env(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    """The seeded database in DATABASE_URL even after a test that changed it."""
    monkeypatch.setenv("DATABASE_URL", scenario.url.render_as_string(hide_password=False))
    return scenario
