"""The service lane and the deal desk (marts.open_recalls, marts.service_worklist,
marts.equity_positions) and `dealer360 export worklist`, on one hand-built inbox landed,
resolved and modelled once for the module (today pinned to 2026-11-01).

Rooftops: Toyota Longueuil (D01) and Toyota Laval (D02), sister stores; Honda Brossard (D03).
- Alice financed a RAV4 at D01 in 2023 (30,000 at 4.99 % over 60 months); its fuel-pump
  recall was done at the sister store D02 after the recall was issued. Her loan has 16
  payments left; the RAV4 is worth more than she owes.
- Bruno's Corolla had the airbag campaign performed three months before the recall was
  issued: a bulletin, not the recall, which is still open.
- Claire bought a Camry at D01, traded it in there in 2024; D01 resold it used to Denis. The
  Camry's later brake recall is Denis's.
- Emma bought a Corolla at D02, then said N on Toyota's registration; Frank bought one at
  D02 too. Both have an open recall: only Frank may be called.
- Hugo leased a Corolla at D01 (28,000 at 3.99 % over 36 months, 406.48 a month).
- Ivan came to D01 every six months, then stopped 17 months ago; his Toyota warranty ends
  in 19 days (three years after delivery).
- Jade's Camry (D02) is due for its six-month maintenance today.
- Karl bought a Civic at D03; Honda then registered its transfer to Léa, whom no rooftop has
  served.
- Five used Corollas sold at D02 on one day, priced on an exact 15 %-a-year depreciation,
  and Denis's used Camry on the same curve: the group's own used sales.
"""

from __future__ import annotations

import getpass
import hashlib
import math
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from dealer360 import access, db
from tests.test_access import read
from tests.test_leads import _cli, _query
from tests.test_models import AS_OF, make_vin, model_inbox

RAV4_ALICE = make_vin("2T3W1RFV", 8101)
COROLLA_BRUNO = make_vin("2T1BURHE", 8102)
CAMRY_CLAIRE = make_vin("4T1B11HK", 8103)
RAV4_CLAIRE = make_vin("2T3W1RFV", 8104)
COROLLA_EMMA = make_vin("2T1BURHE", 8105)
COROLLA_FRANK = make_vin("2T1BURHE", 8106)
COROLLA_HUGO = make_vin("2T1BURHE", 8107)
COROLLA_IVAN = make_vin("2T1BURHE", 8108)
CAMRY_JADE = make_vin("4T1B11HK", 8109)
CIVIC_KARL = make_vin("2HGFC2F5", 8110)
USED = [make_vin("2T1BURHE", 8200 + i) for i in range(5)]
USED_YEARS = (2025, 2024, 2023, 2022, 2021)
USED_BUYERS = (
    ("Gilles", "Paquette"),
    ("Hélène", "Bergeron"),
    ("Isabelle", "Leblanc"),
    ("Jacques", "Girard"),
    ("Karine", "Morin"),
)


def curve(model_year: int, on: date) -> float:
    """The scenario's used prices: 30,000 losing 15 % a year from January 1 of the model year."""
    return 30000 * 0.85 ** ((on - date(model_year, 1, 1)).days / 365.25)


DEALERS = """\
dealer_code,dealer_name,brands,city,region,phone
D01,Toyota Longueuil,Toyota,Longueuil,QC,(450) 555-0100
D02,Toyota Laval,Toyota,Laval,QC,450-555-0200
D03,Honda Brossard,Honda,Brossard,QC,450.555.0300
"""

SALE_HEADER = (
    "dealer_code,deal_id,deal_date,first_name,last_name,email,phone,vin,make,model,model_year,"
    "condition,sale_price,payment_type,term_months,trade_in_vin,amount_financed,apr,"
    "monthly_payment\n"
)
USED_SALES = "".join(
    f"D02,U{i},2026-01-01,{first},{last},{first.lower()}.{last.lower()}@fournisseur.ca,"
    f"514-555-13{i:02d},{vin},Toyota,Corolla,{year},used,"
    f"{curve(year, date(2026, 1, 1)):.2f},cash,,,,,\n"
    for i, ((first, last), vin, year) in enumerate(zip(USED_BUYERS, USED, USED_YEARS, strict=True))
)
SALES = (
    SALE_HEADER
    + f"""\
D01,S1,2023-03-01,Alice,Martin,alice.martin@videotron.ca,514-555-1201,{RAV4_ALICE},Toyota,RAV4,2023,new,38000.00,finance,60,,30000.00,4.99,566.00
D01,S2,2024-01-10,Bruno,Lefebvre,bruno.lefebvre@gmail.com,514-555-1202,{COROLLA_BRUNO},Toyota,Corolla,2024,new,26000.00,cash,,,,,
D01,S3,2020-05-01,Claire,Tremblay,claire.tremblay@hotmail.com,514-555-1203,{CAMRY_CLAIRE},Toyota,Camry,2020,new,31000.00,cash,,,,,
D01,S4,2024-02-01,Claire,Tremblay,claire.tremblay@hotmail.com,514-555-1203,{RAV4_CLAIRE},Toyota,RAV4,2024,new,39000.00,cash,,{CAMRY_CLAIRE},,,
D01,S5,2024-03-15,Denis,Roy,denis.roy@outlook.com,514-555-1204,{CAMRY_CLAIRE},Toyota,Camry,2020,used,{curve(2020, date(2024, 3, 15)):.2f},cash,,,,,
D02,S6,2025-08-01,Emma,Gagnon,emma.gagnon@gmail.com,514-555-1205,{COROLLA_EMMA},Toyota,Corolla,2025,new,27000.00,cash,,,,,
D02,S7,2025-09-01,Frank,Bouchard,frank.bouchard@gmail.com,514-555-1206,{COROLLA_FRANK},Toyota,Corolla,2025,new,27000.00,cash,,,,,
D01,S8,2025-05-01,Hugo,Lemieux,hugo.lemieux@fournisseur.ca,514-555-1207,{COROLLA_HUGO},Toyota,Corolla,2025,new,32000.00,lease,36,,28000.00,3.99,406.48
D01,S9,2023-11-20,Ivan,Côté,ivan.cote@fournisseur.ca,514-555-1208,{COROLLA_IVAN},Toyota,Corolla,2024,new,26000.00,cash,,,,,
D02,S10,2025-01-10,Jade,Bélanger,jade.belanger@fournisseur.ca,514-555-1209,{CAMRY_JADE},Toyota,Camry,2025,new,33000.00,cash,,,,,
D03,S11,2021-04-01,Karl,Hébert,karl.hebert@fournisseur.ca,514-555-1210,{CIVIC_KARL},Honda,Civic,2021,new,25000.00,cash,,,,,
"""
    + USED_SALES
)

SERVICE_ORDERS = f"""\
dealer_code,ro_number,open_date,customer_name,phone,email,vin,mileage,pay_type,total_amount,description,recall_campaign
D02,R1,2025-03-10,"MARTIN, ALICE",514-555-1201,alice.martin@videotron.ca,{RAV4_ALICE},35000,warranty,0.00,Fuel pump replaced (recall),25V-001
D01,R2,2024-06-01,"LEFEBVRE, BRUNO",514-555-1202,bruno.lefebvre@gmail.com,{COROLLA_BRUNO},6000,warranty,0.00,Airbag module bulletin,24v-777
D01,R3,2024-05-20,"COTE, IVAN",514-555-1208,ivan.cote@fournisseur.ca,{COROLLA_IVAN},8000,customer,120.00,Oil change,
D01,R4,2024-11-20,"COTE, IVAN",514-555-1208,ivan.cote@fournisseur.ca,{COROLLA_IVAN},16000,customer,120.00,Oil change,
D01,R5,2025-05-20,"COTE, IVAN",514-555-1208,ivan.cote@fournisseur.ca,{COROLLA_IVAN},24000,customer,140.00,Oil change and rotation,
D02,R6,2026-05-01,"BELANGER, JADE",514-555-1209,jade.belanger@fournisseur.ca,{CAMRY_JADE},15000,customer,130.00,Oil change,
"""

REGISTRATIONS = f"""\
brand,registration_id,vin,registration_date,event,owner_first_name,owner_last_name,phone,email,consent_marketing
Toyota,TOY-E,{COROLLA_EMMA},2025-08-10,new_owner,Emma,Gagnon,514-555-1205,emma.gagnon@gmail.com,N
Honda,HON-K,{CIVIC_KARL},2021-04-05,new_owner,Karl,Hébert,514-555-1210,karl.hebert@fournisseur.ca,
Honda,HON-L,{CIVIC_KARL},2026-02-01,transfer,Léa,Fournier,514-555-1211,lea.fournier@fournisseur.ca,
"""

RECALLS = f"""\
brand,campaign_id,vin,issued_date,description,remedy_available
Toyota,25V-001,{RAV4_ALICE},2025-01-15,Fuel pump may fail,Y
Toyota,24V-777,{COROLLA_BRUNO},2024-09-01,Airbag inflator may rupture,Y
Toyota,25V-300,{CAMRY_CLAIRE},2025-06-01,Brake booster hose may crack,Y
Toyota,26V-010,{COROLLA_EMMA},2026-03-01,Rear-view camera may not display,Y
Toyota,26V-010,{COROLLA_FRANK},2026-03-01,Rear-view camera may not display,Y
Toyota,27V-001,{COROLLA_FRANK},2027-01-15,Not issued yet on the as-of date,Y
"""

INBOX = {
    "dealers": DEALERS,
    "dealer_sales": SALES,
    "service_orders": SERVICE_ORDERS,
    "oem_registrations": REGISTRATIONS,
    "crm_leads": "dealer_code,lead_id,created_at,source,first_name,last_name,email\n",
    "oem_recalls": RECALLS,
}


@pytest.fixture(scope="module")
def lane_db(template_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    name = f"s_{uuid.uuid4().hex[:12]}"
    url = db.create_database(template_url, name, template=template_url.database)
    engine = model_inbox(url, tmp_path_factory.mktemp("service_lane"), INBOX)
    yield url
    engine.dispose()
    db.drop_database(template_url, name)


def _customer(url: URL, source: str, record: str) -> str:
    return _query(
        url,
        "select customer_id from resolve.customer_source_map"
        " where source = :s and source_record_id = :r",
        s=source,
        r=record,
    )[0].customer_id


def _recall(url: URL, vin: str, campaign_id: str) -> sa.Row:
    rows = _query(
        url,
        "select * from marts.open_recalls where vin = :v and campaign_id = :c",
        v=vin,
        c=campaign_id,
    )
    assert len(rows) == 1, rows
    return rows[0]


def _worklist(url: URL, dealer_code: str) -> dict[tuple[str, str], sa.Row]:
    rows = _query(url, "select * from marts.service_worklist where dealer_code = :d", d=dealer_code)
    return {(r.vin, r.reason): r for r in rows}


def test_a_recall_done_at_a_sister_rooftop_is_done(lane_db: URL) -> None:
    recall = _recall(lane_db, RAV4_ALICE, "25V-001")
    assert (recall.status, recall.done_dealer_code) == ("done", "D02")
    assert recall.done_date.isoformat() == "2025-03-10"
    assert recall.done_source_record_id == "D02:R1"
    assert recall.customer_id == _customer(lane_db, "dealer_sales", "D01:S1")
    assert (RAV4_ALICE, "open_recall") not in _worklist(lane_db, "D02")


def test_a_campaign_performed_before_its_issue_date_leaves_the_recall_open(lane_db: URL) -> None:
    recall = _recall(lane_db, COROLLA_BRUNO, "24V-777")
    assert recall.status == "open"
    assert recall.done_dealer_code is None and recall.done_date is None
    row = _worklist(lane_db, "D01")[(COROLLA_BRUNO, "open_recall")]
    assert row.due_date.isoformat() == "2024-09-01"
    assert row.detail == (
        "Recall 24V-777 (Airbag inflator may rupture), issued 2024-09-01, is open on the"
        " 2024 Toyota Corolla."
    )


def test_a_resold_vins_recall_goes_to_the_new_owner(lane_db: URL) -> None:
    denis = _customer(lane_db, "dealer_sales", "D01:S5")
    claire = _customer(lane_db, "dealer_sales", "D01:S3")
    recall = _recall(lane_db, CAMRY_CLAIRE, "25V-300")
    assert (recall.status, recall.customer_id) == ("open", denis)
    assert recall.customer_id != claire
    row = _worklist(lane_db, "D01")[(CAMRY_CLAIRE, "open_recall")]  # D01 sold it to Denis
    assert row.customer_id == denis


def test_recalls_issued_after_the_as_of_date_are_not_yet_known(lane_db: URL) -> None:
    assert _query(lane_db, "select * from marts.open_recalls where campaign_id = '27V-001'") == []
    landed = _query(lane_db, "select count(*) as n from raw.oem_recalls")[0].n
    assert landed == 6
    assert _query(lane_db, "select count(*) as n from marts.open_recalls")[0].n == 5


def test_a_payoff_matches_a_hand_computed_amortization(lane_db: URL) -> None:
    position = _query(lane_db, "select * from marts.equity_positions where vin = :v", v=RAV4_ALICE)[
        0
    ]
    # 2023-03-01 to 2026-11-01: 44 monthly payments of 60 made.
    rate, balance = Decimal("4.99") / 1200, Decimal("30000.00")
    payment = balance * rate / (1 - (1 + rate) ** -60)
    for _ in range(44):
        balance = balance * (1 + rate) - payment
    assert (position.payments_made, position.payments_left) == (44, 16)
    assert position.payoff_method == "amortization"
    assert abs(position.payoff_amount - balance) <= Decimal("0.01")
    assert position.payoff_amount == Decimal("8743.73")
    assert position.equity_amount == position.estimated_value_amount - position.payoff_amount
    assert position.dealer_code == "D01"


def test_a_lease_payoff_is_its_residual_plus_the_depreciation_not_yet_paid(lane_db: URL) -> None:
    position = _query(
        lane_db, "select * from marts.equity_positions where vin = :v", v=COROLLA_HUGO
    )[0]
    amount, n, factor, payment = 28000, 36, 3.99 / 2400, 406.48
    residual = (amount / n + amount * factor - payment) / (1 / n - factor)  # about 16,000
    assert abs(residual - 16000) < 5
    # 2025-05-01 to 2026-11-01: 18 payments made
    expected = residual + (amount - residual) * (n - 18) / n
    assert (position.payoff_method, position.payments_left) == ("lease_residual", 18)
    assert abs(float(position.payoff_amount) - expected) < 0.01


def test_a_vehicles_value_follows_the_groups_own_used_sales(lane_db: URL) -> None:
    position = _query(lane_db, "select * from marts.equity_positions where vin = :v", v=RAV4_ALICE)[
        0
    ]
    assert position.valuation_curve == "make"
    assert abs(float(position.estimated_value_amount) - curve(2023, date(2026, 11, 1))) <= 2
    assert position.equity_amount > 7000


def test_positive_equity_is_an_in_market_driver_with_its_reason(lane_db: URL) -> None:
    alice = _customer(lane_db, "dealer_sales", "D01:S1")
    row = _query(
        lane_db,
        "select * from marts.in_market where customer_id = :c and dealer_code = 'D01'",
        c=alice,
    )[0]
    assert "positive_equity" in row.driver_codes
    assert "of equity in the 2023 Toyota RAV4" in row.drivers
    assert "16 payments left" in row.drivers


def test_a_vehicle_that_stopped_coming_is_lapsed_and_its_warranty_ending(lane_db: URL) -> None:
    worklist = _worklist(lane_db, "D01")
    lapsed = worklist[(COROLLA_IVAN, "lapsed_service")]
    assert lapsed.due_date.isoformat() == "2025-11-19"
    assert "usually comes every 6 months (3 visits since 2024-05-20)" in lapsed.detail
    assert (COROLLA_IVAN, "maintenance_due") not in worklist  # lapsed says it already
    warranty = worklist[(COROLLA_IVAN, "warranty_ending")]
    assert warranty.due_date.isoformat() == "2026-11-20"
    assert "3 years or 60,000 km" in warranty.detail


def test_maintenance_is_due_by_the_brands_interval_and_the_vehicles_own_mileage(
    lane_db: URL,
) -> None:
    row = _worklist(lane_db, "D02")[(CAMRY_JADE, "maintenance_due")]
    assert row.due_date.isoformat() == AS_OF  # six months after the last visit, before 8,000 km
    assert "every 8,000 km or 6 months" in row.detail
    assert "last visit 2026-05-01 at 15,000 km" in row.detail


def test_a_new_owner_no_rooftop_has_served_is_on_the_selling_rooftops_list(lane_db: URL) -> None:
    lea = _customer(lane_db, "oem_registrations", "HON-L")
    row = _worklist(lane_db, "D03")[(CIVIC_KARL, "new_owner_never_seen")]
    assert row.customer_id == lea
    assert row.due_date.isoformat() == "2026-02-01"
    assert "(a transfer)" in row.detail and "sold at D03 on 2021-04-01" in row.detail
    assert not row.is_contactable


def test_a_worklist_row_for_a_customer_who_said_n_is_not_exported(
    lane_db: URL, tmp_path: Path
) -> None:
    emma = _customer(lane_db, "dealer_sales", "D02:S6")
    frank = _customer(lane_db, "dealer_sales", "D02:S7")
    worklist = _worklist(lane_db, "D02")
    assert worklist[(COROLLA_EMMA, "open_recall")].is_contactable is False
    assert worklist[(COROLLA_FRANK, "open_recall")].is_contactable is True

    out = tmp_path / "recalls.csv"
    result = _cli(
        lane_db, "export", "worklist", "--out", str(out), "--dealer", "d02", "--reason",
        "open_recall",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    rows = pd.read_csv(out, dtype=str)
    assert rows["customer_id"].tolist() == [frank]
    assert rows["last_name"].tolist() == ["Bouchard"]
    assert rows["reason"].tolist() == ["open_recall"]
    audit = _query(
        lane_db,
        "select actor, action, filters, row_count from raw.audit_log where sha256 = :s",
        s=hashlib.sha256(data).hexdigest(),
    )
    assert [(a.actor, a.action, a.filters, a.row_count) for a in audit] == [
        (getpass.getuser(), "export_worklist", {"dealer_code": "D02", "reason": "open_recall"}, 1)
    ]

    everything = tmp_path / "all.csv"
    result = _cli(lane_db, "export", "worklist", "--out", str(everything), "--dealer", "D02")
    assert result.exit_code == 0, result.output
    customers = set(pd.read_csv(everything)["customer_id"])
    assert frank in customers and emma not in customers


def test_an_unknown_reason_is_one_sentence_and_no_file(lane_db: URL, tmp_path: Path) -> None:
    out = tmp_path / "worklist.csv"
    before = _query(lane_db, "select count(*) as n from raw.audit_log")[0].n
    result = _cli(
        lane_db, "export", "worklist", "--out", str(out), "--dealer", "D01", "--reason", "recall"
    )
    assert result.exit_code == 1
    assert "Unknown worklist reason 'recall'" in result.output
    assert "open_recall" in result.output and "Traceback" not in result.output
    assert not out.exists()
    assert _query(lane_db, "select count(*) as n from raw.audit_log")[0].n == before


def test_a_worklist_export_needs_its_rooftop(lane_db: URL, tmp_path: Path) -> None:
    result = _cli(lane_db, "export", "worklist", "--out", str(tmp_path / "w.csv"))
    assert result.exit_code != 0 and "--dealer" in result.output


def test_a_dealer_role_reads_its_own_worklist_and_an_oem_role_no_personal_data(
    lane_db: URL,
) -> None:
    engine = db.get_engine(lane_db)
    grants = [
        access.grant_dealer(engine, "D02"),
        access.grant_dealer(engine, "D03"),
        access.grant_oem(engine, "Toyota"),
    ]
    try:
        d02, d03, oem = (grant.url for grant in grants)
        rooftops = {r.dealer_code for r in read(d02, "select * from marts.service_worklist")}
        assert rooftops == {"D02"}
        frank = _customer(lane_db, "dealer_sales", "D02:S7")
        recalls = read(d02, "select customer_id from marts.open_recalls")
        assert frank in {r.customer_id for r in recalls}
        assert _customer(lane_db, "dealer_sales", "D01:S2") not in {r.customer_id for r in recalls}
        assert {r.dealer_code for r in read(d02, "select * from marts.equity_positions")} <= {"D02"}
        # Léa is no rooftop's customer: her new-owner row stays with the pipeline's role.
        assert read(d03, "select * from marts.service_worklist") == []
        for table in ("open_recalls", "service_worklist", "equity_positions"):
            assert read(oem, f"select * from marts.{table}") == [], table
    finally:
        for grant in grants:
            access.revoke(engine, grant.role)


def test_the_marts_reconcile_with_the_landed_rows(lane_db: URL) -> None:
    counts = _query(
        lane_db,
        "select count(*) as n, count(distinct (vin, campaign_id)) as d,"
        " count(*) filter (where status = 'done') as done from marts.open_recalls",
    )[0]
    assert (counts.n, counts.d, counts.done) == (5, 5, 1)
    deals = _query(
        lane_db,
        "select source_record_id from marts.equity_positions order by 1",
    )
    assert [d.source_record_id for d in deals] == ["D01:S1", "D01:S8"]
    assert math.isclose(
        float(
            _query(
                lane_db,
                "select sum(financed_amount) as s from marts.equity_positions",
            )[0].s
        ),
        58000.0,
    )
