"""`dealer360 forget`: a person erased from every table, their facts kept under an anonymous
key, and kept erased when their files come back.

The scenario inbox of test_models (Claire Tremblay has deals, repair orders and an OEM
registration) plus a lead of Claire's that carries a column beyond the contract and a row
that is quarantined. Claire is forgotten; then her files are sent again (with one new deal
of hers), landed, resolved and modelled again.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from typer.testing import CliRunner

import entity_resolution
from dealer360 import db, forget, suppression
from dealer360.cli import app
from ingest.loader import load_inbox
from tests.test_models import SALES, SERVICE_ORDERS, make_vin, rows, run_dbt, write_inbox

CLAIRE_DEAL = "D01:B100"
CLAIRE_LEADS = """\
dealer_code,lead_id,created_at,source,first_name,last_name,email,phone,interest_make,interest_model,status,notes
D01,L900,2026-05-02T09:00:00-04:00,web,Claire,Tremblay,claire.tremblay@hotmail.com,450-555-3003,Lexus,RX,open,Claire Tremblay wants a test drive
D01,L901,2026-13-02,web,Claire,Tremblay,CLAIRE.TREMBLAY@hotmail.com,(450) 555-3003,Lexus,NX,open,call Claire
"""
# Everything that identifies Claire, in every spelling the inbox uses or the pipeline makes.
CLAIRE = (
    "Claire",
    "Tremblay",
    "claire.tremblay@hotmail.com",
    "450-555-3003",
    "450 555 3003",
    "4505553003",
    "(450) 555-3003",
    "Saint-Charles",
    "saint charles",
    "J4H 1C5",
    "J4H1C5",
    "1975-11-02",
)
NEW_DEAL_VIN = make_vin("2T3W1RFV", 2999)
NEW_DEAL = (
    f"D01,B102,2026-10-01,Claire,Tremblay,,claire.tremblay@hotmail.com,450-555-3003,"
    f"8 rue Saint-Charles,Longueuil,QC,J4H 1C5,1975-11-02,{NEW_DEAL_VIN},Toyota,RAV4,2026,"
    f"new,39000.00,cash,,\n"
)


def _write(inbox: Path) -> Path:
    write_inbox(inbox)
    (inbox / "crm_leads" / "web_leads.csv").write_text(CLAIRE_LEADS, encoding="utf-8")
    return inbox


@pytest.fixture
def modelled(template_url: URL, tmp_path: Path) -> Iterator[tuple[Engine, URL, Path]]:
    """The inbox landed, resolved and modelled in a database of its own."""
    name = f"p_{uuid.uuid4().hex[:12]}"
    url = db.create_database(template_url, name, template=template_url.database)
    engine = db.get_engine(url)
    inbox = _write(tmp_path / "inbox")
    load_inbox(engine, inbox)
    entity_resolution.resolve(engine)
    run_dbt(url, tmp_path, "build")
    yield engine, url, inbox
    engine.dispose()
    db.drop_database(template_url, name)


def _scalar(engine: Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.scalar(sa.text(sql), params)


def _customer_of(engine: Engine, source: str, source_record_id: str) -> str:
    return _scalar(
        engine,
        "select customer_id from resolve.customer_source_map"
        " where source = :s and source_record_id = :r",
        s=source,
        r=source_record_id,
    )


def _where_found(engine: Engine, needles: tuple[str, ...]) -> list[str]:
    """Every table column, in every schema, holding one of the needles (case ignored)."""
    patterns = [f"%{n}%" for n in needles]
    found = []
    with engine.connect() as conn:
        columns = conn.execute(
            sa.text(
                """
                select c.table_schema, c.table_name, c.column_name
                from information_schema.columns as c
                inner join information_schema.tables as t using (table_schema, table_name)
                where t.table_type = 'BASE TABLE'
                  and c.table_schema not in ('pg_catalog', 'information_schema')
                  and (c.data_type in ('text', 'character varying', 'jsonb', 'json', 'ARRAY',
                                       'date', 'USER-DEFINED'))
                """
            )
        ).all()
        for schema, table, column in columns:
            hits = conn.scalar(
                sa.text(
                    f'select count(*) from "{schema}"."{table}"'
                    f' where cast("{column}" as text) ilike any(:p)'
                ),
                {"p": patterns},
            )
            if hits:
                found.append(f"{schema}.{table}.{column}")
    return found


def _totals(engine: Engine) -> tuple[Decimal, Decimal]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                sa.text(
                    "select sum(lifetime_sales_amount), sum(lifetime_service_amount)"
                    " from marts.customers"
                )
            ).one()
        )


def _raw_totals(engine: Engine) -> tuple[Decimal, Decimal]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                sa.text(
                    "select (select sum(cast(sale_price as numeric)) from raw.dealer_sales),"
                    " (select sum(cast(total_amount as numeric)) from raw.service_orders"
                    "  where pay_type = 'customer')"
                )
            ).one()
        )


def test_a_forgotten_person_is_gone_everywhere_and_stays_gone_when_their_files_come_back(
    modelled: tuple[Engine, URL, Path], tmp_path: Path
) -> None:
    engine, url, inbox = modelled
    claire = _customer_of(engine, "dealer_sales", CLAIRE_DEAL)
    claire_records = _scalar(
        engine, "select count(*) from resolve.customer_source_map where customer_id = :c", c=claire
    )
    assert claire_records == 9  # 2 deals, 5 repair orders, a registration, a lead
    assert {"raw.dealer_sales.email", "marts.customers.email", "raw.quarantine.raw_values"} <= set(
        _where_found(engine, CLAIRE)
    )
    sales = sum(Decimal(r["sale_price"]) for r in rows(SALES))
    service = sum(
        Decimal(r["total_amount"]) for r in rows(SERVICE_ORDERS) if r["pay_type"] == "customer"
    )
    assert _totals(engine) == _raw_totals(engine) == (sales, service)

    result = forget.forget_customer(engine, claire, actor="pytest")

    assert result.records == claire_records
    assert _where_found(engine, CLAIRE) == []
    assert _totals(engine) == _raw_totals(engine) == (sales, service)  # before any rerun
    anonymous = _customer_of(engine, "dealer_sales", CLAIRE_DEAL)
    assert anonymous.startswith("anon-")
    assert (
        _scalar(engine, "select count(*) from marts.customers where customer_id = :c", c=claire)
        == 0
    )
    assert _scalar(
        engine,
        "select lifetime_sales_amount from marts.customers where customer_id = :a",
        a=anonymous,
    ) == Decimal("69000.00")  # her two Toyotas, still counted
    audit = _scalar(
        engine,
        "select filters from raw.audit_log where action = 'forget_customer' and actor = 'pytest'",
    )
    assert audit["customer_id"] == claire

    # Her files come back: the sales file re-exported (other bytes) with one new deal of
    # hers, the lead file unchanged; then the whole pipeline runs again.
    sales_file = inbox / "dealer_sales" / "dealer_sales.csv"
    sales_file.write_text(SALES.replace("\n", "\r\n") + NEW_DEAL, encoding="utf-8")
    (inbox / "crm_leads" / "web_leads.csv").write_text(
        CLAIRE_LEADS.replace("L901", "L902"), encoding="utf-8"
    )
    os.utime(sales_file)
    summary = load_inbox(engine, inbox)
    sales_result = summary.result("dealer_sales/dealer_sales.csv")
    assert sales_result.status == "loaded"
    assert sales_result.rows_suppressed == 3  # B100 and B101 again, and the new B102
    assert sales_result.rows_inserted == 1 and sales_result.rows_updated == 0
    assert summary.result("crm_leads/web_leads.csv").rows_suppressed == 2
    assert summary.total.rows_suppressed == 5
    assert "forgotten" in sales_result.message
    entity_resolution.resolve(engine)
    run_dbt(url, tmp_path, "build")

    assert _where_found(engine, CLAIRE) == []
    assert _customer_of(engine, "dealer_sales", CLAIRE_DEAL) == anonymous
    assert _customer_of(engine, "dealer_sales", "D01:B101") == anonymous
    assert _customer_of(engine, "service_orders", "D01:R204") == anonymous
    new_deal_owner = _customer_of(engine, "dealer_sales", "D01:B102")
    assert new_deal_owner.startswith("anon-") and new_deal_owner != anonymous
    assert _totals(engine) == _raw_totals(engine) == (sales + Decimal("39000.00"), service)
    # after the rebuild from scrubbed raw rows, her anonymous customer is not a person anymore
    assert not _scalar(
        engine, "select is_identified from marts.customers where customer_id = :a", a=anonymous
    )
    suppressed = _scalar(
        engine,
        "select rows_suppressed from raw.files where file_name = 'dealer_sales/dealer_sales.csv'",
    )
    assert suppressed == 3


def test_the_old_id_of_a_forgotten_person_no_longer_resolves_to_anyone(
    modelled: tuple[Engine, URL, Path],
) -> None:
    engine, _, _ = modelled
    claire = _customer_of(engine, "dealer_sales", CLAIRE_DEAL)
    with engine.begin() as conn:  # an older ID that was merged into hers
        conn.execute(
            sa.text(
                "insert into resolve.customer_id_history (old_customer_id, new_customer_id, reason)"
                " values ('C999000001', :c, 'merge')"
            ),
            {"c": claire},
        )
    forget.forget_customer(engine, "C999000001")  # a retired ID is followed to her
    assert _customer_of(engine, "dealer_sales", CLAIRE_DEAL).startswith("anon-")
    for old in (claire, "C999000001"):
        assert (
            _scalar(
                engine,
                "select count(*) from resolve.customer_id_history"
                " where old_customer_id = :c or new_customer_id = :c",
                c=old,
            )
            == 0
        )
        assert (
            _scalar(
                engine,
                "select count(*) from resolve.customer_source_map where customer_id = :c",
                c=old,
            )
            == 0
        )
    assert forget.forget_customer(engine, claire).already


def test_forget_changes_nothing_when_it_fails_half_way(
    modelled: tuple[Engine, URL, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _, _ = modelled
    claire = _customer_of(engine, "dealer_sales", CLAIRE_DEAL)
    before = _where_found(engine, CLAIRE)

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(forget, "_scrub_models", broken)
    with pytest.raises(RuntimeError):
        forget.forget_customer(engine, claire)
    assert _where_found(engine, CLAIRE) == before
    assert _customer_of(engine, "dealer_sales", CLAIRE_DEAL) == claire
    assert _scalar(engine, "select count(*) from privacy.suppression_list") == 0
    assert _scalar(engine, "select count(*) from raw.audit_log") == 0


def _suppression(fields: dict[str, list]) -> suppression.Suppression:
    """The list as `forget` makes it for one person, under a test salt."""
    keys = suppression.identifier_keys(pd.DataFrame(fields))
    hashes = {
        (kind, suppression.keyed_hash("salt", kind, value))
        for kind in suppression.KINDS
        for value in keys[kind].dropna()
    }
    return suppression.Suppression("salt", frozenset(hashes), (len(hashes), ""))


def _fields(**values) -> pd.DataFrame:
    names = ("first_name", "last_name", "full_name", "email", "phone", "birth_date")
    return pd.DataFrame({n: pd.Series(values.get(n, [None]), dtype="string") for n in names})


def test_a_forgotten_persons_identifiers_are_recognized_in_any_spelling() -> None:
    listed = _suppression(
        {
            "first_name": ["Claire"],
            "last_name": ["Tremblay"],
            "full_name": [None],
            "email": ["claire.tremblay@hotmail.com"],
            "phone": ["450-555-3003"],
            "birth_date": ["1975-11-02"],
        }
    )
    assert listed.matches(_fields(email=[" CLAIRE.Tremblay@Hotmail.com "])).tolist() == [True]
    assert listed.matches(_fields(full_name=["TREMBLAY, CLAIRE"], phone=["+1 (450) 555 3003"]))[0]
    assert listed.matches(
        _fields(first_name=["Tremblay"], last_name=["Claire"], birth_date=["1975-11-02"])
    )[0]


def test_a_spouse_sharing_the_forgotten_persons_landline_is_not_suppressed() -> None:
    listed = _suppression(
        {
            "first_name": ["Claire"],
            "last_name": ["Tremblay"],
            "full_name": [None],
            "email": [None],
            "phone": ["450-555-3003"],
            "birth_date": [None],
        }
    )
    spouse = _fields(first_name=["Julien"], last_name=["Tremblay"], phone=["450-555-3003"])
    assert listed.matches(spouse).tolist() == [False]


@pytest.fixture
def resolved(engine: Engine, tmp_path: Path) -> Engine:
    """The inbox landed and resolved (no marts: forget works before the first model run)."""
    load_inbox(engine, _write(tmp_path / "inbox"))
    entity_resolution.resolve(engine)
    return engine


def _cli(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_forget_from_the_command_line_is_one_sentence_and_idempotent(resolved: Engine) -> None:
    claire = _customer_of(resolved, "dealer_sales", CLAIRE_DEAL)
    unknown = _cli("forget", "--customer", "C123456789")
    assert unknown.exit_code == 1
    assert "No customer C123456789" in unknown.output
    assert "Traceback" not in unknown.output

    first = _cli("forget", "--customer", claire)
    assert first.exit_code == 0, first.output
    assert f"forgot {claire}" in first.output
    again = _cli("forget", "--customer", claire)
    assert again.exit_code == 0
    assert "already forgotten" in again.output
    audit = _scalar(
        resolved,
        "select count(*) from raw.audit_log where action = 'forget_customer'"
        " and filters->>'customer_id' = :c",
        c=claire,
    )
    assert audit == 1
    assert _where_found(resolved, CLAIRE) == []
