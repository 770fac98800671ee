"""People signing in to the dashboard with OpenID Connect, against a real provider.

`oidc-provider-mock` runs in a thread as the provider (its sign-in form takes any e-mail);
`dealer360 dashboard` runs with DEALER360_OIDC_* pointing at it, as a deployment would, and a
real Chromium signs people in:
- a marketer granted the test rooftop (`grant user --dealer`) sees only its customers on every
  page and in every download, and the audit log names them;
- a manufacturer's person (`--oem`) sees no personal data;
- someone nobody granted is told whom to ask (the group's people, `--group`) and sees nothing;
- signing out ends the session.
Which customers are the rooftop's is asked of the database as the pipeline, not of the page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import oidc_provider_mock
import pandas as pd
import pytest
import sqlalchemy as sa
from dashboard_browser import (
    assert_no_exception,
    audit_row_of,
    chromium,
    free_port,
    last_audit_id,
    new_page,
    serving,
    settle,
    shoot,
)
from dashboard_scenario import TEST_DEALER, Scenario

from dealer360 import access

pytestmark = pytest.mark.browser

MARKETER = "marketer@qa-test.example"
OEM = "analyst@toyota.example"
ADMIN = "crm.admin@group.example"
STRANGER = "stranger@elsewhere.example"
CUSTOMER_ID = re.compile(r"C\d{9}")


class Signed:
    """The served dashboard, its people and what the test rooftop may see."""

    def __init__(self, scenario: Scenario, base: str):
        self.scenario, self.base = scenario, base
        with scenario.engine.connect() as conn:
            self.rooftop = set(
                conn.scalars(
                    sa.text(
                        "select customer_id from access.customer_dealers where dealer_code = :d"
                    ),
                    {"d": TEST_DEALER},
                )
            )
            self.elsewhere = conn.execute(
                sa.text(
                    "select c.customer_id, c.email, d.dealer_code from marts.customers c"
                    " join access.customer_dealers d on d.customer_id = c.customer_id"
                    " where c.email is not null and d.dealer_code <> :d"
                    " and not exists (select 1 from access.customer_dealers x"
                    "  where x.customer_id = c.customer_id and x.dealer_code = :d)"
                    " and exists (select 1 from marts.in_market m where m.dealer_code = d.dealer_code)"
                    " order by c.customer_id limit 1"
                ),
                {"d": TEST_DEALER},
            ).one()
        self.gisele = scenario.customer_of(scenario.gisele)


@pytest.fixture(scope="module")
def signed(scenario: Scenario) -> Iterator[Signed]:
    """The provider, the people granted, and `dealer360 dashboard` behind sign-in."""
    engine = scenario.engine
    with engine.connect() as conn:
        roles_before = set(conn.scalars(sa.text("select role_name from access.roles")))
    access.grant_user(engine, MARKETER, dealer=TEST_DEALER, granted_by="test")
    access.grant_user(engine, OEM, brand="Toyota", granted_by="test")
    access.grant_user(engine, ADMIN, group=True, granted_by="test")
    port = free_port()
    with oidc_provider_mock.run_server_in_thread() as provider:
        env = {
            "DEALER360_OIDC_ISSUER": f"http://localhost:{provider.server_port}",
            "DEALER360_OIDC_CLIENT_ID": "dealer360-test",
            "DEALER360_OIDC_CLIENT_SECRET": "any secret: the mock takes every client",
            "DEALER360_COOKIE_SECRET": "a-cookie-secret-for-the-browser-test-only",
        }
        with serving(scenario, port, env):
            yield Signed(scenario, f"http://localhost:{port}")
    for email in (MARKETER, OEM, ADMIN):
        access.revoke_user(engine, email)
    with engine.connect() as conn:
        roles_after = set(conn.scalars(sa.text("select role_name from access.roles")))
    for role in roles_after - roles_before:
        access.revoke(engine, role)


@pytest.fixture(scope="module")
def browser(signed: Signed):
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, signed: Signed):
    with new_page(browser, signed.base) as page:
        yield page


def sign_in(page, email: str) -> None:
    """Sign in through the provider's own form, as a person would."""
    page.goto("/")
    page.get_by_role("button", name="Sign in").click()
    page.locator('input[name="sub"]').fill(email)  # the mock provider's form
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(r"^http://localhost:\d+/(\?.*)?$"))


def customers_on(page, path: str = "") -> set[str]:
    """Every customer ID the page carries (links, tables' accessible cells, text), but those
    of its own address: what the person typed is not what they were shown."""
    return set(CUSTOMER_ID.findall(page.content())) - set(CUSTOMER_ID.findall(path))


def open_as_viewer(page, path: str, heading: str) -> None:
    page.goto(path)
    settle(page, heading)
    assert_no_exception(page)


def test_a_dealers_marketer_sees_only_that_rooftops_customers_on_every_page(page, signed: Signed):
    sign_in(page, MARKETER)
    settle(page, "Find a customer")
    other = signed.elsewhere
    pages = [
        (f"/profile?customer_id={signed.gisele}", "Thibodeau"),
        (f"/profile?customer_id={other.customer_id}", "Customer profile"),
        (f"/opportunities?dealer={TEST_DEALER}", "Opportunities"),
        (f"/opportunities?dealer={other.dealer_code}", "Opportunities"),  # asking is not seeing
        (f"/leads?dealer={TEST_DEALER}", "Leads"),
        (f"/leads?dealer={other.dealer_code}", "Leads"),
        (f"/service-lane?dealer={TEST_DEALER}", "Service lane"),
        (f"/service-lane?dealer={other.dealer_code}", "Service lane"),
        ("/brand-ladder", "Brand ladder"),
        ("/campaigns", "Campaigns"),
        ("/review", "Identity review"),
        ("/health", "Data health"),
    ]
    seen: set[str] = set()
    for path, heading in pages:
        open_as_viewer(page, path, heading)
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert f"Signed in as {MARKETER}" in sidebar.inner_text()
        assert sidebar.get_by_role("button", name="Sign out").is_visible()
        on_page = customers_on(page, path)
        assert on_page <= signed.rooftop, (path, on_page - signed.rooftop)
        seen |= on_page
    assert signed.gisele in seen, "the test saw none of the rooftop's own customers"
    page.goto(f"/profile?customer_id={other.customer_id}")
    page.get_by_text(f"no customer {other.customer_id}").first.wait_for()
    open_as_viewer(page, "/review", "Identity review")
    assert page.get_by_text("needs the group's access").count() > 0
    shoot(page, "signed-in-marketer-review")

    open_as_viewer(page, "/", "Find a customer")
    box = page.get_by_placeholder("Marie Côté", exact=False)
    box.fill(other.email)
    box.press("Enter")
    page.get_by_text("No customer matches").first.wait_for()
    assert other.customer_id not in customers_on(page)


def test_a_dealers_marketers_downloads_hold_only_its_customers_and_name_them(page, signed: Signed):
    sign_in(page, MARKETER)
    downloads = [
        (f"/opportunities?dealer={TEST_DEALER}", "Opportunities",
         "Download the campaign list (CSV)", "export_audience"),
        (f"/leads?dealer={TEST_DEALER}", "Leads",
         "Download: paid leads for people already known (CSV)", "export_leads"),
    ]  # fmt: skip
    for path, heading, button, action in downloads:
        open_as_viewer(page, path, heading)
        since = last_audit_id(signed.scenario)
        with page.expect_download() as download:
            page.get_by_role("button", name=button).click()
        data = Path(download.value.path()).read_bytes()
        customers = set(pd.read_csv(io.BytesIO(data))["customer_id"])
        assert customers and customers <= signed.rooftop, customers - signed.rooftop
        audit = audit_row_of(signed.scenario, data, since)
        assert (audit.action, audit.actor) == (action, MARKETER)
        assert audit.row_count == len(customers)


def test_an_oem_user_sees_no_personal_data(page, signed: Signed):
    sign_in(page, OEM)
    settle(page, "Find a customer")
    for path, heading in [
        ("/", "Find a customer"),
        (f"/profile?customer_id={signed.gisele}", "Customer profile"),
        (f"/opportunities?dealer={TEST_DEALER}", "Opportunities"),
        (f"/leads?dealer={TEST_DEALER}", "Leads"),
        ("/brand-ladder", "Brand ladder"),
        ("/campaigns", "Campaigns"),
    ]:
        open_as_viewer(page, path, heading)
        assert customers_on(page, path) == set(), path
        text = page.locator("body").inner_text()
        assert "Thibodeau" not in text and "videotron" not in text.lower(), path
    page.goto(f"/profile?customer_id={signed.gisele}")
    page.get_by_text(f"no customer {signed.gisele}").first.wait_for()
    shoot(page, "signed-in-oem")


def test_an_unknown_user_is_told_whom_to_ask_and_sees_nothing(page, signed: Signed):
    sign_in(page, STRANGER)
    for path in ("/", f"/profile?customer_id={signed.gisele}", "/opportunities", "/health"):
        page.goto(path)
        settle(page, "No access yet")
        text = page.locator("body").inner_text()
        assert f"You are signed in as {STRANGER}" in text and ADMIN in text
        assert f"dealer360 grant user {STRANGER}" in text
        assert customers_on(page, path) == set() and "Thibodeau" not in text
        assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    shoot(page, "signed-in-unknown")


def test_signing_out_ends_the_session(page, signed: Signed):
    sign_in(page, MARKETER)
    open_as_viewer(page, f"/profile?customer_id={signed.gisele}", "Thibodeau")
    page.get_by_role("button", name="Sign out").click()
    # The provider ends its session too (its end-session page), then sends the browser back.
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(r"^http://localhost:\d+/"))
    for path in ("/", f"/profile?customer_id={signed.gisele}"):
        page.goto(path)
        page.get_by_role("button", name="Sign in").wait_for()
        assert "Thibodeau" not in page.locator("body").inner_text()
        assert customers_on(page, path) == set()
    # Signing in again asks the provider again: nothing of the old session signs anyone in.
    page.get_by_role("button", name="Sign in").click()
    page.locator('input[name="sub"]').wait_for()


def test_the_groups_person_sees_every_rooftop_and_their_verdicts_name_them(page, signed: Signed):
    sign_in(page, ADMIN)
    open_as_viewer(page, "/", "Find a customer")
    box = page.get_by_placeholder("Marie Côté", exact=False)
    box.fill(signed.elsewhere.email)
    box.press("Enter")  # the customer the marketer could not find: the role decides
    page.locator('[data-testid="stPageLink"] a').first.wait_for()
    assert signed.elsewhere.customer_id in customers_on(page)

    open_as_viewer(page, "/review", "Identity review")
    assert (
        "Verdicts are recorded as yours" in page.locator('[data-testid="stSidebar"]').inner_text()
    )
    page.get_by_role("button", name="Different people").click()
    # the toast, not the "Kept apart by a person" count that is always on the page
    page.get_by_text("Kept apart: they will stay two customers").wait_for()
    with signed.scenario.engine.begin() as conn:
        audited = (
            conn.execute(
                sa.text(
                    "select filters from raw.audit_log where action = 'review_decision'"
                    " and actor = :a"
                ),
                {"a": ADMIN},
            )
            .scalars()
            .all()
        )
        assert [f["decision"] for f in audited] == ["cannot_link"]
        verdict = audited[0]
        decided = conn.execute(
            sa.text(
                "delete from resolve.review_decisions where source_record_id_a = :a"
                " and source_record_id_b = :b returning decided_by"
            ),
            {"a": verdict["source_record_id_a"], "b": verdict["source_record_id_b"]},
        ).scalar_one()  # the verdict was the test's: no later test inherits it
    assert decided == ADMIN
