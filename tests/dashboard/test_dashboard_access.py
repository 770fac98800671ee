"""The dashboard as a dealer sees it: connected with the dealer's role
(DEALER360_DASHBOARD_URL), every page shows what row-level security lets that role read, and
says so where a part needs the pipeline's role, never "permission denied"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from dashboard_apptest import open_page, profile_links
from dashboard_scenario import TEST_DEALER, Scenario

from dealer360 import access


@pytest.fixture
def as_test_dealer(dashboard_env: Scenario, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scenario]:
    """The dashboard connects as the test rooftop's role; the role is dropped afterwards."""
    granted = access.grant_dealer(dashboard_env.engine, TEST_DEALER)
    monkeypatch.setenv("DEALER360_DASHBOARD_URL", granted.url)
    yield dashboard_env
    access.revoke(dashboard_env.engine, granted.role)


def found(text: str) -> list[str]:
    at = open_page("search")
    at.text_input(key="search_text").input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    return profile_links(at)


def someone_elsewhere(scenario: Scenario) -> tuple[str, str]:
    """A customer (id, e-mail) with no record at the test rooftop."""
    with scenario.engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "select c.customer_id, c.email from marts.customers c"
                " where c.email is not null and not exists (select 1 from access.customer_dealers d"
                "  where d.customer_id = c.customer_id and d.dealer_code = :code)"
                " order by c.customer_id limit 1"
            ),
            {"code": TEST_DEALER},
        ).one()
    return row.customer_id, row.email


def test_a_dealer_finds_its_own_customer(as_test_dealer: Scenario):
    gisele = as_test_dealer.customer_of(as_test_dealer.gisele)
    assert found("Gisele.Thibodeau@Videotron.ca") == [gisele]
    at = open_page("profile", customer_id=gisele)
    assert "Thibodeau" in " ".join(t.value for t in at.title)


def test_a_dealer_searching_another_dealers_customer_finds_nothing(as_test_dealer: Scenario):
    customer_id, email = someone_elsewhere(as_test_dealer)
    assert found(email) == []
    # ... while the pipeline's role finds them: the role decides, not the page.
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DEALER360_DASHBOARD_URL")
        assert customer_id in found(email)


def test_another_dealers_profile_link_says_not_found(as_test_dealer: Scenario):
    customer_id, _ = someone_elsewhere(as_test_dealer)
    at = open_page("profile", customer_id=customer_id)
    assert f"no customer {customer_id}" in at.info[0].value


@pytest.mark.parametrize("page", ["health", "review"])
def test_pipeline_pages_say_they_need_the_pipeline_role(as_test_dealer: Scenario, page: str):
    at = open_page(page)
    assert "needs the pipeline's role" in " ".join(i.value for i in at.info)


@pytest.mark.parametrize(
    "page", ["search", "service_lane", "opportunities", "leads", "brand_ladder"]
)
def test_marketing_pages_open_as_a_dealer(as_test_dealer: Scenario, page: str):
    assert open_page(page).title


def test_the_leads_page_shows_a_dealer_only_its_own_rooftop(as_test_dealer: Scenario):
    at = open_page("leads")
    assert len(at.selectbox(key="leads_dealer").options) == 1
    assert "needs the pipeline's role" in " ".join(i.value for i in at.info)  # no download


def test_the_service_lane_shows_a_dealer_only_its_own_rooftop(as_test_dealer: Scenario):
    at = open_page("service_lane")
    options = at.selectbox(key="service_dealer").options
    assert len(options) == 1 and TEST_DEALER in options[0]
    assert "needs the pipeline's role" in " ".join(i.value for i in at.info)  # no download
