"""The dashboard as a person sees it: `dealer360 dashboard` served on 127.0.0.1 and driven by a
real headless Chromium. Screenshots land in tests/artifacts/ for a person to look at."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from dashboard_browser import (
    ARTIFACTS,
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

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(scenario: Scenario) -> Iterator[str]:
    """`dealer360 dashboard` on a free port, reading the seeded database; its base URL."""
    port = free_port()
    with serving(scenario, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def browser(served: str):
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, served: str):
    with new_page(browser, served) as page:
        yield page


def test_search_then_profile_draws_the_customers_timeline(page, scenario: Scenario):
    page.goto("/")
    settle(page, "Find a customer")
    box = page.get_by_placeholder("Marie Côté", exact=False)
    box.fill("gisel tibodeau")
    box.press("Enter")
    link = page.locator('[data-testid="stPageLink"] a', has_text="Thibodeau").first
    link.wait_for()
    # A card's facts are Markdown with the data's punctuation escaped: shown as typed, with
    # no backslash left on screen.
    facts = page.locator('[data-testid="stMarkdownContainer"]', has_text="Matched on name").first
    assert "\\" not in facts.inner_text() and "similar" in facts.inner_text()
    shoot(page, "search")
    link.click()
    page.wait_for_url("**/profile?customer_id=*")
    settle(page, "Thibodeau")
    assert scenario.customer_of(scenario.gisele) in page.url
    timeline = page.locator('[data-testid="stPlotlyChart"]').first
    timeline.locator(".main-svg").first.wait_for(state="visible")
    assert timeline.locator(".point").count() >= len(scenario.gisele.records)
    assert_no_exception(page)
    shoot(page, "profile")


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/", "Find a customer"),
        ("/opportunities?dealer=" + TEST_DEALER, "Opportunities"),
        ("/leads?dealer=" + TEST_DEALER, "Leads"),
        ("/service-lane?dealer=" + TEST_DEALER, "Service lane"),
        ("/brand-ladder", "Brand ladder"),
        ("/review", "Identity review"),
        ("/health", "Data health"),
        ("/profile", "Customer profile"),
    ],
)
def test_no_page_shows_an_error(page, path: str, heading: str):
    page.goto(path)
    settle(page, heading)
    assert_no_exception(page)
    assert page.get_by_text("Page not found").count() == 0
    shoot(page, heading.lower().replace(" ", "-"))


def test_every_profile_tab_opens_without_an_error(page, scenario: Scenario):
    page.goto(f"/profile?customer_id={scenario.customer_of(scenario.gisele)}")
    settle(page, "Thibodeau")
    # Only the open panel is computed: a click reruns the panels' fragment, so each panel's
    # own text must arrive, and the URL names the tab so the view can be shared.
    panels = {
        "Lifetime value": "Spending per year",
        "Opportunities": re.compile("In market|Brand ladder|Stopped coming|No open opportunity"),
        "Why one person": "This customer gathers",
        "Garage": re.compile("Owned now|Owned before"),
    }
    for tab, text in panels.items():
        page.get_by_role("tab", name=tab).click()
        panel = page.locator('[role="tabpanel"]:visible').first
        panel.get_by_text(text).first.wait_for()
        settle(page, "Thibodeau")
        assert_no_exception(page)
        if tab != "Garage":  # the default tab leaves the URL clean
            assert parse_qs(urlparse(page.url).query)["section"] == [tab]
        panel.screenshot(
            path=str(ARTIFACTS / f"dashboard-profile-{tab.lower().replace(' ', '-')}.png")
        )


def test_the_downloaded_campaign_list_skips_withdrawn_consent_and_is_audited(
    page, scenario: Scenario
):
    page.goto(f"/opportunities?dealer={TEST_DEALER}")
    settle(page, "Opportunities")
    since = last_audit_id(scenario)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the campaign list (CSV)").click()
    data = Path(download.value.path()).read_bytes()
    customers = set(pd.read_csv(io.BytesIO(data))["customer_id"])
    assert scenario.customer_of(scenario.mireille) in customers
    assert scenario.customer_of(scenario.rosaire) not in customers

    audit = audit_row_of(scenario, data, since)
    assert audit.action == "export_audience"
    assert audit.row_count == len(customers)
    assert audit.filters["dealer_code"] == TEST_DEALER


def test_the_leads_page_shows_the_providers_and_an_audited_worklist_download(
    page, scenario: Scenario
):
    page.goto(f"/leads?dealer={TEST_DEALER}")
    settle(page, "Leads")
    assert_no_exception(page)
    page.get_by_role("heading", name="Providers").wait_for()
    providers = page.locator('[data-testid="stDataFrame"]').first
    providers.wait_for(state="visible")
    # The grid draws on a canvas; its accessible table carries the cells' text.
    assert "AutoTrader" in providers.locator("table").first.inner_text()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
    shoot(page, "leads")

    since = last_audit_id(scenario)
    with page.expect_download() as download:
        page.get_by_role(
            "button", name="Download: paid leads for people already known (CSV)"
        ).click()
    data = Path(download.value.path()).read_bytes()
    rows = pd.read_csv(io.BytesIO(data))
    assert rows["source_record_id"].tolist() == [f"{TEST_DEALER}:L1"]
    assert rows["customer_id"].tolist() == [scenario.customer_of(scenario.gisele)]
    audit = audit_row_of(scenario, data, since)
    assert (audit.action, audit.row_count) == ("export_leads", 1)
    assert audit.filters == {"dealer_code": TEST_DEALER, "outcome": "known_paid"}


def test_the_service_lane_downloads_only_the_customers_it_may_contact_audited(
    page, scenario: Scenario
):
    page.goto(f"/service-lane?dealer={TEST_DEALER}&reason=open_recall")
    settle(page, "Service lane")
    assert_no_exception(page)
    worklist = page.locator('[data-testid="stDataFrame"]').first
    worklist.wait_for(state="visible")
    assert "Thibodeau" in worklist.locator("table").first.inner_text()
    shoot(page, "service-lane")

    since = last_audit_id(scenario)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download: open recall (CSV)").click()
    data = Path(download.value.path()).read_bytes()
    rows = pd.read_csv(io.BytesIO(data))
    assert rows["customer_id"].tolist() == [scenario.customer_of(scenario.gisele)]
    assert rows["reason"].tolist() == ["open_recall"]
    audit = audit_row_of(scenario, data, since)
    assert (audit.action, audit.row_count) == ("export_worklist", 1)
    assert audit.filters == {"dealer_code": TEST_DEALER, "reason": "open_recall"}
