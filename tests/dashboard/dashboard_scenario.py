"""The dashboard tests' scenario: three people written by hand at a test rooftop, added to a
generated inbox, so pages can be checked against exact facts."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from generator.vin import check_digit

TEST_DEALER = "QA-TEST"
TEST_DEALER_NAME = "Concession Témoin Toyota"
# An open recall on Gisèle's RAV4 (she may be contacted) and Rosaire's Corolla (he may not).
RECALL = "24V-901"


def _vin(serial: int) -> str:
    body = f"2T3W1RFV0KW{serial:06d}"
    return body[:8] + check_digit(body) + body[9:]


@dataclass(frozen=True)
class Person:
    """A hand-written person: their records and what a user would type to find them."""

    first_name: str
    last_name: str
    records: tuple[tuple[str, str], ...]  # (source, source_record_id)


@dataclass
class Scenario:
    url: URL
    engine: Engine
    gisele: Person  # accented name, phone typed four ways, five events, a paid lead
    rosaire: Person  # in market, withdrew consent: never in a campaign list
    mireille: Person  # in market, express consent: always in the campaign list

    def customer_of(self, person: Person) -> str:
        source, record = person.records[0]
        with self.engine.connect() as conn:
            return conn.scalar(
                sa.text(
                    "select customer_id from resolve.customer_source_map"
                    " where source = :s and source_record_id = :r"
                ),
                {"s": source, "r": record},
            )


def _write(inbox: Path, source: str, rows: list[dict]) -> None:
    folder = inbox / source
    folder.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with (folder / "zz_dashboard_scenario.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_scenario(inbox: Path) -> tuple[Person, Person, Person]:
    """Add the hand-written people to a generated inbox."""
    today = date.today()
    recent = (today - timedelta(days=20)).isoformat()
    g_vin, r_vin, m_vin = _vin(900001), _vin(900002), _vin(900003)
    _write(
        inbox,
        "dealers",
        [
            {
                "dealer_code": TEST_DEALER,
                "dealer_name": TEST_DEALER_NAME,
                "brands": "Toyota|Lexus",
                "city": "Gatineau",
                "region": "QC",
                "phone": "(819) 555-0100",
            }
        ],
    )
    sale = {"dealer_code": TEST_DEALER, "make": "Toyota", "condition": "new"}
    _write(
        inbox,
        "dealer_sales",
        [
            sale
            | {
                "deal_id": "D1",
                "deal_date": "2019-06-14",
                "first_name": "Gisèle",
                "last_name": "Thibodeau",
                "email": "gisele.thibodeau@videotron.ca",
                "phone": "(819) 555-0147",
                "street": "12 rue des Érables",
                "city": "Gatineau",
                "region": "QC",
                "postal_code": "J8Y 3K2",
                "vin": g_vin,
                "model": "RAV4",
                "model_year": "2019",
                "sale_price": "38950.00",
                "payment_type": "finance",
                "term_months": "60",
            },
            sale
            | {
                "deal_id": "D2",
                "deal_date": "2023-05-10",
                "first_name": "Rosaire",
                "last_name": "Lapointe",
                "email": "rosaire.lapointe@bell.net",
                "phone": "(819) 555-0133",
                "street": "88 boulevard Maloney",
                "city": "Gatineau",
                "region": "QC",
                "postal_code": "J8P 1B4",
                "vin": r_vin,
                "model": "Corolla",
                "model_year": "2023",
                "sale_price": "27400.00",
                "payment_type": "cash",
            },
            sale
            | {
                "deal_id": "D3",
                "deal_date": "2021-08-01",
                "first_name": "Mireille",
                "last_name": "Caron",
                "email": "mireille.caron@outlook.com",
                "phone": "(819) 555-0188",
                "street": "5 rue Laurier",
                "city": "Gatineau",
                "region": "QC",
                "postal_code": "J8X 3V7",
                "vin": m_vin,
                "model": "Highlander",
                "model_year": "2021",
                "sale_price": "52300.00",
                "payment_type": "lease",
                "term_months": "48",
            },
        ],
    )
    registration = {"brand": "Toyota", "event": "new_owner", "region": "QC", "city": "Gatineau"}
    _write(
        inbox,
        "oem_registrations",
        [
            registration
            | {
                "registration_id": "QAREG1",
                "vin": g_vin,
                "registration_date": "2019-06-20",
                "owner_first_name": "Gisèle",
                "owner_last_name": "Thibodeau",
                "street": "12 rue des Erables",
                "postal_code": "J8Y3K2",
                "phone": "819-555-0147",
                "email": "gisele.thibodeau@videotron.ca",
                "consent_marketing": "Y",
            },
            registration
            | {
                "registration_id": "QAREG2",
                "vin": r_vin,
                "registration_date": "2023-05-15",
                "owner_first_name": "Rosaire",
                "owner_last_name": "Lapointe",
                "street": "88 boulevard Maloney",
                "postal_code": "J8P 1B4",
                "phone": "819 555 0133",
                "email": "rosaire.lapointe@bell.net",
                "consent_marketing": "N",
            },
            registration
            | {
                "registration_id": "QAREG3",
                "vin": m_vin,
                "registration_date": "2021-08-05",
                "owner_first_name": "Mireille",
                "owner_last_name": "Caron",
                "street": "5 rue Laurier",
                "postal_code": "J8X 3V7",
                "phone": "8195550188",
                "email": "mireille.caron@outlook.com",
                "consent_marketing": "Y",
            },
        ],
    )
    repair = {"dealer_code": TEST_DEALER, "vin": g_vin, "pay_type": "customer"}
    _write(
        inbox,
        "service_orders",
        [
            repair
            | {
                "ro_number": "RO1",
                "open_date": "2020-07-02",
                "customer_name": "THIBODEAU, GISELE",
                "phone": "8195550147",
                "email": "gisele.thibodeau@videotron.ca",
                "mileage": "15200",
                "labor_amount": "120.00",
                "parts_amount": "169.50",
                "total_amount": "289.50",
                "description": "Oil change and tire rotation",
            },
            repair
            | {
                "ro_number": "RO2",
                "open_date": "2022-03-15",
                "customer_name": "Thibodeau, Gisèle",
                "phone": "+1 819 555 0147",
                "mileage": "41800",
                "labor_amount": "640.00",
                "parts_amount": "600.00",
                "total_amount": "1240.00",
                "description": "Front and rear brakes",
            },
        ],
    )
    recall = {"brand": "Toyota", "issued_date": "2024-01-15", "remedy_available": "Y"}
    _write(
        inbox,
        "oem_recalls",
        [
            recall | {"campaign_id": RECALL, "vin": vin, "description": "Fuel pump may fail"}
            for vin in (g_vin, r_vin)
        ],
    )
    lead = {"dealer_code": TEST_DEALER, "source": "web", "status": "open", "created_at": recent}
    _write(
        inbox,
        "crm_leads",
        [
            lead
            | {
                "lead_id": "L1",
                # bought a RAV4 here in 2019: a paid lead for a person already known
                "source": "third_party",
                "provider": "AutoTrader",
                "cost_amount": "30.00",
                "first_name": "Gisele",
                "last_name": "Thibodeau",
                "email": "gisele.thibodeau@videotron.ca",
                "phone": "1-819-555-0147",
                "interest_make": "Lexus",
                "interest_model": "NX",
            },
            lead
            | {
                "lead_id": "L2",
                "first_name": "Rosaire",
                "last_name": "Lapointe",
                "email": "rosaire.lapointe@bell.net",
                "phone": "819.555.0133",
                "interest_make": "Toyota",
                "interest_model": "RAV4",
            },
            lead
            | {
                "lead_id": "L3",
                "first_name": "Mireille",
                "last_name": "Caron",
                "email": "mireille.caron@outlook.com",
                "phone": "819-555-0188",
                "interest_make": "Lexus",
                "interest_model": "RX",
            },
        ],
    )
    gisele = Person(
        "Gisèle",
        "Thibodeau",
        (
            ("dealer_sales", f"{TEST_DEALER}:D1"),
            ("oem_registrations", "QAREG1"),
            ("service_orders", f"{TEST_DEALER}:RO1"),
            ("service_orders", f"{TEST_DEALER}:RO2"),
            ("crm_leads", f"{TEST_DEALER}:L1"),
        ),
    )
    rosaire = Person(
        "Rosaire",
        "Lapointe",
        (
            ("dealer_sales", f"{TEST_DEALER}:D2"),
            ("oem_registrations", "QAREG2"),
            ("crm_leads", f"{TEST_DEALER}:L2"),
        ),
    )
    mireille = Person(
        "Mireille",
        "Caron",
        (
            ("dealer_sales", f"{TEST_DEALER}:D3"),
            ("oem_registrations", "QAREG3"),
            ("crm_leads", f"{TEST_DEALER}:L3"),
        ),
    )
    return gisele, rosaire, mireille
