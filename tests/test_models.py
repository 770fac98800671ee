"""The customer journey in dbt, on a small hand-built inbox.

One inbox holds every scenario below; it is landed (ingest), resolved (entity_resolution)
and modelled (`dbt build`, today pinned to 2026-11-01) once for the module, and each test
reads the marts for one behaviour a user would notice.

Scenarios (one person per line unless said otherwise; every person has their own name,
e-mail and phone, so identity resolution has no doubt about who is who):
- Alice buys a new Corolla at D01, services it, trades it in on a Camry; D01 resells the
  Corolla used to Bruno, who then services it.
- Claire buys a RAV4 for $28k, then a Highlander for $41k, and services them for years.
- Daniel leases a Civic at D02 for 48 months, ending three months after "today".
- Emma opts in on her first OEM registration (Y) and out on her second (N).
- Hélène bought a Golf over two years ago and was never heard of since; Isabelle bought a
  Jetta 15 months ago.
- Jacques's deal has the dealer's own phone and a placeholder e-mail; the OEM transfer of
  his car, his later repair order and his lead carry his real ones. Karine, his spouse,
  lives at the same address.
- Marc buys a truck for his company.
- Sophie Bouchard and Luc Gauthier, a couple at one address with different surnames, their
  own mobiles and birth dates, write one family mailbox on both their deals.
- One warranty and one internal repair order, so pay types are shown apart.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from dbt.cli.main import dbtRunner
from sqlalchemy.engine import URL, Engine

import entity_resolution
from dealer360 import db
from ingest.loader import load_inbox
from ingest.vin import check_digit

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
AS_OF = "2026-11-01"


def make_vin(prefix: str, serial: int) -> str:
    """A valid North-American VIN: 8 characters of make and model, its check digit, then
    model-year, plant and serial."""
    body = f"{prefix}0KC{serial:06d}"
    return body[:8] + check_digit(body) + body[9:]


COROLLA_ALICE = make_vin("2T1BURHE", 1001)
CAMRY_ALICE = make_vin("4T1B11HK", 1002)
RAV4_CLAIRE = make_vin("2T3W1RFV", 2001)
HIGHLANDER_CLAIRE = make_vin("5TDJZRFH", 2002)
CIVIC_DANIEL = make_vin("2HGFC2F5", 3001)
CRV_EMMA = make_vin("2HKRW2H5", 4001)
ACCORD_EMMA = make_vin("1HGCV1F3", 4002)
GOLF_HELENE = make_vin("3VW5T7AU", 5001)
JETTA_ISABELLE = make_vin("3VWC57BU", 5002)
TIGUAN_JACQUES = make_vin("3VV2B7AX", 6001)
ATLAS_KARINE = make_vin("1V2DR2CA", 6002)
RIDGELINE_MARC = make_vin("5FPYK3F5", 7001)
CRV_SOPHIE = make_vin("2HKRW2H5", 8001)
CIVIC_LUC = make_vin("2HGFC2F5", 8002)

# The scenario inbox, one CSV per source (columns as the landing contract names them).
DEALERS = """\
dealer_code,dealer_name,brands,city,region,phone
D01,Toyota Rive-Sud,Toyota,Longueuil,QC,(450) 555-0100
D02,Honda Centre-Ville,Honda|Acura,Montréal,QC,514-555-0200
D03,Volkswagen Laval,Volkswagen,Laval,QC,450.555.0300
"""

# Jacques's deal F100 carries a placeholder e-mail and the dealership's own phone.
SALES = f"""\
dealer_code,deal_id,deal_date,first_name,last_name,company_name,email,phone,street,city,region,postal_code,birth_date,vin,make,model,model_year,condition,sale_price,payment_type,term_months,trade_in_vin
D01,A100,2019-03-10,Alice,Martin,,alice.martin@videotron.ca,514-555-1001,12 rue des Érables,Longueuil,QC,J4K 1A1,1980-02-14,{COROLLA_ALICE},Toyota,Corolla,2019,new,24500.00,cash,,
D01,A101,2022-05-01,Alice,Martin,,alice.martin@videotron.ca,514-555-1001,12 rue des Érables,Longueuil,QC,J4K 1A1,1980-02-14,{CAMRY_ALICE},Toyota,Camry,2022,new,36000.00,finance,60,{COROLLA_ALICE}
D01,A102,2022-06-15,Bruno,Lefebvre,,bruno.lefebvre@gmail.com,438-555-2002,45 boulevard Taschereau,Greenfield Park,QC,J4V 2H1,1991-07-30,{COROLLA_ALICE},Toyota,Corolla,2019,used,17900.00,finance,48,
D01,B100,2018-04-01,Claire,Tremblay,,claire.tremblay@hotmail.com,450-555-3003,8 rue Saint-Charles,Longueuil,QC,J4H 1C5,1975-11-02,{RAV4_CLAIRE},Toyota,RAV4,2018,new,28000.00,finance,60,
D01,B101,2024-09-15,Claire,Tremblay,,claire.tremblay@hotmail.com,450-555-3003,8 rue Saint-Charles,Longueuil,QC,J4H 1C5,1975-11-02,{HIGHLANDER_CLAIRE},Toyota,Highlander,2024,new,41000.00,cash,,{RAV4_CLAIRE}
D02,C100,2023-02-01,Daniel,Roy,,daniel.roy@outlook.com,514-555-4004,300 avenue du Parc,Montréal,QC,H2V 4E6,1988-03-21,{CIVIC_DANIEL},Honda,Civic,2023,new,29500.00,lease,48,
D02,D100,2021-05-01,Emma,Gagnon,,emma.gagnon@gmail.com,514-555-5005,77 rue Jarry,Montréal,QC,H2P 1S5,1983-09-09,{CRV_EMMA},Honda,CR-V,2021,new,35250.50,finance,72,
D02,D101,2024-03-01,EMMA,GAGNON,,emma.gagnon@gmail.com,514-555-5005,77 rue Jarry,Montréal,QC,H2P 1S5,1983-09-09,{ACCORD_EMMA},HONDA,Accord,2024,NEW,38990.99,Cash,,
D03,E100,2023-06-01,Hélène,Pelletier,,helene.pelletier@sympatico.ca,450-555-6006,9 rue Principale,Laval,QC,H7N 3K2,1969-05-17,{GOLF_HELENE},Volkswagen,Golf,2023,new,31000.00,cash,,
D03,E200,2025-08-01,Isabelle,Girard,,isabelle.girard@yahoo.ca,450-555-7007,150 boulevard Cartier,Laval,QC,H7N 2J5,1995-12-01,{JETTA_ISABELLE},VW,Jetta,2025,new,27000.00,cash,,
D03,F100,2020-10-10,Jacques,Morin,,noemail@vwlaval.ca,450.555.0300,22 rue Lévis,Laval,QC,H7M 1A1,1972-04-04,{TIGUAN_JACQUES},Volkswagen,Tiguan,2020,cpo,26000.00,finance,84,
D03,F101,2024-04-04,Karine,Morin,,karine.morin@videotron.ca,450-555-9009,22 rue Lévis,Laval,QC,H7M 1A1,1974-08-19,{ATLAS_KARINE},Volkswagen,Atlas,2024,new,48000.00,lease,36,
D02,G100,2022-02-02,Marc,Lavoie,Construction Lavoie inc.,marc@constructionlavoie.ca,514-555-1010,1200 rue Industrielle,Montréal,QC,H1P 2W3,,{RIDGELINE_MARC},Honda,Ridgeline,2022,new,52000.00,finance,60,
D02,H100,2025-05-10,Sophie,Bouchard,,famille.bouchard.gauthier@videotron.ca,514-555-1101,45 rue Fleury Est,Montréal,QC,H2C 1N8,1986-06-12,{CRV_SOPHIE},Honda,CR-V,2025,new,39000.00,finance,60,
D02,H101,2025-11-20,Luc,Gauthier,,famille.bouchard.gauthier@videotron.ca,438-555-1102,45 rue Fleury Est,Montréal,QC,H2C 1N8,1984-01-25,{CIVIC_LUC},Honda,Civic,2025,new,28000.00,cash,,
"""

# R300 is the dealer reconditioning Alice's trade-in before reselling it: internal pay,
# no customer on it.
SERVICE_ORDERS = f"""\
dealer_code,ro_number,open_date,customer_name,phone,email,vin,mileage,pay_type,labor_amount,parts_amount,total_amount,description
D01,R100,2020-03-12,"MARTIN, ALICE",514 555 1001,alice.martin@videotron.ca,{COROLLA_ALICE},15000,customer,89.95,100.00,189.95,Oil change
D01,R300,2022-06-01,,,,{COROLLA_ALICE},46000,internal,250.00,150.00,400.00,Used-vehicle reconditioning
D01,R101,2023-01-10,"LEFEBVRE, BRUNO",438-555-2002,bruno.lefebvre@gmail.com,{COROLLA_ALICE},48000,customer,212.30,200.00,412.30,Brakes
D01,R200,2019-04-01,Claire Tremblay,450-555-3003,claire.tremblay@hotmail.com,{RAV4_CLAIRE},12000,customer,150.00,200.00,350.00,Scheduled maintenance
D01,R201,2021-05-10,"TREMBLAY, CLAIRE",450-555-3003,claire.tremblay@hotmail.com,{RAV4_CLAIRE},45000,customer,300.00,320.00,620.00,Scheduled maintenance
D01,R202,2023-06-20,Claire Tremblay,450-555-3003,claire.tremblay@hotmail.com,{RAV4_CLAIRE},71000,warranty,480.00,400.00,880.00,Water pump
D01,R203,2025-09-20,Claire Tremblay,450-555-3003,claire.tremblay@hotmail.com,{HIGHLANDER_CLAIRE},9000,customer,110.00,100.00,210.00,Oil change
D01,R204,2026-08-15,Claire Tremblay,450-555-3003,claire.tremblay@hotmail.com,{HIGHLANDER_CLAIRE},21000,customer,130.00,130.00,260.00,Tire rotation
D03,R400,2025-03-03,"MORIN, JACQUES",514-555-8008,jacques.morin@gmail.com,{TIGUAN_JACQUES},88000,customer,400.00,555.55,955.55,Timing chain
"""

REGISTRATIONS = f"""\
brand,registration_id,vin,registration_date,event,owner_first_name,owner_last_name,street,city,region,postal_code,phone,email,consent_marketing
Toyota,TOY-0001,{HIGHLANDER_CLAIRE},2024-09-20,new_owner,Claire,Tremblay,8 rue Saint-Charles,Longueuil,QC,J4H1C5,4505553003,claire.tremblay@hotmail.com,
Honda,HON-0001,{CIVIC_DANIEL},2023-02-05,new_owner,Daniel,Roy,300 avenue du Parc,Montréal,QC,H2V 4E6,+1 514 555 4004,daniel.roy@outlook.com,Y
Honda,HON-0002,{CRV_EMMA},2021-05-03,new_owner,Emma,Gagnon,77 rue Jarry,Montréal,QC,H2P 1S5,514-555-5005,emma.gagnon@gmail.com,Y
Honda,HON-0003,{ACCORD_EMMA},2024-03-04,new_owner,Emma,Gagnon,77 rue Jarry,Montréal,QC,H2P 1S5,514-555-5005,emma.gagnon@gmail.com,N
Volkswagen,VWC-0001,{TIGUAN_JACQUES},2020-10-14,transfer,Jacques,Morin,22 rue Lévis,Laval,QC,H7M 1A1,514-555-8008,jacques.morin@gmail.com,
"""

LEADS = """\
dealer_code,lead_id,created_at,source,first_name,last_name,email,phone,interest_make,interest_model,status
D02,L200,2026-09-15T10:30:00-04:00,web,Emma,Gagnon,emma.gagnon@gmail.com,514-555-5005,Acura,RDX,open
D03,L300,2026-10-20T14:00:00-04:00,phone,Jacques,Morin,jacques.morin@gmail.com,514-555-8008,Volkswagen,Atlas,open
"""

# The output contract's marts and the columns each promises (shared/contracts/outputs.md).
CONTRACT_COLUMNS = {
    "customers": """customer_id first_name last_name company_name email phone street city region
        postal_code birth_date household_id is_business first_seen_date last_seen_date
        vehicles_owned_count lifetime_sales_amount lifetime_service_amount marketing_consent
        home_dealer_code""",
    "customer_events": """customer_id event_date event_type dealer_code brand vin amount source
        source_record_id description""",
    "vehicle_ownership": "vin customer_id owned_from owned_to make model model_year acquired_as",
    "brand_ladder_opportunities": """customer_id current_brand target_brand manufacturer_group
        score reasons""",
    "in_market": "customer_id dealer_code score drivers next_best_action",
    "campaign_audience": "customer_id email phone consent_basis consent_expires_on",
}


INBOX = {
    "dealers": DEALERS,
    "dealer_sales": SALES,
    "service_orders": SERVICE_ORDERS,
    "oem_registrations": REGISTRATIONS,
    "crm_leads": LEADS,
}


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def write_inbox(root: Path, inbox: dict[str, str] | None = None) -> Path:
    """A scenario (by default the ones above) as an inbox that follows the landing contract:
    one CSV per source."""
    for source, text in (INBOX if inbox is None else inbox).items():
        (root / source).mkdir(parents=True, exist_ok=True)
        (root / source / f"{source}.csv").write_text(text, encoding="utf-8")
    return root


def model_inbox(url: URL, work_dir: Path, inbox: dict[str, str]) -> Engine:
    """A hand-built scenario landed, resolved and modelled (today pinned) in the database at
    `url`; returns its engine."""
    engine = db.get_engine(url)
    load_inbox(engine, write_inbox(work_dir / "inbox", inbox))
    entity_resolution.resolve(engine)
    run_dbt(url, work_dir, "build")
    return engine


def run_dbt(url: URL, work_dir: Path, *args: str) -> None:
    """`dbt <args>` on the project, against the database at `url`, with today pinned."""
    with pytest.MonkeyPatch.context() as env:
        for key, value in db.dbt_env(url).items():
            env.setenv(key, value)
        result = dbtRunner().invoke(
            [
                *args,
                "--project-dir", str(DBT_PROJECT),
                "--profiles-dir", str(DBT_PROJECT),
                "--target-path", str(work_dir / "target"),
                "--log-path", str(work_dir / "logs"),
                "--vars", f"{{as_of_date: '{AS_OF}'}}",
            ]
        )  # fmt: skip
    if not result.success:
        failures = [
            f"{r.node.unique_id}: {r.status} {r.message}"
            for r in (result.result or [])
            if str(r.status) not in ("success", "pass")
        ]
        pytest.fail(f"dbt {' '.join(args)} failed: {result.exception or failures}")


@pytest.fixture(scope="module")
def journey(template_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The scenario inbox landed, resolved and modelled, in a database of its own."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    url = db.create_database(template_url, name, template=template_url.database)
    engine = db.get_engine(url)
    work = tmp_path_factory.mktemp("journey")
    load_inbox(engine, write_inbox(work / "inbox"))
    entity_resolution.resolve(engine)
    run_dbt(url, work, "build")
    yield engine
    engine.dispose()
    db.drop_database(template_url, name)


def _query(engine: Engine, sql: str, **params) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def _customer_of(engine: Engine, source: str, source_record_id: str) -> str:
    rows = _query(
        engine,
        "select customer_id from resolve.customer_source_map"
        " where source = :source and source_record_id = :id",
        source=source,
        id=source_record_id,
    )
    assert rows, f"{source} {source_record_id} has no customer"
    return rows[0].customer_id


def test_every_mart_has_the_contract_columns(journey: Engine) -> None:
    for table, names in CONTRACT_COLUMNS.items():
        expected = set(names.split())
        columns = {
            r.column_name
            for r in _query(
                journey,
                "select column_name from information_schema.columns"
                " where table_schema = 'marts' and table_name = :t",
                t=table,
            )
        }
        assert expected <= columns, f"marts.{table} lacks {expected - columns}"


def test_money_columns_are_numeric_and_dates_are_dates(journey: Engine) -> None:
    types = {
        (r.table_name, r.column_name): r.data_type
        for r in _query(
            journey,
            "select table_name, column_name, data_type from information_schema.columns"
            " where table_schema = 'marts'",
        )
    }
    for (table, column), data_type in types.items():
        if column.endswith("_amount") or column == "amount":
            assert data_type == "numeric", f"marts.{table}.{column} is {data_type}"
        if column.endswith("_date") or column in ("owned_from", "owned_to", "consent_expires_on"):
            assert data_type == "date", f"marts.{table}.{column} is {data_type}"


def test_service_after_a_resale_belongs_to_the_new_owner(journey: Engine) -> None:
    alice = _customer_of(journey, "dealer_sales", "D01:A100")
    bruno = _customer_of(journey, "dealer_sales", "D01:A102")
    assert alice != bruno
    events = {
        r.source_record_id: r.customer_id
        for r in _query(
            journey,
            "select source_record_id, customer_id from marts.customer_events"
            " where event_type = 'service' and vin = :vin and customer_id is not null",
            vin=COROLLA_ALICE,
        )
    }
    assert events["D01:R100"] == alice  # before the trade-in
    assert events["D01:R101"] == bruno  # after the resale
    owner_at_service = _query(
        journey,
        "select customer_id from marts.vehicle_ownership"
        " where vin = :vin and owned_from <= date '2023-01-10'"
        " and (owned_to is null or owned_to > date '2023-01-10')",
        vin=COROLLA_ALICE,
    )
    assert [r.customer_id for r in owner_at_service] == [bruno]


def test_each_ownership_period_counts_its_owners_service_visits(journey: Engine) -> None:
    alice = _customer_of(journey, "dealer_sales", "D01:A100")
    bruno = _customer_of(journey, "dealer_sales", "D01:A102")
    periods = {
        r.customer_id: r
        for r in _query(
            journey,
            "select ownership_id, customer_id, service_visit_count, last_service_date,"
            " service_billed_amount from marts.vehicle_ownership where vin = :vin",
            vin=COROLLA_ALICE,
        )
    }
    # the dealer's own reconditioning (R300, no customer) is nobody's visit
    assert (periods[alice].service_visit_count, str(periods[alice].last_service_date)) == (
        1,
        "2020-03-12",
    )
    assert periods[alice].service_billed_amount == Decimal("189.95")
    assert (periods[bruno].service_visit_count, periods[bruno].service_billed_amount) == (
        1,
        Decimal("412.30"),
    )
    visit = _query(
        journey,
        "select ownership_id from marts.customer_events where source_record_id = 'D01:R101'",
    )
    assert [r.ownership_id for r in visit] == [periods[bruno].ownership_id]


def test_a_repair_orders_free_text_name_is_split_as_identity_resolution_split_it(
    journey: Engine,
) -> None:
    names = {
        r.source_record_id: (r.first_name, r.last_name)
        for r in _query(
            journey,
            "select source_record_id, first_name, last_name"
            " from intermediate.int_person_records where source = 'service_orders'",
        )
    }
    assert names["D01:R100"] == ("ALICE", "MARTIN")  # LAST, FIRST, as typed
    assert names["D01:R200"] == ("Claire", "Tremblay")  # no comma: the resolver decides
    assert names["D01:R300"] == (None, None)


def test_a_trade_in_closes_the_previous_owners_period(journey: Engine) -> None:
    alice = _customer_of(journey, "dealer_sales", "D01:A100")
    bruno = _customer_of(journey, "dealer_sales", "D01:A102")
    periods = _query(
        journey,
        "select customer_id, owned_from, owned_to, acquired_as, make, model"
        " from marts.vehicle_ownership where vin = :vin order by owned_from",
        vin=COROLLA_ALICE,
    )
    assert [
        (p.customer_id, str(p.owned_from), str(p.owned_to), p.acquired_as) for p in periods
    ] == [
        (alice, "2019-03-10", "2022-05-01", "new"),
        (bruno, "2022-06-15", "None", "used"),
    ]
    assert {(p.make, p.model) for p in periods} == {("Toyota", "Corolla")}
    claire_rav4 = _query(
        journey,
        "select owned_to from marts.vehicle_ownership where vin = :vin",
        vin=RAV4_CLAIRE,
    )
    assert [str(r.owned_to) for r in claire_rav4] == ["2024-09-15"]


def test_a_registration_after_the_deal_is_the_same_ownership(journey: Engine) -> None:
    periods = _query(
        journey,
        "select owned_from, owned_to, acquired_as from marts.vehicle_ownership where vin = :vin",
        vin=HIGHLANDER_CLAIRE,
    )
    assert [(str(p.owned_from), p.owned_to, p.acquired_as) for p in periods] == [
        ("2024-09-15", None, "new")
    ]


def test_sales_and_service_totals_reconcile_to_the_cent(journey: Engine) -> None:
    sales = sum(Decimal(sale["sale_price"]) for sale in rows(SALES))
    by_pay_type = {
        pay: sum(
            Decimal(ro["total_amount"]) for ro in rows(SERVICE_ORDERS) if ro["pay_type"] == pay
        )
        for pay in ("customer", "warranty", "internal")
    }
    totals = _query(
        journey,
        "select sum(lifetime_sales_amount) as sales, sum(lifetime_service_amount) as service,"
        " sum(lifetime_warranty_amount) as warranty, sum(lifetime_internal_amount) as internal"
        " from marts.customers",
    )[0]
    assert (totals.sales, totals.service, totals.warranty, totals.internal) == (
        sales,
        by_pay_type["customer"],
        by_pay_type["warranty"],
        by_pay_type["internal"],
    )
    by_dealer_brand = _query(
        journey,
        "select sum(sales_amount) as sales, sum(service_amount) as service"
        " from marts.customer_value_by_dealer_brand",
    )[0]
    assert (by_dealer_brand.sales, by_dealer_brand.service) == (sales, by_pay_type["customer"])
    claire = _customer_of(journey, "dealer_sales", "D01:B100")
    claire_value = _query(
        journey,
        "select lifetime_sales_amount, lifetime_service_amount, lifetime_warranty_amount"
        " from marts.customers where customer_id = :c",
        c=claire,
    )[0]
    assert tuple(claire_value) == (Decimal("69000.00"), Decimal("1440.00"), Decimal("880.00"))


def test_a_toyota_owner_whose_spend_rises_gets_a_lexus_opportunity(journey: Engine) -> None:
    claire = _customer_of(journey, "dealer_sales", "D01:B100")
    opportunities = _query(
        journey,
        "select current_brand, target_brand, manufacturer_group, score, reasons"
        " from marts.brand_ladder_opportunities where customer_id = :c",
        c=claire,
    )
    assert len(opportunities) == 1
    lexus = opportunities[0]
    assert (lexus.current_brand, lexus.target_brand, lexus.manufacturer_group) == (
        "Toyota",
        "Lexus",
        "Toyota Motor",
    )
    assert lexus.score >= 80
    assert "Last two Toyota purchases rose from $28k to $41k" in lexus.reasons
    assert "within 9% of Lexus entry ($45k)" in lexus.reasons
    assert "years of service loyalty" in lexus.reasons


def test_a_lease_ending_in_three_months_is_in_market(journey: Engine) -> None:
    daniel = _customer_of(journey, "dealer_sales", "D02:C100")
    rows = _query(
        journey,
        "select dealer_code, score, drivers, driver_codes, next_best_action"
        " from marts.in_market where customer_id = :c",
        c=daniel,
    )
    assert len(rows) == 1
    at_d02 = rows[0]
    assert at_d02.dealer_code == "D02"
    assert "lease on 2023 Honda Civic ends 2027-02-01 (in 3 months)" in at_d02.drivers
    assert at_d02.driver_codes[0] == "lease_maturity"
    assert "lease" in at_d02.next_best_action
    assert 0 < at_d02.score <= 100


def test_an_in_market_customer_carries_the_makes_they_dealt_with(journey: Engine) -> None:
    daniel = _customer_of(journey, "dealer_sales", "D02:C100")
    brands = _query(journey, "select brands from marts.in_market where customer_id = :c", c=daniel)
    assert "Honda" in brands[0].brands


def test_a_ladder_step_is_a_make_with_a_next_rung(journey: Engine) -> None:
    moves = _query(
        journey, "select distinct from_brand, is_from_ladder_step from marts.brand_ladder_moves"
    )
    assert moves
    steps = {r.from_brand: r.is_from_ladder_step for r in moves}
    assert steps.get("Toyota", True) and not steps.get("Lexus", False)


def test_an_open_lead_brings_a_customer_in_market_at_its_dealer(journey: Engine) -> None:
    jacques = _customer_of(journey, "crm_leads", "D03:L300")
    rows = _query(
        journey,
        "select dealer_code, drivers from marts.in_market where customer_id = :c",
        c=jacques,
    )
    drivers = {r.dealer_code: r.drivers for r in rows}
    assert "open phone lead for Volkswagen Atlas since 2026-10-20" in drivers["D03"]


def test_a_later_opt_out_beats_an_older_opt_in(journey: Engine) -> None:
    emma = _customer_of(journey, "oem_registrations", "HON-0002")
    assert emma == _customer_of(journey, "oem_registrations", "HON-0003")
    consent = _query(
        journey, "select marketing_consent from marts.customers where customer_id = :c", c=emma
    )
    # her open lead of 2026-09-15 would imply consent, but a withdrawal stands
    assert [r.marketing_consent for r in consent] == ["withdrawn"]
    audience = _query(
        journey, "select 1 from marts.campaign_audience where customer_id = :c", c=emma
    )
    assert audience == []


def test_express_consent_holds_until_withdrawn(journey: Engine) -> None:
    daniel = _customer_of(journey, "oem_registrations", "HON-0001")
    audience = _query(
        journey,
        "select sender, channel, email, phone, consent_basis, consent_expires_on"
        " from marts.campaign_audience where customer_id = :c order by channel",
        c=daniel,
    )
    # the opt-in is Honda's (his lease's implied consent at D02 has expired)
    assert [tuple(r) for r in audience] == [
        ("oem:Honda", channel, "daniel.roy@outlook.com", "+15145554004", "express_opt_in", None)
        for channel in ("email", "sms")
    ]


def test_implied_consent_expires_two_years_after_the_purchase(journey: Engine) -> None:
    helene = _customer_of(journey, "dealer_sales", "D03:E100")
    isabelle = _customer_of(journey, "dealer_sales", "D03:E200")
    consent = {
        r.customer_id: r.marketing_consent
        for r in _query(
            journey,
            "select customer_id, marketing_consent from marts.customers"
            " where customer_id in (:h, :i)",
            h=helene,
            i=isabelle,
        )
    }
    assert consent == {helene: "none", isabelle: "implied"}
    audience = {
        r.customer_id: (r.consent_basis, str(r.consent_expires_on))
        for r in _query(
            journey,
            "select customer_id, consent_basis, consent_expires_on from marts.campaign_audience"
            " where customer_id in (:h, :i) and sender = 'D03' and channel = 'email'",
            h=helene,
            i=isabelle,
        )
    }
    assert audience == {isabelle: ("implied_purchase", "2027-08-01")}


def test_placeholders_and_the_dealers_phone_never_reach_the_golden_record(
    journey: Engine,
) -> None:
    jacques = _customer_of(journey, "dealer_sales", "D03:F100")
    assert jacques == _customer_of(journey, "crm_leads", "D03:L300")
    golden = _query(
        journey,
        "select first_name, last_name, email, phone, street, email_source, email_source_record_id"
        " from marts.customers where customer_id = :c",
        c=jacques,
    )[0]
    assert (golden.first_name, golden.last_name) == ("Jacques", "Morin")
    assert (golden.email, golden.phone) == ("jacques.morin@gmail.com", "+15145558008")
    assert (golden.email_source, golden.email_source_record_id) == ("crm_leads", "D03:L300")
    assert golden.street == "22 rue Lévis"


def test_a_name_typed_in_capitals_is_shown_as_typed_elsewhere(journey: Engine) -> None:
    emma = _customer_of(journey, "dealer_sales", "D02:D101")  # typed EMMA GAGNON
    golden = _query(
        journey, "select first_name, last_name from marts.customers where customer_id = :c", c=emma
    )
    assert [tuple(r) for r in golden] == [("Emma", "Gagnon")]


def test_spouses_at_one_address_share_a_household(journey: Engine) -> None:
    jacques = _customer_of(journey, "dealer_sales", "D03:F100")
    karine = _customer_of(journey, "dealer_sales", "D03:F101")
    assert jacques != karine
    households = _query(
        journey,
        "select customer_id, household_id from marts.customers where customer_id in (:j, :k)",
        j=jacques,
        k=karine,
    )
    assert len({r.household_id for r in households}) == 1


def test_a_family_mailbox_couple_stays_two_with_one_household(journey: Engine) -> None:
    # different surnames, no shared phone: only the family mailbox ties them together
    sophie = _customer_of(journey, "dealer_sales", "D02:H100")
    luc = _customer_of(journey, "dealer_sales", "D02:H101")
    assert sophie != luc
    households = _query(
        journey,
        "select customer_id, household_id, household_size from intermediate.int_households"
        " where customer_id in (:s, :l)",
        s=sophie,
        l=luc,
    )
    assert len(households) == 2
    assert {(r.household_id, r.household_size) for r in households} in (
        {(f"H-{sophie}", 2)},
        {(f"H-{luc}", 2)},
    )
    shown = _query(
        journey,
        "select household_id from marts.customers where customer_id in (:s, :l)",
        s=sophie,
        l=luc,
    )
    assert {r.household_id for r in shown} == {households[0].household_id}


def test_a_company_buyer_is_a_business(journey: Engine) -> None:
    marc = _customer_of(journey, "dealer_sales", "D02:G100")
    rows = _query(
        journey,
        "select company_name, is_business, household_id from marts.customers where customer_id = :c",
        c=marc,
    )
    assert [tuple(r) for r in rows] == [("Construction Lavoie inc.", True, None)]


def test_every_landed_sale_ro_registration_and_lead_is_one_event(journey: Engine) -> None:
    counts = dict(
        _query(journey, "select event_type, count(*) from marts.customer_events group by 1")
    )
    assert counts == {
        "sale": len(rows(SALES)),
        "service": len(rows(SERVICE_ORDERS)),
        "registration": sum(r["event"] == "new_owner" for r in rows(REGISTRATIONS)),
        "transfer": sum(r["event"] == "transfer" for r in rows(REGISTRATIONS)),
        "lead": len(rows(LEADS)),
    }
