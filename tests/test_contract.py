"""The landing contract (ingest/contract.py) is the one description of sources and columns:
dbt's sources, the migrations, entity resolution and erasure say the same. No database."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from entity_resolution.records import person_columns, raw_columns
from ingest.contract import PERSON_SOURCES, SOURCES, Kind
from ingest.merge import row_hash_sql

ROOT = Path(__file__).resolve().parents[1]
SOURCES_YML = ROOT / "dbt_project/models/staging/_sources.yml"
MIGRATION = ROOT / "dealer360/migrations/0009_contract_round2.sql"


def declared_raw_tables() -> dict[str, list[str]]:
    spec = yaml.safe_load(SOURCES_YML.read_text())
    (raw,) = [s for s in spec["sources"] if s["name"] == "raw"]
    return {t["name"]: [c["name"] for c in t.get("columns", [])] for t in raw["tables"]}


def test_dbt_declares_every_contract_source_and_column_and_nothing_else():
    declared = declared_raw_tables()
    assert set(declared) == set(SOURCES)
    for name, source in SOURCES.items():
        expected = ["source_record_id", *source.column_names]
        expected += [c.vin_flag for c in source.vin_columns]
        assert sorted(declared[name]) == sorted(expected), name


def test_each_dated_source_is_staged_as_known_on_the_as_of_date_by_its_record_date():
    """`--as-of` hides later facts in staging, by the date the contract names per source."""
    for name, source in SOURCES.items():
        staged = (ROOT / f"dbt_project/models/staging/stg_raw__{name}.sql").read_text()
        filters = re.findall(r"known_as_of\('(\w+)'\)", staged)
        assert filters == ([source.record_date] if source.record_date else []), name


def test_the_person_sources_are_the_four_about_people_in_matching_order():
    assert PERSON_SOURCES == ("dealer_sales", "service_orders", "oem_registrations", "crm_leads")
    assert "oem_recalls" in SOURCES and "oem_recalls" not in PERSON_SOURCES


def test_identifying_columns_are_a_persons_own_values_not_where_they_live():
    assert SOURCES["dealer_sales"].identifying_columns == (
        "first_name", "last_name", "company_name", "email", "phone", "street", "postal_code",
        "birth_date",
    )  # fmt: skip
    assert SOURCES["service_orders"].identifying_columns == ("customer_name", "phone", "email")
    assert "city" not in SOURCES["oem_registrations"].identifying_columns
    assert SOURCES["dealers"].identifying_columns == ()  # the rooftop's own phone
    assert SOURCES["oem_recalls"].identifying_columns == ()


def test_matching_reads_each_source_in_its_own_vocabulary():
    assert person_columns("service_orders")["full_name"] == "customer_name"
    assert person_columns("oem_registrations")["first_name"] == "owner_first_name"
    sales = person_columns("dealer_sales")
    assert sales["company"] == "company_name"
    assert (sales["trade_vin"], sales["trade_vin_valid"]) == (
        "trade_in_vin",
        "is_trade_in_vin_valid",
    )
    assert raw_columns("crm_leads")[:3] == ["source_record_id", "dealer_code", "created_at"]


def test_money_columns_are_checked_as_decimals():
    money = {c.name for s in SOURCES.values() for c in s.columns if c.money}
    assert {"sale_price", "amount_financed", "monthly_payment", "cost_amount"} <= money
    assert "apr" not in money
    assert all(c.kind is Kind.DECIMAL for s in SOURCES.values() for c in s.columns if c.money)


def test_the_migration_rehashes_landed_rows_as_landing_hashes_them():
    """Rows landed before the new columns must hash as landing now hashes them, or a row
    sent again unchanged would count as updated."""
    text = re.sub(r"\s+", " ", MIGRATION.read_text())
    for name in ("dealers", "dealer_sales", "service_orders", "crm_leads"):
        statement = re.search(
            rf"update raw\.{name} as t set row_hash = (to_hex\(.*?\), 0\)\));", text
        )
        assert statement, name
        written = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", statement.group(1)))
        assert written == row_hash_sql(SOURCES[name], "t", "t.extra"), name
