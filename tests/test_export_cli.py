"""`dealer360 export audience` and `export links`: consent-filtered, audited, one sentence on a
mistake. The scenario inbox of test_models, modelled once for the module (today pinned)."""

from __future__ import annotations

import getpass
import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from typer.testing import CliRunner

import entity_resolution
from dealer360 import db
from dealer360.cli import app
from ingest.loader import load_inbox
from tests.test_models import make_vin, run_dbt, write_inbox


@pytest.fixture(scope="module")
def modelled(template_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    name = f"x_{uuid.uuid4().hex[:12]}"
    url = db.create_database(template_url, name, template=template_url.database)
    engine = db.get_engine(url)
    work = tmp_path_factory.mktemp("export")
    load_inbox(engine, write_inbox(work / "inbox"))
    entity_resolution.resolve(engine)
    run_dbt(url, work, "build")
    yield url
    engine.dispose()
    db.drop_database(template_url, name)


def _cli(url: URL, *args: str):
    env = {"DATABASE_URL": url.render_as_string(hide_password=False), "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def _query(url: URL, sql: str, **params) -> list[sa.Row]:
    with db.get_engine(url).connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def _customer_of(url: URL, source: str, source_record_id: str) -> str:
    return _query(
        url,
        "select customer_id from resolve.customer_source_map"
        " where source = :s and source_record_id = :r",
        s=source,
        r=source_record_id,
    )[0].customer_id


def test_withdrawn_and_expired_consent_never_reach_the_exported_file(
    modelled: URL, tmp_path: Path
) -> None:
    exported = set()
    for sender in (("--brand", "Honda"), ("--dealer", "D02"), ("--dealer", "D03")):
        out = tmp_path / f"{sender[1]}.csv"
        result = _cli(modelled, "export", "audience", "--out", str(out), *sender)
        assert result.exit_code == 0, result.output
        exported |= set(pd.read_csv(out)["customer_id"])
    emma = _customer_of(modelled, "oem_registrations", "HON-0003")  # opted out last
    helene = _customer_of(modelled, "dealer_sales", "D03:E100")  # implied consent expired
    daniel = _customer_of(modelled, "oem_registrations", "HON-0001")  # express, Honda's
    isabelle = _customer_of(modelled, "dealer_sales", "D03:E200")  # implied, current
    assert emma not in exported
    assert helene not in exported
    assert {daniel, isabelle} <= exported


def test_every_audience_export_is_audited_with_the_files_checksum(
    modelled: URL, tmp_path: Path
) -> None:
    out = tmp_path / "d01.csv"
    result = _cli(modelled, "export", "audience", "--out", str(out), "--dealer", "d01")
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    audit = _query(
        modelled,
        "select actor, db_role, action, filters, row_count from raw.audit_log where sha256 = :s",
        s=hashlib.sha256(data).hexdigest(),
    )
    assert len(audit) == 1
    assert audit[0].action == "export_audience"
    assert audit[0].actor == getpass.getuser()
    assert audit[0].db_role == modelled.username
    assert audit[0].filters["dealer_code"] == "D01"  # as the data spells it
    assert audit[0].filters["sender"] == "D01" and audit[0].filters["channel"] == "email"
    assert audit[0].row_count == len(pd.read_csv(out)) > 0


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--dealer", "D99", "Unknown dealer 'D99'"),
        ("--brand", "Toyotta", "Unknown brand 'Toyotta'"),
    ],
)
def test_a_typo_in_a_filter_is_an_error_not_an_empty_file(
    modelled: URL, tmp_path: Path, option: str, value: str, message: str
) -> None:
    out = tmp_path / "audience.csv"
    before = _query(modelled, "select count(*) as n from raw.audit_log")[0].n
    result = _cli(modelled, "export", "audience", "--out", str(out), option, value)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert _query(modelled, "select count(*) as n from raw.audit_log")[0].n == before


def test_an_unwritable_path_is_one_sentence_and_leaves_no_audit_row(
    modelled: URL, tmp_path: Path
) -> None:
    before = _query(modelled, "select count(*) as n from raw.audit_log")[0].n
    for out in (tmp_path / "missing" / "audience.csv", tmp_path):
        result = _cli(modelled, "export", "audience", "--out", str(out), "--dealer", "D01")
        assert result.exit_code == 1
        assert f"Cannot write {out}" in result.output
        assert "Traceback" not in result.output
    assert _query(modelled, "select count(*) as n from raw.audit_log")[0].n == before


def test_exporting_links_is_audited_too(modelled: URL, tmp_path: Path) -> None:
    out = tmp_path / "links.csv"
    result = _cli(modelled, "export", "links", "--out", str(out))
    assert result.exit_code == 0, result.output
    audit = _query(
        modelled,
        "select action, row_count from raw.audit_log where sha256 = :s",
        s=hashlib.sha256(out.read_bytes()).hexdigest(),
    )
    assert [(a.action, a.row_count) for a in audit] == [("export_links", len(pd.read_csv(out)))]


# Paul Ouellet said yes on one registration and, a year later, no on another, under an old
# e-mail and phone: two customers until a reviewer says they are one person.
ACCORD_PAUL = make_vin("1HGCV1F3", 8001)
CIVIC_PAUL = make_vin("2HGFC2F5", 8002)
PAUL = f"""\
brand,registration_id,vin,registration_date,event,owner_first_name,owner_last_name,street,city,region,postal_code,phone,email,consent_marketing
Honda,HON-0801,{ACCORD_PAUL},2024-04-10,new_owner,Paul,Ouellet,14 rue King,Sherbrooke,QC,J1H 1P9,819-555-0801,paul.ouellet@gmail.com,Y
Honda,HON-0802,{CIVIC_PAUL},2025-06-01,new_owner,P,Ouellet,900 chemin Sainte-Foy,Québec,QC,G1S 2L5,418-555-0802,pouellet@videotron.ca,N
"""


def test_an_export_after_a_merge_honours_the_latest_explicit_statement(
    engine: Engine, database_url: URL, tmp_path: Path
) -> None:
    inbox = write_inbox(tmp_path / "inbox")
    (inbox / "oem_registrations" / "paul.csv").write_text(PAUL, encoding="utf-8")
    load_inbox(engine, inbox)
    entity_resolution.resolve(engine)
    run_dbt(database_url, tmp_path, "build")
    said_yes = _customer_of(database_url, "oem_registrations", "HON-0801")
    said_no = _customer_of(database_url, "oem_registrations", "HON-0802")
    assert said_yes != said_no
    before = tmp_path / "before.csv"
    assert (
        _cli(database_url, "export", "audience", "--out", str(before), "--brand", "Honda").exit_code
        == 0
    )
    assert said_yes in set(pd.read_csv(before)["customer_id"])

    with engine.begin() as conn:  # a reviewer accepts the pair (the dashboard's review page)
        conn.execute(
            sa.text(
                "insert into resolve.review_decisions (source_a, source_record_id_a, source_b,"
                " source_record_id_b, decision, decided_by) values ('oem_registrations',"
                " 'HON-0801', 'oem_registrations', 'HON-0802', 'must_link', 'pytest')"
            )
        )
    entity_resolution.resolve(engine)
    run_dbt(database_url, tmp_path, "build")
    merged = _customer_of(database_url, "oem_registrations", "HON-0801")
    assert merged == _customer_of(database_url, "oem_registrations", "HON-0802")
    after = tmp_path / "after.csv"
    assert (
        _cli(database_url, "export", "audience", "--out", str(after), "--brand", "Honda").exit_code
        == 0
    )
    assert merged not in set(pd.read_csv(after)["customer_id"])
