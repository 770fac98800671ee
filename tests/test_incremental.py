"""Incremental resolve against a real PostgreSQL: each scenario lands a base, resolves it in
full, lands a day's change, resolves again (incremental by default) and checks that the
customers are those a full run on the same data gives, that only the touched customers were
re-clustered, and that IDs follow the usual rules."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from dealer360 import db
from dealer360.forget import forget_customer
from entity_resolution import resolve
from entity_resolution.pipeline import DRIFT_SHARE
from tests.test_faults import checksums, hold, queued_behind
from tests.test_identity import (
    REMI_BRIDGE,
    REMI_BY_EMAIL,
    REMI_BY_PHONE,
    Inbox,
    _decide,
    background,
    customer_of,
    namesakes,
    the_map,
    vin,
)


def partition(engine: Engine) -> set[frozenset[tuple[str, str]]]:
    """The customers as sets of records (IDs left out: a partition compares across runs)."""
    groups: dict[str, set[tuple[str, str]]] = {}
    for record, customer in the_map(engine).items():
        groups.setdefault(customer, set()).add(record)
    return {frozenset(g) for g in groups.values()}


def resolve_tables(engine: Engine) -> dict[str, tuple[int, str]]:
    return {k: v for k, v in checksums(engine, ("resolve",)).items()}


def increment_then_full(engine: Engine):
    """Resolve incrementally, then in full on the same data: (increment's summary, its
    partition, the full run's partition)."""
    summary = resolve(engine)
    after_increment = partition(engine)
    resolve(engine, full=True)
    return summary, after_increment, partition(engine)


@pytest.fixture
def inbox(tmp_path) -> Inbox:
    return Inbox(tmp_path / "inbox")


@pytest.fixture
def base(inbox, engine):
    """Eighty background customers, resolved in full: the model an increment scores with."""
    background(inbox)
    inbox.land(engine)
    first = resolve(engine)
    assert first.mode == "full" and first.reason == "no model has been learnt yet"
    return first


def test_a_rerun_with_nothing_new_writes_nothing(inbox, engine, base):
    before = resolve_tables(engine)
    runs = the_runs(engine)
    summary = resolve(engine)
    assert summary.mode == "unchanged"
    assert resolve_tables(engine) == before
    assert the_runs(engine) == runs  # not even a run row


def test_a_rerun_with_nothing_written_since_reads_nothing(inbox, engine, base, monkeypatch):
    """No note of a write to what resolve reads: the run does not even read the records.
    A write to any of them (here a repair order's amount, which changes no identity) sends
    the next run back to reading, which finds nothing new and leaves the next one free."""
    from entity_resolution import pipeline

    def reads(*_args):
        raise AssertionError("the run read the records")

    with monkeypatch.context() as patched:
        patched.setattr(pipeline.io, "read_raw", reads)
        summary = resolve(engine)
    assert summary.mode == "unchanged" and "nothing resolve reads was written" in summary.reason
    assert summary.records == base.records and summary.customers == base.customers
    with engine.begin() as conn:
        conn.execute(sa.text("update raw.service_orders set labor_amount = '1' where true"))
    with monkeypatch.context() as patched:
        patched.setattr(pipeline.io, "read_raw", reads)
        with pytest.raises(AssertionError, match="read the records"):
            resolve(engine)
    before = resolve_tables(engine)
    assert resolve(engine).mode == "unchanged"
    assert resolve_tables(engine) == before
    with monkeypatch.context() as patched:
        patched.setattr(pipeline.io, "read_raw", reads)
        assert resolve(engine).mode == "unchanged"
    # another release of the matching code reads everything again, once: finding nothing
    # new, it takes the last run as its own, and the run after reads nothing
    monkeypatch.setattr(pipeline, "code_fingerprint", lambda *_: "another release")
    with monkeypatch.context() as patched:
        patched.setattr(pipeline.io, "read_raw", reads)
        with pytest.raises(AssertionError, match="read the records"):
            resolve(engine)
    runs = the_runs(engine)
    assert resolve(engine).mode == "unchanged"
    assert resolve_tables(engine) == before and the_runs(engine) == runs
    with monkeypatch.context() as patched:
        patched.setattr(pipeline.io, "read_raw", reads)
        assert resolve(engine).mode == "unchanged"


def the_runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text("select count(*) from resolve.runs"))


def test_a_new_record_joins_its_customer_and_only_its_neighbourhood_is_reclustered(
    inbox, engine, base
):
    sale = inbox.sale(
        first_name="Guy", last_name="Paradis", phone="418-555-9009", vin=(car := vin())
    )
    inbox.land(engine)
    resolve(engine, full=True)
    customer = customer_of(engine, "dealer_sales", sale)
    before = the_map(engine)

    later = inbox.service(customer_name="PARADIS, GUY", phone="418 555 9009", vin=car)
    stranger = inbox.sale(first_name="Odile", last_name="Vachon", phone="418-555-9119")
    inbox.land(engine)
    summary, increment, full = increment_then_full(engine)
    assert summary.mode == "incremental" and summary.changed_records == 2
    assert summary.relinked_records < summary.records
    assert increment == full
    assert customer_of(engine, "service_orders", later) == customer
    assert customer_of(engine, "dealer_sales", stranger) not in set(before.values())
    after = the_map(engine)
    assert all(after[k] == v for k, v in before.items())


def test_a_namesake_who_shares_nothing_else_is_not_reclustered(inbox, engine, base):
    """A new Guy Paradis shares a blocking key (his full name) with four others of that
    name, each with a phone, a street and a postal area of their own: none of those pairs
    can link or be reviewed, so his namesakes keep their customers untouched, as a run from
    scratch leaves them."""
    namesakes(inbox, "Guy", "Paradis")
    inbox.land(engine)
    resolve(engine, full=True)
    before = the_map(engine)

    newcomer = inbox.sale(
        first_name="Guy", last_name="Paradis", phone="450-555-7070",
        email="gparadis@sympatico.ca", street="77 rue Wellington", postal_code="J1K 2B2",
    )  # fmt: skip
    inbox.land(engine)
    summary, increment, full = increment_then_full(engine)
    assert summary.mode == "incremental" and summary.changed_records == 1
    assert summary.relinked_records == 1  # the newcomer alone
    assert increment == full
    assert customer_of(engine, "dealer_sales", newcomer) not in set(before.values())


def _a_lead_stands_alone_once_another_arrives(
    inbox: Inbox, engine: Engine, owner: dict, lead: dict, newcomer: dict
) -> None:
    """The lead goes to the one customer its values point at; once the newcomer holds them
    too, they no longer say who the lead is, and it stands alone, as a full run has it."""
    owner_id = inbox.sale(**owner)
    lead_id = inbox.add("crm_leads", **lead)
    inbox.land(engine)
    resolve(engine, full=True)
    assert customer_of(engine, "crm_leads", lead_id) == customer_of(
        engine, "dealer_sales", owner_id
    )

    newcomer_id = inbox.sale(**newcomer)
    inbox.land(engine)
    summary, increment, full = increment_then_full(engine)
    assert summary.mode == "incremental"
    assert increment == full
    assert customer_of(engine, "crm_leads", lead_id) not in {
        customer_of(engine, "dealer_sales", owner_id),
        customer_of(engine, "dealer_sales", newcomer_id),
    }


def test_a_lead_known_by_name_alone_leaves_its_customer_when_a_namesake_arrives(
    inbox, engine, base
):
    """A lead that left nothing but "Francesca Ferrari" goes to the one customer of that
    name, until a second Francesca Ferrari, sharing nothing else with the first, arrives."""
    _a_lead_stands_alone_once_another_arrives(
        inbox,
        engine,
        owner=dict(
            first_name="Francesca", last_name="Ferrari", phone="418-555-6161",
            street="8 rue Cartier", postal_code="G1R 2S6",
        ),
        lead=dict(first_name="Francesca", last_name="Ferrari"),
        newcomer=dict(
            first_name="Francesca", last_name="Ferrari", phone="819-555-4848",
            email="fferrari@gmail.com", street="31 rue Wellington", postal_code="J1H 5C7",
        ),
    )  # fmt: skip


def test_a_lead_known_by_a_phone_alone_leaves_its_customer_when_a_housemate_arrives(
    inbox, engine, base
):
    """A lead that left nothing but a phone number is whoever holds that number, until a
    housemate of another name buys a car giving the same landline."""
    home = {"phone": "418-555-2727", "street": "14 rue Saint-Jean", "postal_code": "G1R 1N8"}
    _a_lead_stands_alone_once_another_arrives(
        inbox,
        engine,
        owner=dict(first_name="Denis", last_name="Caron", **home),
        lead=dict(phone="(418) 555-2727"),
        newcomer=dict(
            first_name="Louise", last_name="Bédard", email="louise.bedard@videotron.ca", **home
        ),
    )


def _queue(engine: Engine) -> set[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        return {
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "select source_a, source_record_id_a, source_b, source_record_id_b"
                    " from resolve.review_queue"
                )
            )
        }


def test_a_review_pair_whose_record_changed_beyond_doubt_leaves_the_queue(inbox, engine, base):
    """Two Paul Roys on one landline and street, with e-mails of their own: a pair for a
    reviewer. The lead is then re-sent as somebody else, sharing no blocking key with the
    sale any more: the sale is not re-clustered, yet the pair leaves the queue."""
    home = {"phone": "418-555-7777", "street": "3 rue Dorval", "postal_code": "G6V 2C2"}
    inbox.add(
        "crm_leads", lead_id="PR-1", first_name="Paul", last_name="Roy",
        email="paul.roy@videotron.ca", **home,
    )  # fmt: skip
    sale = inbox.sale(first_name="Paul", last_name="Roy", email="proy@gmail.com", **home)
    inbox.land(engine)
    resolve(engine)
    pair = ("crm_leads", "D01:PR-1", "dealer_sales", sale)
    assert pair in _queue(engine) or pair[2:] + pair[:2] in _queue(engine)

    inbox.add(
        "crm_leads", lead_id="PR-1", first_name="Zoé", last_name="Quintal",
        phone="514-555-8181", email="zoe.quintal@gmail.com",
    )  # fmt: skip
    inbox.land(engine)
    summary = resolve(engine)
    assert summary.mode == "incremental" and summary.relinked_records == 1
    assert pair not in _queue(engine) and pair[2:] + pair[:2] not in _queue(engine)


def _standardized(engine: Engine) -> dict[tuple[str, str], tuple[str, str]]:
    """Each standardized row's values and the transaction that last wrote it (`xmin`)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select source, source_record_id, xmin::text, s::text"
                " from resolve.standardized_records as s"
            )
        ).all()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def test_an_increment_writes_only_the_standardized_rows_that_changed(inbox, engine, base):
    """The increment re-clusters Guy's whole customer, but only the new repair order's
    standardized row is new: the others are left alone (not deleted and copied again), so
    the incremental marts rebuild one record, and the table is what a full run writes."""
    inbox.sale(first_name="Guy", last_name="Paradis", phone="418-555-9009", vin=(car := vin()))
    inbox.land(engine)
    resolve(engine)
    before = _standardized(engine)
    later = inbox.service(customer_name="PARADIS, GUY", phone="418 555 9009", vin=car)
    inbox.land(engine)
    summary = resolve(engine)
    assert summary.mode == "incremental" and summary.relinked_records >= 2
    after = _standardized(engine)
    written = {key for key, (xmin, _) in after.items() if before.get(key, ("",))[0] != xmin}
    assert written == {("service_orders", later)}
    resolve(engine, full=True)
    assert {k: v for k, (_, v) in _standardized(engine).items()} == {
        k: v for k, (_, v) in after.items()
    }


def test_a_new_record_bridging_two_customers_merges_them_and_keeps_the_older_id(
    inbox, engine, base
):
    by_email = inbox.add("crm_leads", **REMI_BY_EMAIL)
    by_phone = inbox.add("crm_leads", **REMI_BY_PHONE)
    inbox.land(engine)
    resolve(engine)
    older = customer_of(engine, "crm_leads", by_email)
    newer = customer_of(engine, "crm_leads", by_phone)
    assert older != newer

    bridge = inbox.sale(**REMI_BRIDGE)
    inbox.land(engine)
    summary = resolve(engine)
    assert summary.mode == "incremental" and summary.merged_ids == 1
    survivor = min(older, newer)
    assert {
        customer_of(engine, "crm_leads", by_email),
        customer_of(engine, "crm_leads", by_phone),
        customer_of(engine, "dealer_sales", bridge),
    } == {survivor}
    with engine.connect() as conn:
        history = conn.execute(
            sa.text(
                "select old_customer_id, new_customer_id, reason from resolve.customer_id_history"
            )
        ).all()
        evidence = conn.scalar(
            sa.text("select count(*) from resolve.match_evidence where customer_id = :c"),
            {"c": survivor},
        )
    assert (max(older, newer), survivor, "merge") in [tuple(r) for r in history]
    assert evidence == 2  # the merged customer's tree: three records, two links
    partition_now = partition(engine)
    resolve(engine, full=True)
    assert partition(engine) == partition_now


def test_a_record_gone_from_raw_takes_its_links_with_it(inbox, engine, base):
    """The customer that lost a record is re-clustered whole: the two leads the deleted
    sale bridged part again, as a full run has them."""
    by_email = inbox.add("crm_leads", **REMI_BY_EMAIL)
    by_phone = inbox.add("crm_leads", **REMI_BY_PHONE)
    bridge = inbox.sale(**REMI_BRIDGE)
    inbox.land(engine)
    resolve(engine)
    assert customer_of(engine, "crm_leads", by_email) == customer_of(engine, "crm_leads", by_phone)
    with engine.begin() as conn:
        conn.execute(
            sa.text("delete from raw.dealer_sales where source_record_id = :r"), {"r": bridge}
        )
    summary, increment, full = increment_then_full(engine)
    assert summary.mode == "incremental" and summary.relinked_records >= 2
    assert increment == full
    assert ("dealer_sales", bridge) not in the_map(engine)
    assert customer_of(engine, "crm_leads", by_email) != customer_of(engine, "crm_leads", by_phone)


def test_a_changed_record_moves_to_the_customer_it_now_matches(inbox, engine, base):
    lead = inbox.add(
        "crm_leads", lead_id="LEAD-7", first_name="Carole", last_name="Beaulieu",
        phone="418-555-3434",
    )  # fmt: skip
    owner = inbox.sale(
        first_name="Karine", last_name="Lachance", phone="418-555-5656",
        email="karine.lachance@videotron.ca",
    )  # fmt: skip
    inbox.land(engine)
    resolve(engine)
    assert customer_of(engine, "crm_leads", "D01:LEAD-7") != customer_of(
        engine, "dealer_sales", owner
    )
    # The CRM corrects the lead: it was Karine Lachance all along.
    inbox.add(
        "crm_leads", lead_id="LEAD-7", first_name="Karine", last_name="Lachance",
        phone="418-555-5656", email="karine.lachance@videotron.ca",
    )  # fmt: skip
    inbox.land(engine)
    summary, increment, full = increment_then_full(engine)
    assert summary.mode == "incremental" and summary.changed_records == 1
    assert increment == full
    assert lead == "D01:LEAD-7"
    assert customer_of(engine, "crm_leads", lead) == customer_of(engine, "dealer_sales", owner)


def test_a_forgotten_person_sent_again_stays_forgotten(inbox, engine, base):
    sale = inbox.sale(
        first_name="Sylvie", last_name="Roy", phone="418-555-7878", email="sylvie.roy@gmail.com"
    )
    inbox.land(engine)
    resolve(engine)
    forget_customer(engine, customer_of(engine, "dealer_sales", sale))
    anonymous = customer_of(engine, "dealer_sales", sale)

    again = inbox.add(
        "crm_leads", first_name="Sylvie", last_name="Roy", phone="418-555-7878",
        email="sylvie.roy@gmail.com",
    )  # fmt: skip
    inbox.land(engine)
    summary, increment, full = increment_then_full(engine)
    assert summary.mode == "incremental"
    assert increment == full
    assert customer_of(engine, "dealer_sales", sale) == anonymous
    resent = customer_of(engine, "crm_leads", again)
    assert resent != anonymous
    with engine.connect() as conn:
        shown = conn.scalar(
            sa.text(
                "select count(*) from resolve.standardized_records"
                " where source = 'dealer_sales' and source_record_id = :r and last_name is not null"
            ),
            {"r": sale},
        )
    assert shown == 0


def test_a_forget_while_an_increment_matches_holds(inbox, engine, base):
    """An increment writes against the map it read unless something wrote it since: a
    person forgotten after the increment read the map, before it wrote, stays forgotten."""
    sale = inbox.sale(first_name="Rejean", last_name="Bouchard", phone="418-555-3131")
    inbox.land(engine)
    resolve(engine)
    customer = customer_of(engine, "dealer_sales", sale)
    lead = inbox.add("crm_leads", first_name="Rejean", last_name="Bouchard", phone="4185553131")
    inbox.land(engine)

    def forget_before_writing(step: str) -> None:
        if step == "writing":
            forget_customer(engine, customer)

    summary = resolve(engine, on_step=forget_before_writing)
    assert summary.mode == "incremental" and summary.relinked_records >= 2
    anonymous, now = (
        customer_of(engine, "dealer_sales", sale),
        customer_of(engine, "crm_leads", lead),
    )
    # The lead matched the sale; neither the forgotten person's ID nor their anonymous key
    # may come back on it.
    assert anonymous != customer and now not in (customer, anonymous)
    with engine.connect() as conn:
        forgotten = conn.scalar(
            sa.text(
                "select anonymous_id from privacy.forgotten_records where source_record_id = :r"
            ),
            {"r": sale},
        )
        shown = conn.scalar(
            sa.text(
                "select count(*) from resolve.standardized_records"
                " where source_record_id = :r and (last_name is not null or phone is not null)"
            ),
            {"r": sale},
        )
    assert forgotten == anonymous and shown == 0
    assert resolve(engine).mode == "unchanged"  # and the next run has nothing to mend


def test_a_review_decision_between_two_increments_is_honoured(inbox, engine, base):
    a = ("dealer_sales", inbox.sale(first_name="Annie", last_name="Fortier", phone="418-555-7007"))
    b = (
        "crm_leads",
        inbox.add("crm_leads", first_name="Annie", last_name="Fortier", phone="4185557007"),
    )
    inbox.land(engine)
    resolve(engine)
    assert customer_of(engine, *a) == customer_of(engine, *b)

    _decide(engine, a, b, "cannot_link")
    summary = resolve(engine)
    assert summary.mode == "incremental" and summary.changed_records == 0
    assert customer_of(engine, *a) != customer_of(engine, *b)
    assert summary.split_ids == 1

    with engine.begin() as conn:  # the reviewer changes their mind
        conn.execute(
            sa.text(
                "update resolve.review_decisions set decision = 'must_link', decided_at = now()"
            )
        )
    summary, increment, full = increment_then_full(engine)
    assert summary.mode == "incremental"
    assert increment == full
    assert customer_of(engine, *a) == customer_of(engine, *b)


def test_a_fifth_of_the_data_new_since_the_model_learns_it_again(inbox, engine, base):
    background(inbox, people=int(80 * DRIFT_SHARE) + 10)  # new people, new records
    inbox.land(engine)
    summary = resolve(engine)
    assert summary.mode == "full"
    assert "learnt again" in summary.reason


def _resolve_in_a_process(url: URL) -> subprocess.Popen:
    code = (
        "from dealer360 import db; from entity_resolution import resolve;"
        f" resolve(db.get_engine({url.render_as_string(hide_password=False)!r}))"
    )
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def test_an_increment_killed_while_writing_converges_to_a_clean_increment(
    inbox, engine, base, template_url: URL
):
    inbox.sale(first_name="Guy", last_name="Paradis", phone="418-555-9009")
    inbox.add("crm_leads", first_name="Guy", last_name="Paradis", phone="4185559009")
    inbox.land(engine)
    # The same state in a second database, cloned, for the undisturbed increment.
    engine.dispose()
    url = engine.url
    clean_name = f"t_{uuid.uuid4().hex[:12]}"
    clean_url = db.create_database(template_url, clean_name, template=url.database)
    clean = sa.create_engine(clean_url, poolclass=sa.pool.NullPool)
    try:
        assert resolve(clean).mode == "incremental"
        undisturbed = resolve_tables(clean)

        blocker = hold(engine, "resolve.customers")
        run = _resolve_in_a_process(url)
        deadline = time.monotonic() + 120
        while not queued_behind(engine, "resolve.customers"):
            assert run.poll() is None and time.monotonic() < deadline, "no increment to kill"
            time.sleep(0.05)
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        blocker.rollback()
        blocker.close()
        summary = resolve(engine)
        assert summary.mode == "incremental"
        assert resolve_tables(engine) == undisturbed
    finally:
        clean.dispose()
        db.drop_database(template_url, clean_name)


def test_the_stored_model_is_the_full_runs_and_an_increment_names_it(engine, inbox, base):
    inbox.sale(first_name="Odile", last_name="Vachon", phone="418-555-9119")
    inbox.land(engine)
    resolve(engine)
    with engine.connect() as conn:
        runs = pd.read_sql(
            "select run_id, parameters->>'mode' as mode,"
            " parameters->>'model_run_id' as model, parameters ? 'comparisons' as has_model"
            " from resolve.runs order by run_id",
            conn,
        )
    assert runs["mode"].tolist() == ["full", "incremental"]
    assert runs["has_model"].tolist() == [True, False]
    assert int(runs["model"].iloc[1]) == int(runs["run_id"].iloc[0])
