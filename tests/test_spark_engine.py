"""The Spark engine gives the same customers as the in-process one, through Dagster too.

Spark in local mode (two cores, one session for the module: a Dagster run here uses it, as
it would a notebook's); skipped only where no Java runs it. Select these with
`pytest -m spark`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from dealer360 import db
from dealer360.errors import UserError
from dealer360.settings import get_matching
from entity_resolution import resolve
from entity_resolution.engine import link
from entity_resolution.evaluation import febrl
from entity_resolution.spark import SparkBackend, java_missing, start_session
from generator import generate_inbox
from ingest.loader import load_inbox
from orchestration.identity import resolve_identities
from orchestration.resources import Dealer360, Spark
from tests.test_identity import Inbox, background, the_map

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(java_missing(), reason="the Spark engine needs Java 17 (none found)"),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkBackend]:
    session = start_session("local[2]")
    session.sparkContext.setLogLevel("ERROR")
    yield SparkBackend(session)
    session.stop()


@contextlib.contextmanager
def copy_of(engine: Engine, server: URL) -> Iterator[Engine]:
    """A copy of `engine`'s database as it stands (landed once, resolved twice from there)."""
    engine.dispose()
    name = f"t_{uuid.uuid4().hex[:12]}"
    copy = db.get_engine(db.create_database(server, name, template=engine.url.database))
    try:
        yield copy
    finally:
        copy.dispose()
        db.drop_database(server, name)


_TABLES = {
    "resolve.customer_source_map": "source, source_record_id, customer_id, match_probability",
    "resolve.match_evidence": "source_a, source_record_id_a, source_b, source_record_id_b,"
    " customer_id, match_probability, match_weight, evidence::text",
    "resolve.review_queue": "source_a, source_record_id_a, source_b, source_record_id_b,"
    " customer_id_a, customer_id_b, match_probability, match_weight, evidence::text,"
    " learnt_probability, evidence_pattern, review_priority",
}


def _resolved(engine: Engine) -> dict[str, pd.DataFrame]:
    """What the dashboard and exports read of resolve.*, in a fixed order."""
    with engine.connect() as conn:
        return {
            table: pd.read_sql(sa.text(f"select {columns} from {table} order by {columns}"), conn)
            for table, columns in _TABLES.items()
        }


def test_a_generated_inbox_resolves_to_the_same_customers_on_spark(
    spark, engine, template_url, tmp_path: Path
):
    inbox = tmp_path / "inbox"
    generate_inbox(inbox, people=300, seed=42)
    load_inbox(engine, inbox)

    with copy_of(engine, template_url) as second_engine:
        on_spark = resolve(second_engine, backend=spark)
        got = _resolved(second_engine)
    in_process = resolve(engine)
    expected = _resolved(engine)

    assert on_spark.customers == in_process.customers > 250
    assert on_spark.pairs_per_blocking_rule == in_process.pairs_per_blocking_rule
    assert len(expected["resolve.review_queue"]) > 0
    for table in _TABLES:
        pd.testing.assert_frame_equal(got[table], expected[table], check_exact=True)


def test_a_dagster_run_on_spark_resolves_the_same_customers_and_logs_the_spark_ui(
    spark, engine, template_url, tmp_path: Path
):
    inbox = tmp_path / "inbox"
    generate_inbox(inbox, people=60, seed=7)
    load_inbox(engine, inbox)
    with copy_of(engine, template_url) as second_engine:
        resolve(second_engine)
        expected = _resolved(second_engine)

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [resolve_identities],
        instance=instance,
        resources={"dealer360": Dealer360(resolve_engine="spark"), "spark": Spark()},
    )

    assert result.success
    logged = [e.user_message for e in instance.all_logs(result.run_id) if e.user_message]
    ui = spark.spark.sparkContext.uiWebUrl
    assert ui and any(f"Spark UI: {ui}" in line for line in logged), logged
    assert spark.spark.range(3).count() == 3  # the session it found is left running
    got = _resolved(engine)
    assert len(got["resolve.customer_source_map"]) > 60
    for table in _TABLES:
        pd.testing.assert_frame_equal(got[table], expected[table], check_exact=True)


def test_an_increment_after_a_full_run_on_spark_gives_the_in_process_customers(
    spark, engine, template_url, tmp_path: Path
):
    # The increment itself runs on the driver either way: what Spark must get right is the
    # full run it starts from (the map and the stored model an increment scores with).
    inbox = Inbox(tmp_path / "inbox")
    background(inbox)
    inbox.land(engine)
    with copy_of(engine, template_url) as second_engine:
        assert resolve(second_engine, backend=spark).mode == "full"
        assert resolve(engine).mode == "full"
        by_email = inbox.add("crm_leads", first_name="Rémi", email="remi.thibodeau@outlook.com")
        by_phone = inbox.add(
            "crm_leads", first_name="Rémi", last_name="Thibodeau", phone="418-555-1212"
        )
        increment_on_both(inbox, engine, second_engine, spark)
        customers = the_map(engine)
        assert customers[("crm_leads", by_email)] != customers[("crm_leads", by_phone)]

        inbox.sale(
            first_name="Remi", last_name="Thibodeau", phone="(418) 555-1212",
            email="REMI.THIBODEAU@OUTLOOK.COM",
        )  # fmt: skip
        increment_on_both(inbox, engine, second_engine, spark)
        customers = the_map(engine)
        assert customers[("crm_leads", by_email)] == customers[("crm_leads", by_phone)]


def increment_on_both(inbox: Inbox, engine: Engine, second_engine: Engine, spark) -> None:
    """Land the inbox's new rows in both databases and resolve them incrementally, in
    process and with the Spark backend: the same tables come out."""
    inbox.land(engine)
    load_inbox(second_engine, inbox.root)
    on_spark = resolve(second_engine, backend=spark)
    in_process = resolve(engine)
    assert on_spark.mode == in_process.mode == "incremental"
    assert on_spark.changed_records == in_process.changed_records > 0
    got, expected = _resolved(second_engine), _resolved(engine)
    for table in _TABLES:
        pd.testing.assert_frame_equal(got[table], expected[table], check_exact=True)


@pytest.mark.parametrize("which", ["febrl3", "febrl4"])
def test_febrl_gives_the_same_pairs_levels_and_clusters_on_spark(spark, which):
    records, settings = febrl(which)
    expected = link(records, settings)
    got = link(records, settings, backend=spark)

    for side in ("left", "right"):
        np.testing.assert_array_equal(
            getattr(got.candidates, side), getattr(expected.candidates, side)
        )
    assert got.candidates.pairs_per_rule == expected.candidates.pairs_per_rule
    assert got.candidates.skipped_blocks == expected.candidates.skipped_blocks
    np.testing.assert_array_equal(got.compared.levels, expected.compared.levels)
    np.testing.assert_array_equal(got.compared.swapped, expected.compared.swapped)
    np.testing.assert_array_equal(got.record_cluster, expected.record_cluster)
    np.testing.assert_array_equal(got.record_probability, expected.record_probability)
    np.testing.assert_array_equal(got.clusters.tree, expected.clusters.tree)
    np.testing.assert_array_equal(got.review, expected.review)


def test_components_on_spark_are_numbered_by_their_smallest_member(spark):
    # 0-3-5 a chain, 1-4, 2 alone, 6-7: scipy's numbering is 0 for {0,3,5}, 1 for {1,4} ...
    left = np.array([3, 0, 1, 6], dtype=np.int32)
    right = np.array([5, 3, 4, 7], dtype=np.int32)
    np.testing.assert_array_equal(spark.components(8, left, right), [0, 1, 2, 0, 1, 0, 3, 3])


def test_the_engine_and_master_settings_say_what_is_wrong(monkeypatch):
    monkeypatch.delenv("DEALER360_ENGINE", raising=False)
    monkeypatch.delenv("DEALER360_SPARK_MASTER", raising=False)
    assert get_matching().engine == "in-process"
    assert get_matching("spark").spark_master == "local[*]"
    monkeypatch.setenv("DEALER360_ENGINE", "spark")
    monkeypatch.setenv("DEALER360_SPARK_MASTER", "sc://spark-connect:15002")
    assert get_matching().spark_master == "sc://spark-connect:15002"
    with pytest.raises(UserError, match="one of in-process, spark"):
        get_matching("hadoop")
    with pytest.raises(UserError, match="is not one Spark takes"):
        get_matching("spark", "local[0]")
    with pytest.raises(UserError, match="--spark-master is for --engine spark"):
        get_matching("in-process", "local[2]")
