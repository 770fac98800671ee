"""Every dashboard page, run with Streamlit's AppTest against the seeded database."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest
import sqlalchemy as sa
from dashboard_apptest import open_page, profile_links
from dashboard_scenario import RECALL, TEST_DEALER, Scenario
from streamlit.testing.v1 import AppTest

from dashboard import queries
from dealer360 import exports

PAGES = [
    "search",
    "profile",
    "service_lane",
    "opportunities",
    "leads",
    "brand_ladder",
    "review",
    "health",
]


def search(text: str) -> AppTest:
    at = open_page("search")
    at.text_input(key="search_text").input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_without_an_error(dashboard_env: Scenario, page: str):
    at = open_page(page)
    assert at.title, f"{page} has no title"
    # Without sign-in configured (as here), every page says whom it serves.
    notice = " ".join(c.value for c in at.sidebar.caption)
    assert "Sign-in is off: this dashboard answers only on this computer" in notice


@pytest.mark.parametrize("page", PAGES)
def test_before_the_first_run_every_page_says_what_to_do(database_url, page: str):
    at = open_page(page)
    assert "dealer360 run" in " ".join(i.value for i in at.info)


def test_search_finds_a_customer_by_a_misspelled_unaccented_name(dashboard_env: Scenario):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    at = search("gisel tibodeau")
    assert profile_links(at)[0] == gisele


@pytest.mark.parametrize(
    "typed", ["819.555.0147", "+1 819 555 0147", "18195550147", "(819)5550147"]
)
def test_search_finds_a_customer_by_a_phone_typed_differently(dashboard_env: Scenario, typed: str):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    assert gisele in profile_links(search(typed))


def test_search_finds_a_customer_by_email_and_by_vin(dashboard_env: Scenario):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    assert profile_links(search("Gisele.Thibodeau@Videotron.ca")) == [gisele]
    with dashboard_env.engine.connect() as conn:
        vin = conn.scalar(
            sa.text("select vin from marts.vehicle_ownership where customer_id = :c limit 1"),
            {"c": gisele},
        )
    assert profile_links(search(vin.lower()))[0] == gisele


def test_search_ranks_names_typed_exactly_above_fuzzy_ones(dashboard_env: Scenario):
    # A surname of the data that other customers' names only resemble (Roy and Royer).
    with dashboard_env.engine.connect() as conn:
        surname = conn.scalar(
            sa.text(
                r"""
                select c.last_name
                from marts.customers as c
                where c.last_name ~ '^[A-Za-z]+$'
                    and exists (
                        select 1 from marts.customers as o
                        where lower(c.last_name) <% o.search_name
                            and not lower(c.last_name)
                                = any(regexp_split_to_array(o.search_name, '\s+'))
                    )
                group by c.last_name
                order by count(*) desc, c.last_name
                limit 1
                """
            )
        )
    assert surname, "the generated inbox has no surname with a look-alike"
    found = queries.search_customers("name", surname.lower(), limit=200)
    kinds = found["matched_on"].tolist()
    assert "exact name" in kinds and "name" in kinds, kinds
    first_fuzzy = kinds.index("name")
    assert set(kinds[first_fuzzy:]) == {"name"}, "an exact match ranks below a fuzzy one"
    assert (found["match_score"][:first_fuzzy] == 1).all()
    assert (found["match_score"][first_fuzzy:] < 1).all()
    for row in found[:first_fuzzy].itertuples():
        name = " ".join(str(p) for p in (row.first_name, row.last_name, row.company_name) if p)
        plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        assert surname.lower() in plain.lower().split(), name

    at = search(surname)
    cards = " ".join(m.value for m in at.markdown)
    assert "Matched on exact name" in cards


def test_search_says_what_to_do_when_nothing_matches(dashboard_env: Scenario):
    at = search("Zxqwv Plokmijn")
    assert not profile_links(at)
    assert "No customer matches" in at.warning[0].value


def test_profile_shows_every_event_of_its_customer(dashboard_env: Scenario):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    with dashboard_env.engine.connect() as conn:
        expected = pd.read_sql_query(
            sa.text(
                "select event_date, description from marts.customer_events"
                " where customer_id = :c order by event_date, description"
            ),
            conn,
            params={"c": gisele},
        )
    assert len(expected) >= len(dashboard_env.gisele.records)

    at = open_page("profile", customer_id=gisele)
    assert at.title[0].value == "Gisèle Thibodeau"
    shown = at.dataframe[0].value  # the expander "All N events"
    assert len(shown) == len(expected)
    assert sorted(shown["description"]) == sorted(expected["description"])
    points = sum(len(trace["x"]) for trace in _plotly(at, "timeline")["data"])
    assert points == len(expected)


def test_profile_explains_which_records_make_the_customer(dashboard_env: Scenario):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    at = open_page("profile", customer_id=gisele, section="Why one person")
    records = next(frame.value for frame in at.dataframe if "record" in frame.value.columns)[
        "record"
    ].tolist()
    for _, record_id in dashboard_env.gisele.records:
        assert any(record.endswith(record_id) for record in records), record_id


def test_a_marketer_splits_a_record_out_on_the_profile_and_undoes_it(dashboard_env: Scenario):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    source, record = dashboard_env.gisele.records[-1]
    at = open_page("profile", customer_id=gisele, section="Why one person")
    label = next(o for o in at.selectbox(key="split_pick").options if record in o)
    at.selectbox(key="split_pick").select(label)
    at.button(key="split_record").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "a customer of its own after the next run" in at.success[0].value

    def decisions() -> int:
        with dashboard_env.engine.connect() as conn:
            return conn.scalar(
                sa.text(
                    "select count(*) from resolve.review_decisions where decision = 'cannot_link'"
                    " and source_a = :s and source_record_id_a = :r"
                ),
                {"s": source, "r": record},
            )

    assert decisions() == len(dashboard_env.gisele.records) - 1
    with dashboard_env.engine.connect() as conn:
        fix = conn.execute(
            sa.text(
                "select audit_id, filters from raw.audit_log where action = 'merge_fix'"
                " order by audit_id desc limit 1"
            )
        ).one()
    assert fix.filters == {
        "fix": "not_this_person",
        "customer_id": gisele,
        "record": f"{source}:{record}",
    }

    at = open_page("profile", customer_id=gisele, section="Why one person")
    at.button(key=f"undo_fix_{fix.audit_id}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert decisions() == 0
    assert not any(b.key == f"undo_fix_{fix.audit_id}" for b in at.button)


def test_profile_runs_only_the_open_panel(dashboard_env: Scenario):
    """A profile computes the tab a person opened, not all four; `?section=` picks it."""
    gisele = dashboard_env.customer_of(dashboard_env.gisele)

    def shown(at: AppTest) -> str:
        return " ".join(m.value for m in at.markdown) + " ".join(i.value for i in at.info)

    garage = open_page("profile", customer_id=gisele)
    assert "Owned now" in shown(garage) or "Owned before" in shown(garage)
    assert "Spending per year" not in shown(garage)
    assert not any("match_probability" in f.value.columns for f in garage.dataframe)

    value = open_page("profile", customer_id=gisele, section="Lifetime value")
    assert "Spending per year" in shown(value)
    assert "Owned now" not in shown(value) and "Owned before" not in shown(value)

    unknown = open_page("profile", customer_id=gisele, section="No such tab")
    assert "Owned now" in shown(unknown) or "Owned before" in shown(unknown)


def test_profile_shows_golden_record_sources_and_consent(dashboard_env: Scenario):
    rosaire = dashboard_env.customer_of(dashboard_env.rosaire)
    at = open_page("profile", customer_id=rosaire)
    markdown = " ".join(m.value for m in at.markdown)
    assert "Consent withdrawn" in markdown
    assert "Do not contact" in markdown
    taken_from = at.table[0].value["Taken from"]
    assert taken_from["Address"] == "OEM registration QAREG2 · May 15, 2023"
    assert taken_from["E-mail"].startswith("CRM lead QA-TEST:L2")


def test_a_shared_profile_link_of_an_unknown_customer_says_what_to_do(dashboard_env: Scenario):
    at = open_page("profile", customer_id="C999999999")
    assert "no customer C999999999" in at.info[0].value


def test_a_shared_link_to_a_merged_customer_leads_to_the_current_profile(
    dashboard_env: Scenario,
):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    with dashboard_env.engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into resolve.customer_id_history (old_customer_id, new_customer_id, reason)"
                " select 'C999000001', :new, 'merge' where not exists (select 1 from"
                " resolve.customer_id_history where old_customer_id = 'C999000001')"
            ),
            {"new": gisele},
        )
    at = open_page("profile", customer_id="C999000001")
    assert "no longer exists" in at.info[0].value
    assert profile_links(at) == [gisele]


def test_opportunities_lists_in_market_customers_of_a_dealer(dashboard_env: Scenario):
    at = open_page("opportunities", dealer=TEST_DEALER)
    listed = at.dataframe[0].value
    names = set(listed["name"])
    assert {"Rosaire Lapointe", "Mireille Caron"} <= names
    rosaire = listed[listed["name"] == "Rosaire Lapointe"].iloc[0]
    assert not rosaire["is_contactable"]
    assert rosaire["consent"] == "Consent withdrawn"


def test_export_skips_a_customer_who_withdrew_consent(dashboard_env: Scenario):
    rosaire = dashboard_env.customer_of(dashboard_env.rosaire)
    mireille = dashboard_env.customer_of(dashboard_env.mireille)
    at = open_page("opportunities", dealer=TEST_DEALER)
    assert at.get("download_button"), "no download button"
    # What the page hands to the download button, with its filters at their defaults.
    exported = queries.audience(TEST_DEALER, None, min_score=0, driver_codes=())
    assert mireille in set(exported["customer_id"])
    assert rosaire not in set(exported["customer_id"])
    contactable = at.dataframe[0].value.query("is_contactable")
    assert len(exported) == len(contactable)


def test_cli_export_skips_withdrawn_consent_and_writes_an_audit_row(dashboard_env: Scenario):
    rosaire = dashboard_env.customer_of(dashboard_env.rosaire)
    mireille = dashboard_env.customer_of(dashboard_env.mireille)
    with dashboard_env.engine.begin() as conn:
        export = queries.export_audience(conn, TEST_DEALER, None, actor="pytest")
    rows = pd.read_csv(pd.io.common.BytesIO(export.data))
    assert mireille in set(rows["customer_id"])
    assert rosaire not in set(rows["customer_id"])
    assert list(rows.columns) == list(queries.AUDIENCE_COLUMNS)
    with dashboard_env.engine.connect() as conn:
        audit = conn.execute(
            sa.text(
                "select actor, action, filters, row_count, sha256 from raw.audit_log"
                " where sha256 = :sha order by audit_id desc limit 1"
            ),
            {"sha": export.sha256},
        ).one()
    assert audit.actor == "pytest"
    assert audit.action == "export_audience"
    assert audit.filters["dealer_code"] == TEST_DEALER and audit.filters["brand"] is None
    assert audit.filters["sender"] == TEST_DEALER and audit.filters["channel"] == "email"
    assert audit.row_count == len(rows)


def test_leads_page_shows_each_providers_cost_and_known_customer_share(dashboard_env: Scenario):
    at = open_page("leads", dealer=TEST_DEALER)
    assert [m.value for m in at.metric][:2] == ["3", "0"]  # Gisèle, Rosaire, Mireille; none sold
    providers = at.dataframe[0].value.set_index("provider")
    autotrader = providers.loc["AutoTrader"]  # Gisèle's paid lead: she bought here in 2019
    assert (autotrader["leads"], autotrader["paid_leads"]) == (1, 1)
    assert autotrader["cost_amount"] == 30
    assert autotrader["known_customer_share"] == 1
    assert providers.loc["—", "leads"] == 2  # the rooftop's own web site, no provider


def test_leads_page_lists_paid_leads_for_known_customers_with_the_proof(dashboard_env: Scenario):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    at = open_page("leads", dealer=TEST_DEALER)
    known = at.dataframe[1].value
    assert known["source_record_id"].tolist() == [f"{TEST_DEALER}:L1"]
    assert known["known_since_source_record_id"].tolist() == [f"{TEST_DEALER}:D1"]
    assert known["profile"].tolist() == [f"profile?customer_id={gisele}"]
    buttons = at.get("download_button")
    assert len(buttons) == 1  # the other worklist is empty at this rooftop
    downloaded = queries.lead_worklist(TEST_DEALER, "known_paid")
    assert list(pd.read_csv(pd.io.common.BytesIO(queries.leads_csv(downloaded))).columns) == list(
        exports.LEAD_COLUMNS
    )


def test_leads_page_funnel_counts_every_lead_of_a_generated_rooftop(dashboard_env: Scenario):
    with dashboard_env.engine.connect() as conn:
        busiest = conn.execute(
            sa.text(
                "select dealer_code, count(*) as leads,"
                " count(*) filter (where outcome in ('sold_here', 'sold_in_group')) as sold"
                " from marts.lead_outcomes group by dealer_code order by 2 desc, 1 limit 1"
            )
        ).one()
    at = open_page("leads", dealer=busiest.dealer_code)
    assert [m.value for m in at.metric][:2] == [f"{busiest.leads:,}", f"{busiest.sold:,}"]
    assert at.get("plotly_chart"), "no funnel"
    providers = at.dataframe[0].value
    assert providers["leads"].sum() == busiest.leads


def test_service_lane_lists_open_recalls_and_downloads_only_contactable_customers(
    dashboard_env: Scenario,
):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    rosaire = dashboard_env.customer_of(dashboard_env.rosaire)  # said N to Toyota
    at = open_page("service_lane", dealer=TEST_DEALER, reason="open_recall")
    assert at.metric[0].label == "Open recall" and at.metric[0].value == "2"
    shown = at.dataframe[0].value.set_index("profile")
    assert shown.loc[f"profile?customer_id={gisele}", "is_contactable"]
    assert not shown.loc[f"profile?customer_id={rosaire}", "is_contactable"]
    assert RECALL in shown.loc[f"profile?customer_id={rosaire}", "detail"]
    assert len(at.get("download_button")) == 1
    downloaded = queries.service_worklist(TEST_DEALER, "open_recall", True)
    assert downloaded["customer_id"].tolist() == [gisele]
    columns = pd.read_csv(pd.io.common.BytesIO(queries.worklist_csv(downloaded))).columns
    assert list(columns) == list(exports.WORKLIST_COLUMNS)


def test_service_lane_counts_every_reason_of_a_generated_rooftop(dashboard_env: Scenario):
    with dashboard_env.engine.connect() as conn:
        busiest = conn.execute(
            sa.text(
                "select dealer_code, count(*) as n from marts.service_worklist"
                " group by dealer_code order by 2 desc, 1 limit 1"
            )
        ).one()
    at = open_page("service_lane", dealer=busiest.dealer_code)
    assert sum(int(m.value.replace(",", "")) for m in at.metric) == busiest.n
    assert len(at.radio(key="service_reason").options) >= 2  # generated recalls, service, sales


def test_accepting_a_pair_in_review_writes_a_must_link_decision(dashboard_env: Scenario):
    gisele, mireille = dashboard_env.gisele.records[0], dashboard_env.mireille.records[0]
    pair = {"sa": gisele[0], "ra": gisele[1], "sb": mireille[0], "rb": mireille[1]}
    with dashboard_env.engine.begin() as conn:
        conn.execute(
            sa.text(
                "delete from resolve.review_decisions where (source_a, source_record_id_a,"
                " source_b, source_record_id_b) = (:sa, :ra, :sb, :rb)"
            ),
            pair,
        )
        # A pair at exactly 50 % that a verdict would teach most: the page shows it first.
        conn.execute(
            sa.text(
                """
                insert into resolve.review_queue
                    (source_a, source_record_id_a, source_b, source_record_id_b,
                     customer_id_a, customer_id_b, match_probability, match_weight, evidence,
                     review_priority)
                select :sa, :ra, :sb, :rb, :ca, :cb, 0.5, 0.0,
                       '{"phone": {"level": "different", "weight": -1.5}}',
                       coalesce(max(review_priority), 0) + 1
                from resolve.review_queue
                on conflict do nothing
                """
            ),
            pair
            | {
                "ca": dashboard_env.customer_of(dashboard_env.gisele),
                "cb": dashboard_env.customer_of(dashboard_env.mireille),
            },
        )
    at = open_page("review")
    pending = at.metric[0].value
    assert "Dealer sale QA-TEST:D1" in " ".join(m.value for m in at.markdown)
    at.text_input(key="reviewer").input("Julie at the BDC")
    at.button(key="review_same").click().run()
    assert not at.exception
    with dashboard_env.engine.connect() as conn:
        decision = conn.execute(
            sa.text(
                "select decision, decided_by from resolve.review_decisions"
                " where source_record_id_a = :ra and source_record_id_b = :rb"
            ),
            {"ra": gisele[1], "rb": mireille[1]},
        ).one()
        audit = conn.execute(
            sa.text(
                "select actor, filters from raw.audit_log where action = 'review_decision'"
                " order by audit_id desc limit 1"
            )
        ).one()
    assert decision.decision == "must_link"
    assert decision.decided_by == "Julie at the BDC"
    # A merge is a change to who a customer is: audited, naming who decided it.
    assert audit.actor == "Julie at the BDC"
    assert audit.filters["decision"] == "must_link"
    assert audit.filters["source_record_id_b"] == mireille[1]
    assert int(at.metric[0].value.replace(",", "")) == int(pending.replace(",", "")) - 1


def test_why_not_shows_what_keeps_two_customers_apart(dashboard_env: Scenario):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    mireille = dashboard_env.customer_of(dashboard_env.mireille)
    at = open_page("review")
    at.text_input(key="why_a").input(gisele.lower())
    at.text_input(key="why_b").input(mireille).run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(t.value for t in at.table if gisele in t.value.columns)
    assert table.at["Phone", "Values"] == "differ"
    assert table.at["Phone", gisele] == "+18195550147"
    said = " ".join(m.value for m in at.markdown)
    assert f"**{gisele}**" in said and "stay apart" in said and "phone" in said

    at.text_input(key="why_b").input("C999999999").run()
    assert "There is no customer C999999999" in at.warning[0].value


def test_health_shows_cluster_sizes_and_the_last_run(dashboard_env: Scenario):
    at = open_page("health")
    headers = [h.value for h in at.subheader]
    assert "Identity resolution" in headers and "Last pipeline run" in headers
    assert "Succeeded" in " ".join(m.value for m in at.markdown)
    assert _plotly(at, "cluster-sizes")["data"]


def _plotly(at: AppTest, key: str) -> dict:
    import json

    for chart in at.get("plotly_chart"):
        if chart.proto.id and key in chart.proto.id:
            return json.loads(chart.proto.spec)
    raise AssertionError(f"no plotly chart {key!r}")
