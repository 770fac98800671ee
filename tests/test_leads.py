"""Leads from inquiry to sale (marts.lead_outcomes, marts.lead_source_performance) and
`dealer360 export leads`, on one hand-built inbox landed, resolved and modelled once for the
module (today pinned to 2026-11-01).

Scenarios (one person per line; each has their own e-mail and phone):
- Alice sends a web lead to Toyota Longueuil (D01) and, a day later, the same shopper comes
  to Toyota Laval (D02) through AutoTrader; she buys at D01 40 days after her first lead: sold
  here for D01, sold in the group for D02.
- Bruno's paid AutoTrader lead at D01 is marked lost; he bought at the sister store D02 30
  days later.
- Claire's CarGurus lead at D01 was followed by a sale at D01 on day 121: too late, lost.
- Robert Tremblay bought at D02 in 2023; in 2026 "Bob Tremblay" (same e-mail and phone) comes
  to D01 as a paid AutoTrader lead: a known customer, with that 2023 deal as the proof.
- Daniel's web lead at Honda Brossard (D03) is lost; Honda then registered a new CR-V to him
  that no rooftop of the group sold: sold elsewhere.
- Emma's CarGurus lead at D01 is two weeks old: open.
- Frank's paid lead at D02 is old and unsold, and Frank asked to be forgotten (before the
  marts were built): his lead is still counted, under the anonymous key, with no identity.
"""

from __future__ import annotations

import getpass
import hashlib
import io
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from typer.testing import CliRunner

import entity_resolution
from dealer360 import access, db
from dealer360.cli import app
from dealer360.forget import forget_customer
from dealer360.suppression import ANONYMOUS_PREFIX
from ingest.loader import load_inbox
from tests.test_access import read
from tests.test_models import make_vin, run_dbt, write_inbox

RAV4_ALICE = make_vin("2T3W1RFV", 8001)
COROLLA_BRUNO = make_vin("2T1BURHE", 8002)
CAMRY_CLAIRE = make_vin("4T1B11HK", 8003)
HIGHLANDER_ROBERT = make_vin("5TDJZRFH", 8004)
CRV_DANIEL = make_vin("2HKRW2H5", 8005)

DEALERS = """\
dealer_code,dealer_name,brands,city,region,phone
D01,Toyota Longueuil,Toyota,Longueuil,QC,(450) 555-0100
D02,Toyota Laval,Toyota,Laval,QC,450-555-0200
D03,Honda Brossard,Honda,Brossard,QC,450.555.0300
"""

SALES = f"""\
dealer_code,deal_id,deal_date,first_name,last_name,company_name,email,phone,street,city,region,postal_code,birth_date,vin,make,model,model_year,condition,sale_price,payment_type,term_months,trade_in_vin
D01,S100,2026-04-10,Alice,Martin,,alice.martin@videotron.ca,514-555-1001,12 rue des Érables,Longueuil,QC,J4K 1A1,1980-02-14,{RAV4_ALICE},Toyota,RAV4,2026,new,38500.00,cash,,
D02,S200,2026-03-03,Bruno,Lefebvre,,bruno.lefebvre@gmail.com,438-555-2002,45 boulevard Taschereau,Greenfield Park,QC,J4V 2H1,1991-07-30,{COROLLA_BRUNO},Toyota,Corolla,2026,new,26900.00,finance,60,
D01,S300,2026-05-02,Claire,Tremblay,,claire.tremblay@hotmail.com,450-555-3003,8 rue Saint-Charles,Longueuil,QC,J4H 1C5,1975-11-02,{CAMRY_CLAIRE},Toyota,Camry,2026,new,36000.00,cash,,
D02,S400,2023-05-10,Robert,Tremblay,,r.tremblay@bell.net,514-555-4004,3 rue du Lac,Laval,QC,H7N 1A1,1966-01-20,{HIGHLANDER_ROBERT},Toyota,Highlander,2023,new,48000.00,finance,72,
"""

SERVICE_ORDERS = """\
dealer_code,ro_number,open_date,customer_name,phone,email,vin,mileage,pay_type,labor_amount,parts_amount,total_amount,description
"""

REGISTRATIONS = f"""\
brand,registration_id,vin,registration_date,event,owner_first_name,owner_last_name,street,city,region,postal_code,phone,email,consent_marketing
Honda,HON-0500,{CRV_DANIEL},2026-08-15,new_owner,Daniel,Roy,300 avenue du Parc,Montréal,QC,H2V 4E6,514-555-5005,daniel.roy@outlook.com,
"""

LEADS = """\
dealer_code,lead_id,created_at,source,first_name,last_name,email,phone,interest_make,interest_model,status,provider,cost_amount
D01,L100,2026-03-01T10:00:00-05:00,web,Alice,Martin,alice.martin@videotron.ca,514-555-1001,Toyota,RAV4,open,,
D02,L101,2026-03-02T19:30:00-05:00,third_party,Alice,Martin,alice.martin@videotron.ca,514-555-1001,Toyota,RAV4,open,AutoTrader,25.00
D01,L200,2026-02-01T09:00:00-05:00,third_party,Bruno,Lefebvre,bruno.lefebvre@gmail.com,438-555-2002,Toyota,Corolla,lost,AutoTrader,25.00
D01,L300,2026-01-01T12:00:00-05:00,third_party,Claire,Tremblay,claire.tremblay@hotmail.com,450-555-3003,Toyota,Camry,open,CarGurus,30.00
D01,L400,2026-06-01T11:00:00-04:00,third_party,Bob,Tremblay,r.tremblay@bell.net,514-555-4004,Toyota,Grand Highlander,open,AutoTrader,25.00
D03,L500,2026-07-01T15:00:00-04:00,web,Daniel,Roy,daniel.roy@outlook.com,514-555-5005,Honda,CR-V,lost,,
D01,L600,2026-10-18T10:00:00-04:00,third_party,Emma,Gagnon,emma.gagnon@gmail.com,514-555-6006,Toyota,Corolla,open,CarGurus,30.00
D02,L700,2026-05-05T10:00:00-04:00,third_party,Frank,Bouchard,frank.bouchard@gmail.com,514-555-7007,Toyota,Tacoma,open,AutoTrader,25.00
"""

INBOX = {
    "dealers": DEALERS,
    "dealer_sales": SALES,
    "service_orders": SERVICE_ORDERS,
    "oem_registrations": REGISTRATIONS,
    "crm_leads": LEADS,
}


@pytest.fixture(scope="module")
def leads_db(template_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    """The scenario landed and resolved, Frank forgotten, then modelled."""
    name = f"l_{uuid.uuid4().hex[:12]}"
    url = db.create_database(template_url, name, template=template_url.database)
    engine = db.get_engine(url)
    work = tmp_path_factory.mktemp("leads")
    load_inbox(engine, write_inbox(work / "inbox", INBOX))
    entity_resolution.resolve(engine)
    with engine.connect() as conn:
        frank = conn.scalar(
            sa.text(
                "select customer_id from resolve.customer_source_map"
                " where source = 'crm_leads' and source_record_id = 'D02:L700'"
            )
        )
    forget_customer(engine, frank, actor="pytest")
    run_dbt(url, work, "build")
    yield url
    engine.dispose()
    db.drop_database(template_url, name)


def _query(url: URL, sql: str, **params) -> list[sa.Row]:
    with db.get_engine(url).connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def _lead(url: URL, source_record_id: str) -> sa.Row:
    rows = _query(
        url, "select * from marts.lead_outcomes where source_record_id = :r", r=source_record_id
    )
    assert len(rows) == 1, f"{source_record_id} is {len(rows)} rows of lead_outcomes"
    return rows[0]


def _cli(url: URL, *args: str):
    env = {"DATABASE_URL": url.render_as_string(hide_password=False), "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def test_a_sale_at_the_leads_rooftop_within_120_days_is_sold_here(leads_db: URL) -> None:
    lead = _lead(leads_db, "D01:L100")
    assert lead.outcome == "sold_here"
    assert lead.sale_source_record_id == "D01:S100"
    assert lead.sale_dealer_code == "D01"
    assert lead.days_to_sale == 40
    assert lead.sale_amount == Decimal("38500.00")


def test_a_shopper_who_bought_at_a_sister_rooftop_is_sold_in_the_group(leads_db: URL) -> None:
    assert _lead(leads_db, "D02:L101").outcome == "sold_in_group"  # Alice bought at D01
    bruno = _lead(leads_db, "D01:L200")
    assert bruno.crm_status == "lost"
    assert bruno.outcome == "sold_in_group"
    assert (bruno.sale_source_record_id, bruno.sale_dealer_code) == ("D02:S200", "D02")
    assert bruno.days_to_sale == 30


def test_a_sale_on_day_121_is_too_late_and_the_lead_is_lost(leads_db: URL) -> None:
    claire = _lead(leads_db, "D01:L300")
    assert claire.crm_status == "open"
    assert claire.outcome == "lost"
    assert claire.sale_source_record_id is None
    assert claire.days_to_sale is None


def test_a_new_car_registered_by_the_oem_but_sold_by_no_rooftop_is_sold_elsewhere(
    leads_db: URL,
) -> None:
    daniel = _lead(leads_db, "D03:L500")
    assert daniel.outcome == "sold_elsewhere"
    assert daniel.sale_source_record_id == "HON-0500"
    assert daniel.sale_dealer_code is None
    assert daniel.days_to_sale == 45


def test_a_recent_lead_without_a_sale_stays_open(leads_db: URL) -> None:
    assert _lead(leads_db, "D01:L600").outcome == "open"


def test_a_paid_lead_for_a_customer_who_bought_years_ago_under_another_name_is_known(
    leads_db: URL,
) -> None:
    bob = _lead(leads_db, "D01:L400")
    assert bob.is_paid
    assert bob.cost_amount == Decimal("25.00")
    assert bob.was_known_customer
    assert bob.known_since_date.isoformat() == "2023-05-10"
    assert bob.known_since_source_record_id == "D02:S400"
    assert bob.outcome == "lost"  # past the window, no sale
    for new in ("D01:L100", "D01:L200", "D01:L600"):
        assert not _lead(leads_db, new).was_known_customer
        assert _lead(leads_db, new).known_since_date is None


def test_a_forgotten_persons_lead_is_counted_but_names_no_one(leads_db: URL) -> None:
    frank = _lead(leads_db, "D02:L700")
    assert frank.customer_id.startswith(ANONYMOUS_PREFIX)
    assert frank.outcome == "lost"
    customer = _query(
        leads_db,
        "select first_name, last_name, email, phone from marts.customers where customer_id = :c",
        c=frank.customer_id,
    )
    assert all(value is None for row in customer for value in row)
    d02 = _query(
        leads_db,
        "select leads, cost_amount from marts.lead_source_performance"
        " where dealer_code = 'D02' and provider = 'AutoTrader' and month_date = '2026-05-01'",
    )
    assert [(r.leads, r.cost_amount) for r in d02] == [(1, Decimal("25.00"))]


def test_every_landed_lead_is_counted_once_and_sold_leads_carry_their_sales_amount(
    leads_db: URL,
) -> None:
    landed = _query(leads_db, "select count(*) as n from raw.crm_leads")[0].n
    outcomes = _query(
        leads_db,
        "select count(*) as n, count(distinct source_record_id) as d from marts.lead_outcomes",
    )[0]
    performance = _query(
        leads_db,
        "select sum(leads) as n, sum(cost_amount) as cost from marts.lead_source_performance",
    )[0]
    assert landed == outcomes.n == outcomes.d == performance.n == 8
    assert performance.cost == Decimal("160.00")
    mismatched = _query(
        leads_db,
        """
        select l.source_record_id from marts.lead_outcomes as l
        inner join raw.dealer_sales as s on s.source_record_id = l.sale_source_record_id
        where l.sale_amount is distinct from cast(s.sale_price as numeric)
        """,
    )
    assert mismatched == []


def test_a_providers_month_shows_cost_per_sale_and_the_share_of_known_customers(
    leads_db: URL,
) -> None:
    rows = {
        (r.dealer_code, r.lead_source, r.provider, r.month_date.isoformat()): r
        for r in _query(leads_db, "select * from marts.lead_source_performance")
    }
    web = rows[("D01", "web", "", "2026-03-01")]  # own channel: no provider, no cost
    assert (web.leads, web.sold, web.close_rate, web.cost_amount) == (1, 1, 1, 0)
    assert web.cost_per_sale == 0
    assert web.median_days_to_sale == 40
    assert web.sales_amount == Decimal("38500.00")
    assert web.known_customer_share is None  # no paid lead
    bruno = rows[("D01", "third_party", "AutoTrader", "2026-02-01")]
    assert (bruno.leads, bruno.people, bruno.sold, bruno.cost_per_sale) == (1, 1, 1, 25)
    assert bruno.sales_amount == Decimal("26900.00")
    bob = rows[("D01", "third_party", "AutoTrader", "2026-06-01")]
    assert (bob.sold, bob.cost_per_sale, bob.known_customer_share) == (0, None, 1)
    claire = rows[("D01", "third_party", "CarGurus", "2026-01-01")]
    assert (claire.sold, claire.close_rate, claire.known_customer_share) == (0, 0, 0)


def test_export_leads_writes_the_filtered_csv_and_an_audit_row(
    leads_db: URL, tmp_path: Path
) -> None:
    out = tmp_path / "leads.csv"
    result = _cli(leads_db, "export", "leads", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(out)) == 8

    known = tmp_path / "known.csv"
    result = _cli(
        leads_db,
        "export",
        "leads",
        "--out",
        str(known),
        "--dealer",
        "d01",
        "--outcome",
        "known_paid",
    )
    assert result.exit_code == 0, result.output
    data = known.read_bytes()
    rows = pd.read_csv(io.BytesIO(data), dtype=str)
    assert rows["source_record_id"].tolist() == ["D01:L400"]
    assert rows["known_since_source_record_id"].tolist() == ["D02:S400"]
    assert rows["last_name"].tolist() == ["Tremblay"]  # the golden record, to claim the credit
    audit = _query(
        leads_db,
        "select actor, action, filters, row_count from raw.audit_log where sha256 = :s",
        s=hashlib.sha256(data).hexdigest(),
    )
    assert [(a.actor, a.action, a.filters, a.row_count) for a in audit] == [
        (getpass.getuser(), "export_leads", {"dealer_code": "D01", "outcome": "known_paid"}, 1)
    ]

    group = tmp_path / "group.csv"
    result = _cli(leads_db, "export", "leads", "--out", str(group), "--outcome", "sold_in_group")
    assert result.exit_code == 0, result.output
    assert sorted(pd.read_csv(group)["source_record_id"]) == ["D01:L200", "D02:L101"]


def test_an_unknown_outcome_is_one_sentence_and_no_file(leads_db: URL, tmp_path: Path) -> None:
    out = tmp_path / "leads.csv"
    before = _query(leads_db, "select count(*) as n from raw.audit_log")[0].n
    result = _cli(leads_db, "export", "leads", "--out", str(out), "--outcome", "sold")
    assert result.exit_code == 1
    assert "Unknown lead outcome 'sold'" in result.output
    assert "known_paid" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert _query(leads_db, "select count(*) as n from raw.audit_log")[0].n == before


def test_a_dealer_role_reads_only_its_rooftops_leads_and_an_oem_role_none(leads_db: URL) -> None:
    engine = db.get_engine(leads_db)
    grants = [access.grant_dealer(engine, "D01"), access.grant_oem(engine, "Toyota")]
    try:
        dealer, oem = (grant.url for grant in grants)
        seen = {r.source_record_id for r in read(dealer, "select * from marts.lead_outcomes")}
        assert seen == {"D01:L100", "D01:L200", "D01:L300", "D01:L400", "D01:L600"}
        rooftops = read(dealer, "select distinct dealer_code from marts.lead_source_performance")
        assert [r.dealer_code for r in rooftops] == ["D01"]
        assert read(oem, "select * from marts.lead_outcomes") == []  # personal data
        assert read(oem, "select * from marts.lead_source_performance") == []  # no brand column
    finally:
        for grant in grants:
            access.revoke(engine, grant.role)
