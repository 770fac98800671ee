"""The Spark engine gives the same customers as the in-process one, through Dagster too.

Spark in local mode (two cores, one session for the module: a Dagster run here uses it, as
it would a notebook's); skipped only where no Java runs it. Select these with
`pytest -m spark`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

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
from entity_resolution import spark as spark_module
from entity_resolution.blocking import candidate_pairs
from entity_resolution.clustering import components
from entity_resolution.comparisons import compare, encode_all
from entity_resolution.engine import IN_PROCESS, link
from entity_resolution.evaluation import febrl
from entity_resolution.spark import (
    SparkBackend,
    compared_columns,
    java_missing,
    start_session,
)
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


def _duplicates_of_febrl3(groups: int) -> tuple[pd.DataFrame, object]:
    """FEBRL3's records of its first `groups` people (most have duplicates), numbered 0..n."""
    records, settings = febrl("febrl3")
    few = records[records["truth"].isin(records["truth"].unique()[:groups])]
    return few.reset_index(drop=True), settings


def test_both_comparison_kernels_give_the_in_process_levels_batch_by_batch():
    # What the workers run, without Spark: pairs as positions into the driver's encodings,
    # and (over Spark Connect) pairs carrying both records' values, in Arrow-sized batches.
    frame, settings = _duplicates_of_febrl3(40)
    encodings = encode_all(frame, settings)
    left, right = np.triu_indices(len(frame), k=1)
    expected = compare(frame, left, right, settings, encodings)
    pairs = pd.DataFrame({"left": left, "right": right})
    batches = [pairs.iloc[i : i + 700].reset_index(drop=True) for i in range(0, len(pairs), 700)]
    columns = compared_columns(settings)
    values = frame[columns].astype(object).where(frame[columns].notna(), None)
    with_values = [
        pd.concat(
            [
                batch,
                values.iloc[batch["left"]].add_prefix("l_").reset_index(drop=True),
                values.iloc[batch["right"]].add_prefix("r_").reset_index(drop=True),
            ],
            axis=1,
        )
        for batch in batches
    ]
    by_position = spark_module._position_batches(
        settings, SimpleNamespace(value=encodings), rows=1000
    )(iter(batches))
    by_value = spark_module._comparison_batches(settings, columns, rows=1000)(iter(with_values))

    assert expected.swapped.any() and (expected.levels[:, 0] == 0).any()
    for got in (pd.concat(list(by_position)), pd.concat(list(by_value))):
        np.testing.assert_array_equal(got[["left", "right"]], pairs)
        levels = got[[f"level_{k}" for k in range(len(settings.comparisons))]].to_numpy()
        np.testing.assert_array_equal(levels, expected.levels)
        np.testing.assert_array_equal(got["swapped"], expected.swapped)


@pytest.mark.parametrize("connect", [False, True], ids=["broadcast", "spark-connect-fallback"])
def test_spark_compares_as_in_process_with_and_without_a_spark_context(spark, monkeypatch, connect):
    frame, settings = _duplicates_of_febrl3(150)
    if connect:  # what a Spark Connect client sees: no SparkContext, so no broadcast
        monkeypatch.setattr(spark_module, "_context", lambda session: None)
    encodings = encode_all(frame, settings)
    expected, expected_levels = IN_PROCESS.compare_candidates(frame, settings, encodings)
    got, got_levels = spark.compare_candidates(frame, settings, encodings)

    assert len(expected.left) > 100
    np.testing.assert_array_equal(got.left, expected.left)
    np.testing.assert_array_equal(got.right, expected.right)
    np.testing.assert_array_equal(got_levels.levels, expected_levels.levels)
    np.testing.assert_array_equal(got_levels.swapped, expected_levels.swapped)


def _graph(seed: int) -> tuple[int, np.ndarray, np.ndarray]:
    """A long chain over shuffled nodes, small clumps, a random sparse part, repeated and
    reversed links, self-links and lone nodes."""
    rng = np.random.default_rng(seed)
    n = 1200
    order = rng.permutation(n)
    chain = order[:300]
    left, right = [chain[:-1]], [chain[1:]]
    start = 300
    while start < 800:
        size = int(rng.integers(1, 8))
        clump = order[start : start + size]
        ends = rng.integers(0, clump.size, (2 * size, 2))
        left.append(clump[ends[:, 0]])
        right.append(clump[ends[:, 1]])
        start += size
    sparse = order[800:1150]
    left.append(rng.choice(sparse, 200))
    right.append(rng.choice(sparse, 200))
    left, right = np.concatenate(left), np.concatenate(right)
    again = rng.integers(0, left.size, 50)
    return n, np.concatenate([left, right[again]]), np.concatenate([right, left[again]])


def test_components_over_many_partitions_are_scipys(spark, caplog):
    n, left, right = _graph(2)
    many = SparkBackend(spark.spark, one_partition_edges=200)  # ~10 partitions a round

    with caplog.at_level("INFO", logger="entity_resolution.spark"):
        got = many.components(n, left.astype(np.int32), right.astype(np.int32))

    np.testing.assert_array_equal(got, components(n, left, right))
    assert any("round 2 in" in line for line in caplog.messages), caplog.messages


def test_components_in_one_partition_are_scipys(spark):
    n, left, right = _graph(3)
    np.testing.assert_array_equal(spark.components(n, left, right), components(n, left, right))


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


def _blocking_case(link_only: bool) -> tuple[pd.DataFrame, object]:
    """FEBRL4's (both sources) or FEBRL3's records of 60 people, nine of them given one date
    of birth: a block just over that rule's cap (here 8), of records from both sources."""
    records, settings = febrl("febrl4" if link_only else "febrl3")
    frame = records[records["truth"].isin(records["truth"].unique()[:60])]
    frame = frame.reset_index(drop=True)
    nine = frame.index[:: len(frame) // 9][:9]  # spread over both sources
    frame.loc[nine, "date_of_birth"] = "19700101"
    rules = tuple(
        dataclasses.replace(rule, max_block_size=8) if rule.columns == ("date_of_birth",) else rule
        for rule in settings.blocking_rules
    )
    return frame, dataclasses.replace(settings, blocking_rules=rules)


@pytest.mark.parametrize("link_only", [False, True], ids=["dedupe", "link_only"])
def test_blocks_paired_partition_by_partition_are_the_in_process_pairs(link_only):
    # What the workers run, without Spark: (sig, src, rule, key) rows hashed by (rule, key)
    # into three partitions, each in Arrow-sized batches in no particular order.
    frame, settings = _blocking_case(link_only)
    expected = candidate_pairs(frame, settings)
    rows = []
    for k, rule in enumerate(settings.blocking_rules):
        held = frame[list(rule.columns)].notna().all(axis=1)
        key = frame[list(rule.columns)].astype(str).agg("|".join, axis=1)
        rows.append(
            pd.DataFrame({"sig": np.flatnonzero(held), "rule": k, "key": key[held].to_numpy()})
        )
    rows = pd.concat(rows, ignore_index=True)
    rows["src"] = frame["source"].to_numpy()[rows["sig"]] if link_only else None
    rows = rows.sample(frac=1, random_state=3).reset_index(drop=True)
    part = rows[["rule", "key"]].apply(lambda r: hash((r["rule"], r["key"])) % 3, axis=1)
    pair = spark_module._block_pairs([r.max_block_size for r in settings.blocking_rules], link_only)
    got = pd.concat(
        [
            out
            for p in range(3)
            for mine in [rows[part == p].reset_index(drop=True)]
            for out in pair(iter([mine.iloc[i : i + 40] for i in range(0, len(mine), 40)]))
        ]
    )
    got = got.drop_duplicates().sort_values(["left", "right"]).to_numpy()

    assert expected.skipped_blocks["date of birth"] == 1 and len(expected.left) > 50
    np.testing.assert_array_equal(got, np.column_stack([expected.left, expected.right]))


@pytest.mark.parametrize("link_only", [False, True], ids=["dedupe", "link_only"])
def test_spark_blocks_and_counts_as_in_process_with_a_skipped_block(spark, link_only):
    frame, settings = _blocking_case(link_only)
    encodings = encode_all(frame, settings)
    expected, _ = IN_PROCESS.compare_candidates(frame, settings, encodings)
    got, _ = spark.compare_candidates(frame, settings, encodings)

    assert expected.skipped_blocks["date of birth"] == 1
    np.testing.assert_array_equal(got.left, expected.left)
    np.testing.assert_array_equal(got.right, expected.right)
    assert got.pairs_per_rule == expected.pairs_per_rule
    assert got.skipped_blocks == expected.skipped_blocks
