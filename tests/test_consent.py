"""Consent belongs to its sender; campaigns are recorded and measured.

One hand-built inbox, landed, resolved and modelled once for the module (today pinned to
2026-11-01 as in test_models). Rooftops A01 (Toyota) and A02 (Lexus) belong to one company,
Groupe Nord inc.; B01 (Toyota) and H01 (Honda) are their own senders.
- Ana bought at B01; Ben bought at A01.
- Chloé opted in on a Honda registration and never dealt with a rooftop.
- Dan bought at B01 exactly 24 months before today, Eve one day earlier.
- Fay made a lead at H01 exactly 6 months before today, Gil one day earlier.
- Hugo bought at B01, then said N on a Honda registration, then made a lead at H01.
- Ivy bought at B01 and came back for a customer-paid repair there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from typer.testing import CliRunner

from dealer360 import db
from dealer360.cli import app
from dealer360.forget import forget_customer
from tests.test_models import make_vin, model_inbox, run_dbt

DEALERS = """\
dealer_code,dealer_name,brands,city,region,phone,legal_entity
A01,Toyota Nord,Toyota,Laval,QC,450-555-0001,Groupe Nord inc.
A02,Lexus Nord,Lexus,Laval,QC,450-555-0002,Groupe Nord inc.
B01,Toyota Sud,Toyota,Longueuil,QC,450-555-0003,
H01,Honda Est,Honda,Montréal,QC,514-555-0004,
"""

SALE_HEADER = (
    "dealer_code,deal_id,deal_date,first_name,last_name,email,phone,vin,make,model,"
    "condition,sale_price,payment_type\n"
)
SALES = (
    SALE_HEADER
    + f"""\
B01,S1,2025-06-01,Ana,Bélanger,ana.belanger@fournisseur.ca,514-555-1101,{make_vin("2T1BURHE", 9001)},Toyota,Corolla,new,25000.00,cash
A01,S2,2025-01-10,Ben,Caron,ben.caron@fournisseur.ca,514-555-1102,{make_vin("2T1BURHE", 9002)},Toyota,Corolla,new,25000.00,cash
B01,S3,2024-11-01,Dan,Dubé,dan.dube@fournisseur.ca,514-555-1104,{make_vin("2T1BURHE", 9003)},Toyota,Camry,new,30000.00,cash
B01,S4,2024-10-31,Eve,Fortin,eve.fortin@fournisseur.ca,514-555-1105,{make_vin("2T1BURHE", 9004)},Toyota,Camry,new,30000.00,cash
B01,S5,2026-03-01,Hugo,Lemieux,hugo.lemieux@fournisseur.ca,514-555-1108,{make_vin("2T1BURHE", 9005)},Toyota,RAV4,new,35000.00,cash
B01,S6,2025-03-01,Ivy,Nadeau,ivy.nadeau@fournisseur.ca,514-555-1109,{make_vin("2T1BURHE", 9006)},Toyota,RAV4,new,35000.00,cash
"""
)

SERVICE_ORDERS = f"""\
dealer_code,ro_number,open_date,customer_name,phone,email,vin,pay_type,total_amount
B01,R1,2026-07-15,"NADEAU, IVY",514-555-1109,ivy.nadeau@fournisseur.ca,{make_vin("2T1BURHE", 9006)},customer,250.00
"""

REGISTRATIONS = f"""\
brand,registration_id,vin,registration_date,event,owner_first_name,owner_last_name,phone,email,consent_marketing
Honda,HON-1,{make_vin("2HGFC2F5", 9101)},2026-01-05,new_owner,Chloé,Gauthier,514-555-1103,chloe.gauthier@fournisseur.ca,Y
Honda,HON-2,{make_vin("2HGFC2F5", 9102)},2026-05-01,new_owner,Hugo,Lemieux,514-555-1108,hugo.lemieux@fournisseur.ca,N
"""

LEADS = """\
dealer_code,lead_id,created_at,source,first_name,last_name,email,phone,interest_make,status
H01,L1,2026-05-01T10:00:00-04:00,web,Fay,Gagné,fay.gagne@fournisseur.ca,514-555-1106,Honda,open
H01,L2,2026-04-30T10:00:00-04:00,web,Gil,Hébert,gil.hebert@fournisseur.ca,514-555-1107,Honda,open
H01,L3,2026-08-01T10:00:00-04:00,web,Hugo,Lemieux,hugo.lemieux@fournisseur.ca,514-555-1108,Honda,open
"""

INBOX = {
    "dealers": DEALERS,
    "dealer_sales": SALES,
    "service_orders": SERVICE_ORDERS,
    "oem_registrations": REGISTRATIONS,
    "crm_leads": LEADS,
}

# Each person by one of their records.
RECORDS = {
    "ana": ("dealer_sales", "B01:S1"),
    "ben": ("dealer_sales", "A01:S2"),
    "chloe": ("oem_registrations", "HON-1"),
    "dan": ("dealer_sales", "B01:S3"),
    "eve": ("dealer_sales", "B01:S4"),
    "fay": ("crm_leads", "H01:L1"),
    "gil": ("crm_leads", "H01:L2"),
    "hugo": ("dealer_sales", "B01:S5"),
    "ivy": ("dealer_sales", "B01:S6"),
}
GROUPE_NORD = "Groupe Nord inc."


class Scenario:
    def __init__(self, url: URL, work: Path) -> None:
        self.url = url
        self.work = work
        self.engine: Engine = db.get_engine(url)
        self.ids = {
            person: self.one(
                "select customer_id from resolve.customer_source_map"
                " where source = :s and source_record_id = :r",
                s=source,
                r=record,
            )
            for person, (source, record) in RECORDS.items()
        }

    def query(self, sql: str, **params) -> list[sa.Row]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    def one(self, sql: str, **params):
        return self.query(sql, **params)[0][0]

    def who_may(self, sender: str, channel: str = "email") -> set[str]:
        """The people (scenario names) that `sender` may contact on `channel`."""
        ids = {
            r.customer_id
            for r in self.query(
                "select customer_id from marts.contact_permissions"
                " where sender = :s and channel = :c",
                s=sender,
                c=channel,
            )
        }
        return {person for person, customer_id in self.ids.items() if customer_id in ids}

    def cli(self, *args: str):
        env = {"DATABASE_URL": self.url.render_as_string(hide_password=False), "COLUMNS": "200"}
        return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture(scope="module")
def scenario(template_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    name = f"c_{uuid.uuid4().hex[:12]}"
    url = db.create_database(template_url, name, template=template_url.database)
    work = tmp_path_factory.mktemp("consent")
    engine = model_inbox(url, work, INBOX)
    yield Scenario(url, work)
    engine.dispose()
    db.drop_database(template_url, name)


def test_every_person_is_one_customer(scenario: Scenario) -> None:
    assert len(set(scenario.ids.values())) == len(RECORDS)


def test_implied_consent_from_rooftop_a_does_not_let_rooftop_b_export(
    scenario: Scenario, tmp_path: Path
) -> None:
    assert "ana" in scenario.who_may("B01")
    assert "ana" not in scenario.who_may(GROUPE_NORD)
    for dealer, listed in (("B01", True), ("A01", False)):
        out = tmp_path / f"{dealer}.csv"
        result = scenario.cli("export", "audience", "--out", str(out), "--dealer", dealer)
        assert result.exit_code == 0, result.output
        assert (scenario.ids["ana"] in set(pd.read_csv(out)["customer_id"])) is listed


def test_rooftops_of_one_legal_entity_share_implied_consent(
    scenario: Scenario, tmp_path: Path
) -> None:
    senders = dict(scenario.query("select dealer_code, sender from marts.dealers"))
    assert senders == {"A01": GROUPE_NORD, "A02": GROUPE_NORD, "B01": "B01", "H01": "H01"}
    assert scenario.who_may(GROUPE_NORD) == {"ben"}  # he bought at A01
    out = tmp_path / "a02.csv"
    result = scenario.cli("export", "audience", "--out", str(out), "--dealer", "A02")
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out)["customer_id"]) == [scenario.ids["ben"]]


def test_an_oem_opt_in_is_the_brands_and_reaches_no_dealer_without_a_policy(
    scenario: Scenario, tmp_path: Path
) -> None:
    assert scenario.who_may("oem:Honda") == {"chloe"}
    assert "chloe" not in scenario.who_may("H01")
    row = scenario.query(
        "select consent_basis, source_record_id, consent_expires_on from marts.contact_permissions"
        " where customer_id = :c and sender = 'oem:Honda' and channel = 'email'",
        c=scenario.ids["chloe"],
    )
    assert [tuple(r) for r in row] == [("express_opt_in", "HON-1", None)]
    out = tmp_path / "honda.csv"
    result = scenario.cli("export", "audience", "--out", str(out), "--brand", "honda")
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out)["customer_id"]) == [scenario.ids["chloe"]]


def test_a_sales_24_months_and_a_leads_6_months_expire_on_the_right_day(
    scenario: Scenario,
) -> None:
    # today is 2026-11-01: a deal of 2024-11-01 and a lead of 2026-05-01 hold through today
    assert {"dan"} <= scenario.who_may("B01") and "eve" not in scenario.who_may("B01")
    assert "fay" in scenario.who_may("H01") and "gil" not in scenario.who_may("H01")
    expiry = {
        r.customer_id: (r.consent_basis, str(r.consent_expires_on))
        for r in scenario.query(
            "select customer_id, consent_basis, consent_expires_on from marts.contact_permissions"
            " where channel = 'email' and customer_id in (:d, :f)",
            d=scenario.ids["dan"],
            f=scenario.ids["fay"],
        )
    }
    assert expiry == {
        scenario.ids["dan"]: ("implied_purchase", "2026-11-01"),
        scenario.ids["fay"]: ("implied_inquiry", "2026-11-01"),
    }


def test_an_n_stops_every_sender_even_after_a_later_lead(scenario: Scenario) -> None:
    hugo = scenario.ids["hugo"]
    assert (
        scenario.query("select * from marts.contact_permissions where customer_id = :c", c=hugo)
        == []
    )
    consent = scenario.one(
        "select marketing_consent from marts.customers where customer_id = :c", c=hugo
    )
    assert consent == "withdrawn"


def test_each_channel_needs_its_contact_and_sms_says_phones_are_unverified(
    scenario: Scenario, tmp_path: Path
) -> None:
    assert scenario.who_may("B01", "sms") == scenario.who_may("B01", "email")
    out = tmp_path / "sms.csv"
    result = scenario.cli(
        "export", "audience", "--out", str(out), "--dealer", "B01", "--channel", "sms"
    )
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(out)["channel"]) == {"sms"}
    assert "mobiles is not known" in scenario.cli("export", "audience", "--help").output


def test_a_list_needs_one_sender(scenario: Scenario, tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    result = scenario.cli("export", "audience", "--out", str(out))
    assert result.exit_code == 1
    assert "needs its sender" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_members_and_controls_are_recorded_and_controls_are_not_in_the_file(
    scenario: Scenario, tmp_path: Path
) -> None:
    out = tmp_path / "b01.csv"
    result = scenario.cli(
        "export", "audience", "--out", str(out), "--dealer", "B01", "--control-share", "0.5"
    )
    assert result.exit_code == 0, result.output
    in_file = set(pd.read_csv(out)["customer_id"])
    export_id, filters, row_count = scenario.query(
        "select audit_id, filters, row_count from raw.audit_log"
        " where action = 'export_audience' order by audit_id desc limit 1"
    )[0]
    members = dict(
        scenario.query(
            "select customer_id, is_control from raw.export_members where export_id = :e",
            e=export_id,
        )
    )
    listed = {scenario.ids[p] for p in scenario.who_may("B01")}
    assert set(members) == listed  # everyone B01 may contact, once
    controls = {c for c, is_control in members.items() if is_control}
    assert len(controls) == round(0.5 * len(listed)) > 0
    assert in_file == listed - controls
    assert not in_file & controls
    assert row_count == len(in_file)
    assert filters["sender"] == "B01" and filters["seed"] == export_id
    assert filters["controls"] == len(controls)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), scenario.engine.begin() as conn:
        conn.execute(
            sa.text("delete from raw.export_members where export_id = :e"), {"e": export_id}
        )


@pytest.fixture(scope="module")
def with_policy_and_a_campaign(scenario: Scenario) -> Scenario:
    """Honda's policy says its form covers its franchised rooftops; and a list B01 sent on
    2026-06-01 with Ana and Dan as targets and Ivy and Eve as controls (Ivy had a repair at B01
    on 2026-07-15). The marts that read them are rebuilt."""
    with scenario.engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into reference.oem_consent_policy (brand, covers_franchised_rooftops)"
                " values ('Honda', true)"
            )
        )
        export_id = conn.scalar(
            sa.text(
                "insert into raw.audit_log (at, actor, action, filters, row_count)"
                " values ('2026-06-01 09:00-04', 'pytest', 'export_audience',"
                ' \'{"sender": "B01", "channel": "email"}\', 2) returning audit_id'
            )
        )
        ids = scenario.ids
        conn.execute(
            sa.text(
                "insert into raw.export_members (export_id, customer_id, is_control)"
                " values (:e, :ana, false), (:e, :dan, false), (:e, :ivy, true), (:e, :eve, true)"
            ),
            {"e": export_id, **{p: ids[p] for p in ("ana", "dan", "ivy", "eve")}},
        )
    scenario.campaign = export_id
    run_dbt(
        scenario.url,
        scenario.work,
        "run",
        "--select",
        "int_sender_consent int_customer_consent contact_permissions campaign_audience"
        " campaign_results",
    )
    return scenario


def test_an_oem_opt_in_reaches_its_franchised_dealers_under_the_policy(
    with_policy_and_a_campaign: Scenario,
) -> None:
    scenario = with_policy_and_a_campaign
    assert "chloe" in scenario.who_may("H01")
    assert "chloe" not in scenario.who_may("B01")  # a Toyota rooftop: not Honda's form
    granted = scenario.one(
        "select granted_to from marts.contact_permissions"
        " where customer_id = :c and sender = 'H01' and channel = 'email'",
        c=scenario.ids["chloe"],
    )
    assert granted == "oem:Honda"


def test_campaign_results_count_a_control_who_bought(with_policy_and_a_campaign: Scenario) -> None:
    scenario = with_policy_and_a_campaign
    result = scenario.query(
        "select * from marts.campaign_results where export_id = :e", e=scenario.campaign
    )[0]
    assert (result.targets, result.controls) == (2, 2)
    assert (result.target_responders, result.control_responders) == (0, 1)
    assert float(result.lift) == -0.5
    assert float(result.lift_low) < -0.5 < float(result.lift_high)


def test_forget_keeps_a_lists_count_but_not_who_was_on_it(
    with_policy_and_a_campaign: Scenario,
) -> None:
    # The campaign puts Ana on a list whatever ran before (a module fixture is built anew
    # when a worker interleaves another file's tests).
    scenario = with_policy_and_a_campaign
    ana = scenario.ids["ana"]
    before = scenario.query(
        "select export_id, is_control from raw.export_members where customer_id = :c", c=ana
    )
    assert before, "Ana was on no list"
    total = scenario.one("select count(*) from raw.export_members")
    forget_customer(scenario.engine, ana, actor="pytest")
    assert scenario.one("select count(*) from raw.export_members") == total
    assert scenario.query("select 1 from raw.export_members where customer_id = :c", c=ana) == []
    kept = scenario.query(
        "select export_id, is_control, customer_id from raw.export_members"
        " where customer_id like 'anon-%' order by export_id"
    )
    assert [(r.export_id, r.is_control) for r in kept] == sorted(map(tuple, before))
