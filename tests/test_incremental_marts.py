"""Incremental marts against a real PostgreSQL: after a day's change (a new sale for an
existing customer, a record that merges two customers, a new customer, a forgotten person),
`dealer360 run` rebuilds only the changed rows of the incremental models, and they come out
as a build from scratch makes them. Two pipeline runs on a small inbox and one dbt model."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from dbt.cli.main import dbtRunner
from sqlalchemy.engine import URL, Engine

from dealer360 import db
from dealer360.forget import forget_customer
from orchestration import builds
from tests.test_identity import Inbox, background, customer_of, vin

pytestmark = pytest.mark.slow

DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
INCREMENTAL = [  # (rebuilding a table drops the views on it: what reads one comes first)
    "marts.customer_value_by_dealer_brand",
    "intermediate.int_vehicles",
    "intermediate.int_service_orders",
    "intermediate.int_ownership_periods",
    "intermediate.int_service_visits",
    "marts.vehicle_ownership",
    "marts.customer_events",
    "intermediate.int_person_records",
    "intermediate.int_customer_golden_record",
]


def _run(inbox: Path, url: URL, home: Path) -> str:
    """`dealer360 run --inbox`, as a nightly job starts it; its output."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "DATABASE_URL")}
    env |= {"DATABASE_URL": url.render_as_string(hide_password=False), "DEALER360_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "dealer360.cli", "run", "--inbox", str(inbox)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _inserted(home: Path, model: str) -> int | None:
    """How many rows the last build inserted into an incremental `model` (dbt says `INSERT 0
    n` when it added to the kept table, `SELECT n` when it built the table anew)."""
    log = (home / "logs" / "dbt-last-run.log").read_text()
    found = re.search(rf"OK created sql incremental model {model} .*?INSERT 0 (\d+)", log)
    return int(found.group(1)) if found else None


def _rebuild_from_scratch(url: URL, work: Path, model: str) -> None:
    """`dbt run --full-refresh` of one model, as of today (no vars)."""
    with pytest.MonkeyPatch.context() as env:
        for key, value in db.dbt_env(url).items():
            env.setenv(key, value)
        result = dbtRunner().invoke(
            [
                "run", "--select", model, "--full-refresh",
                "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
                "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            ]
        )  # fmt: skip
    assert result.success, result.exception or result.result


def _differences(engine: Engine, kept: str, table: str) -> tuple[int, int]:
    """Rows of `kept` not in `table`, and the other way round (multisets)."""
    with engine.connect() as conn:
        return (
            conn.scalar(sa.text(f"select count(*) from (table {kept} except all table {table}) d")),
            conn.scalar(sa.text(f"select count(*) from (table {table} except all table {kept}) d")),
        )


def test_an_incremental_build_gives_the_marts_a_build_from_scratch_gives(
    tmp_path, database_url, engine
):
    inbox = Inbox(tmp_path / "inbox")
    background(inbox)
    car = vin()
    sale = inbox.sale(first_name="Guy", last_name="Paradis", phone="418-555-9009", vin=car)
    by_email = inbox.add("crm_leads", first_name="Rémi", email="remi.thibodeau@outlook.com")
    by_phone = inbox.add(
        "crm_leads", first_name="Rémi", last_name="Thibodeau", phone="418-555-1212"
    )
    serviced = vin()  # a car known only from a repair order: no model yet
    repair = inbox.service(customer_name="GAGNON, MARC", phone="418 555 4545", vin=serviced)
    bought = vin()  # a car sold the first day and serviced the next, nothing else
    inbox.sale(first_name="Lucie", last_name="Tremblay", phone="418-555-3131", vin=bought)
    forgotten = inbox.sale(
        first_name="Sylvie", last_name="Roy", phone="418-555-7878", email="sylvie.roy@gmail.com"
    )
    inbox.land(engine)
    home = tmp_path / "home"
    _run(inbox.root, database_url, home)
    guy = customer_of(engine, "dealer_sales", sale)
    assert customer_of(engine, "crm_leads", by_email) != customer_of(engine, "crm_leads", by_phone)

    # The next day: Guy buys another car (a new sale of an existing customer), a record
    # bridges the two Rémis, a stranger buys Guy's old car (its earlier period ends) and
    # another buys the car Marc had repaired (its sale says the model: Marc's repair order,
    # a row of another customer whose records did not change, now shows it).
    inbox.sale(first_name="Guy", last_name="Paradis", phone="418-555-9009", deal_date="2022-03-01")
    inbox.sale(
        first_name="Remi", last_name="Thibodeau", phone="(418) 555-1212",
        email="REMI.THIBODEAU@OUTLOOK.COM",
    )  # fmt: skip
    stranger = inbox.sale(
        first_name="Odile", last_name="Vachon", phone="418-555-9119", vin=car,
        deal_date="2022-03-02", condition="used",
    )  # fmt: skip
    inbox.sale(
        first_name="Hugo", last_name="Bélanger", phone="418-555-6767", vin=serviced,
        make="Honda", model="Civic", model_year="2019", deal_date="2022-04-01",
    )  # fmt: skip
    # and Lucie has her car serviced: only a repair order of the VIN changed, and the VIN's
    # row of int_vehicles (its last-seen day) reads it
    inbox.service(
        customer_name="TREMBLAY, LUCIE", phone="418 555 3131", vin=bought, open_date="2022-06-01"
    )
    inbox.land(engine)
    with engine.connect() as conn:
        changed = conn.scalar(sa.text("select count(*) from raw.model_changed_records"))
    assert changed == 5  # the four new sales and the repair order, noted by the landing's trigger
    # and Sylvie asks to be forgotten between the two runs
    sylvie = customer_of(engine, "dealer_sales", forgotten)
    forget_customer(engine, sylvie)
    _run(inbox.root, database_url, home)
    with engine.connect() as conn:
        events = conn.scalar(sa.text("select count(*) from marts.customer_events"))
    # the events of the records and VINs that changed: a handful of some two hundred
    assert 3 <= _inserted(home, "marts.customer_events") < events / 4
    with engine.connect() as conn:
        records = conn.scalar(sa.text("select count(*) from intermediate.int_person_records"))
    assert 3 <= _inserted(home, "intermediate.int_person_records") < records / 4
    with engine.connect() as conn:
        customers = conn.scalar(
            sa.text("select count(*) from intermediate.int_customer_golden_record")
        )
    assert 2 <= _inserted(home, "intermediate.int_customer_golden_record") < customers / 4
    for model in INCREMENTAL[:6]:  # the customer-, vehicle- and repair-order-grain ones
        with engine.connect() as conn:
            rows = conn.scalar(sa.text(f"select count(*) from {model}"))
        assert 1 <= _inserted(home, model) < rows / 4, model
    merged = customer_of(engine, "crm_leads", by_email)
    assert customer_of(engine, "crm_leads", by_phone) == merged
    with engine.connect() as conn:
        # what the build saw is consumed: the next build has nothing left to rebuild
        assert conn.scalar(sa.text("select count(*) from raw.model_changed_records")) == 0
        events = conn.execute(
            sa.text("select customer_id, event_type from marts.customer_events where vin = :v"),
            {"v": car},
        ).all()
        repaired = conn.scalar(
            sa.text("select model from marts.customer_events where event_id = :e"),
            {"e": f"service_orders:{repair}"},
        )
        assert not conn.scalar(
            sa.text("select count(*) from marts.customer_events where customer_id = :c"),
            {"c": sylvie},
        )
    assert repaired == "Civic"
    assert sorted(events) == sorted(
        [(guy, "sale"), (customer_of(engine, "dealer_sales", stranger), "sale")]
    )

    for table in INCREMENTAL:
        kept = table.replace(".", "_kept_")
        with engine.begin() as conn:
            conn.execute(sa.text(f"create table public.{kept} as table {table}"))
        _rebuild_from_scratch(database_url, tmp_path, table.split(".")[1])
        assert _differences(engine, f"public.{kept}", table) == (0, 0), table


def test_a_build_is_in_full_when_asked_as_of_another_day_or_after_one(engine):
    wanted = builds.built_for(engine, DBT_PROJECT, {})
    with engine.begin() as conn:
        conn.execute(sa.text("delete from raw.model_changed_records"))
        conn.execute(
            sa.text(
                "insert into raw.model_builds (built_for) values (cast(:b as jsonb))"
                " on conflict (singleton) do update set built_for = excluded.built_for"
            ),
            {"b": json.dumps(wanted)},
        )
    assert builds.full_refresh_reason(engine, wanted, full=False) is None
    assert builds.full_refresh_reason(engine, wanted, full=True) == "a full run was asked for"
    as_of = {**wanted, "vars": {"as_of_date": "2026-04-01"}}
    assert "2026-04-01" in builds.full_refresh_reason(engine, as_of, full=False)
    with engine.begin() as conn:
        conn.execute(
            sa.text("update raw.model_builds set built_for = cast(:b as jsonb)"),
            {"b": json.dumps(as_of)},
        )
    # the plain run after an as-of build brings the incremental tables back to today
    assert "2026-04-01" in builds.full_refresh_reason(engine, wanted, full=False)
    with engine.begin() as conn:
        conn.execute(sa.text("delete from raw.model_builds"))
    assert builds.full_refresh_reason(engine, wanted, full=False) == (
        "the last build did not complete"
    )


def test_a_dealers_own_phone_number_added_or_changed_rebuilds_in_full(engine):
    """int_person_records calls a phone that is a rooftop's own nobody's: when a dealer's
    number comes, changes or goes, records that did not change change, so the next build is
    in full; a dealer's other details change no person record."""

    def everything() -> bool:
        with engine.begin() as conn:
            noted = conn.scalar(
                sa.text(
                    "select exists (select from raw.model_changed_records"
                    " where source = 'everything')"
                )
            )
            conn.execute(sa.text("delete from raw.model_changed_records"))
        return noted

    everything()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "insert into raw.dealers (source_record_id, dealer_code, dealer_name, brands,"
                " city, phone, file_name, row_number, row_hash)"
                " values ('D9', 'D9', 'Rive-Sud Toyota', 'Toyota', 'Lévis', '418-555-0000',"
                " 'dealers.csv', 2, 'h')"
            )
        )
    assert everything()
    with engine.begin() as conn:
        conn.execute(sa.text("update raw.dealers set city = 'Levis' where dealer_code = 'D9'"))
    assert not everything()
    with engine.begin() as conn:
        conn.execute(
            sa.text("update raw.dealers set phone = '418-555-0001' where dealer_code = 'D9'")
        )
    assert everything()
    with engine.begin() as conn:
        conn.execute(sa.text("delete from raw.dealers where dealer_code = 'D9'"))
    assert everything()


def _manifest(models: dict[str, list[str]], tests: dict[str, list[str]]) -> dict:
    """A dbt manifest's graph: each model or test with what it reads (`raw.x` a source)."""
    uid = {name: f"source.p.{name}" if "." in name else f"model.p.{name}" for name in models}
    for parents in [*models.values(), *tests.values()]:
        uid |= {p: f"source.p.{p}" for p in parents if "." in p}
    nodes = {
        uid[name]: {"resource_type": "model", "depends_on": {"nodes": [uid[p] for p in parents]}}
        for name, parents in models.items()
    } | {
        f"test.p.{name}": {"resource_type": "test", "depends_on": {"nodes": [uid[p] for p in ps]}}
        for name, ps in tests.items()
    }
    children: dict[str, list[str]] = {}
    for child, node in nodes.items():
        for parent in node["depends_on"]["nodes"]:
            children.setdefault(parent, []).append(child)
    sources = {
        u: {"schema": name.split(".")[0], "identifier": name.split(".")[1]}
        for name, u in uid.items()
        if u.startswith("source.")
    }
    return {"nodes": nodes, "sources": sources, "child_map": children}


def test_a_build_leaves_the_models_that_read_nothing_changed_and_keeps_every_test_of_the_rest():
    manifest = _manifest(
        models={
            "stg_dealers": ["raw.dealers"],
            "stg_leads": ["raw.crm_leads"],
            "stg_recalls": ["raw.oem_recalls"],
            "leads": ["stg_leads", "stg_dealers"],
            "recalls": ["stg_recalls"],
            "senders": ["stg_dealers"],
        },
        tests={
            "leads_dealer_is_a_dealer": ["leads", "stg_dealers"],
            "unique_senders": ["senders"],
        },
    )
    unaffected = {
        uid.split(".")[-1] for uid in builds.unaffected_models(manifest, {"raw.crm_leads"})
    }
    # the dealers' view is built anyway: a test of the rebuilt leads reads it
    assert unaffected == {"stg_recalls", "recalls", "senders"}
    assert builds.unaffected_models(manifest, {"raw.dealers", "raw.oem_recalls"}) == {
        "model.p.stg_leads"
    }
    # a note that is not a source's (a migration's) affects everything
    assert builds.unaffected_models(manifest, {"raw.crm_leads", "migration 0021"}) == set()
