"""Serving `dealer360 dashboard` and driving it with a real headless Chromium, shared by the
browser tests (one served dashboard per module)."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from dashboard_scenario import Scenario

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(scenario: Scenario, port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    """`dealer360 dashboard` on `port`, reading the seeded database, until the block ends."""
    env = (
        os.environ
        | {"DATABASE_URL": scenario.url.render_as_string(hide_password=False)}
        | (env or {})
    )
    env.pop("DEALER360_DASHBOARD_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "dealer360.cli", "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the CLI starts Streamlit as its child: stop both together
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = f"http://127.0.0.1:{port}/_stcore/health"
                with urllib.request.urlopen(health, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.stdout.read().decode() if server.stdout else ""
                pytest.fail(f"the dashboard did not come up:\n{output}")
            time.sleep(0.5)
        yield
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@contextmanager
def chromium() -> Iterator:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def new_page(browser, base_url: str) -> Iterator:
    """A fresh browser profile (no cookie) on the dashboard."""
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1400, "height": 2200}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def settle(page, heading: str | None = None) -> None:
    """Wait until the page has drawn its title, every placeholder and every chart."""
    page.locator("h1", has_text=heading or "").first.wait_for()
    quiet = 0
    while quiet < 3:  # placeholders come and go while the script runs: wait for calm
        page.wait_for_timeout(400)
        busy = page.locator('[data-testid="stSkeleton"], [data-testid="stSpinner"]').count()
        quiet = 0 if busy else quiet + 1
    for chart in page.locator('[data-testid="stPlotlyChart"]:visible').all():
        chart.locator(".main-svg").first.wait_for()


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def assert_no_exception(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def last_audit_id(scenario: Scenario) -> int:
    """The newest audit row's ID: rows after it are the ones a test's clicks write."""
    with scenario.engine.connect() as conn:
        return conn.scalar(sa.text("select coalesce(max(audit_id), 0) from raw.audit_log"))


def audit_row_of(scenario: Scenario, data: bytes, since: int = 0):
    """The audit row of a downloaded file, found by its sha256 among the rows after `since`
    (an earlier test may have downloaded the very same bytes); the server writes it on
    click."""
    digest = hashlib.sha256(data).hexdigest()
    deadline = time.monotonic() + 15
    with scenario.engine.connect() as conn:
        while True:
            audit = conn.execute(
                sa.text(
                    "select action, row_count, filters, actor from raw.audit_log"
                    " where sha256 = :s and audit_id > :since order by audit_id desc"
                ),
                {"s": digest, "since": since},
            ).first()
            conn.rollback()
            if audit or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    assert audit is not None, "the download was not written to the audit log"
    return audit
