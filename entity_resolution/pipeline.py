"""resolve(engine): raw.* → person records → clusters → stable customer IDs → resolve.*.

Every run re-resolves all landed records (so a new record can merge two customers or a
review decision can split one) and then inherits IDs from the previous run (ids.py).
All writes happen in one transaction under an advisory lock: a reader sees the previous
run or this one, never half of each.

Records erased by `dealer360 forget` (privacy.forgotten_records) are not matched: each is
pinned to its anonymous key, so nothing (not even a shared VIN) ties it to anyone again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from entity_resolution import io
from entity_resolution.engine import IN_PROCESS, Backend, LinkResult, link
from entity_resolution.ids import assign_ids, format_customer_id
from entity_resolution.records import person_records
from entity_resolution.settings import (
    DEALER,
    DEALER_PREP,
    DISPLAY_NAME_COLUMNS,
    PERSON_IDENTIFIERS,
    LinkSettings,
    PrepSettings,
)

log = logging.getLogger(__name__)

_PAIRS_PER_CHUNK = 250_000  # evidence rows built and written at once


@dataclass
class ResolveSummary:
    run_id: int
    records: int
    signatures: int
    candidate_pairs: int
    customers: int
    new_customers: int
    merged_ids: int
    split_ids: int
    records_before: int  # records that already had a customer ID
    records_kept_id: int  # … and still have the same one
    review_pairs: int
    evidence_pairs: int
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    pairs_per_blocking_rule: dict[str, int] = field(default_factory=dict)

    @property
    def id_stability(self) -> float:
        return self.records_kept_id / self.records_before if self.records_before else 1.0

    def as_metadata(self) -> dict:
        out = asdict(self)
        out["id_stability"] = round(self.id_stability, 6)
        return out


def _decision_pairs(
    records: pd.DataFrame, decisions: pd.DataFrame
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Record positions of each decided pair whose two records are both still landed."""
    position = pd.Series(
        np.arange(len(records)),
        index=pd.MultiIndex.from_frame(records[["source", "source_record_id"]]),
    )
    out = {}
    for decision in ("must_link", "cannot_link"):
        rows = decisions[decisions["decision"] == decision]
        a = position.reindex(pd.MultiIndex.from_frame(rows[["source_a", "source_record_id_a"]]))
        b = position.reindex(pd.MultiIndex.from_frame(rows[["source_b", "source_record_id_b"]]))
        keep = a.notna().to_numpy() & b.notna().to_numpy()
        out[decision] = (
            a.to_numpy()[keep].astype(np.int64),
            b.to_numpy()[keep].astype(np.int64),
        )
    return out


# The steps `resolve` reports to `on_step` as it starts each.
RESOLVE_STEPS = ("reading", "standardizing", "matching", "writing")


def resolve(
    engine: Engine,
    settings: LinkSettings = DEALER,
    prep: PrepSettings = DEALER_PREP,
    on_step: Callable[[str], None] | None = None,
    backend: Backend = IN_PROCESS,
) -> ResolveSummary:
    """Resolve every landed person record into customers and write resolve.*; `on_step`
    hears each of RESOLVE_STEPS as it starts (for a progress bar).

    `backend` runs blocking, comparing and connected components (in this process, or on
    Spark: `entity_resolution.spark`); reading, standardizing and writing stay here."""
    step = on_step or (lambda _name: None)
    t0 = time.perf_counter()
    step("reading")
    timings: dict[str, float] = {}
    raw, dealers = io.read_raw(engine)
    decisions = io.read_decisions(engine)
    timings["reading"] = time.perf_counter() - t0

    t = time.perf_counter()
    step("standardizing")
    records = person_records(raw, dealers, prep)
    del raw, dealers  # the raw text is not needed again: free it before matching
    with engine.connect() as conn:
        records, pinned = _split_pinned(records, io.read_forgotten(conn))
    timings["standardizing"] = time.perf_counter() - t

    pairs = _decision_pairs(records, decisions)
    step("matching")
    result = link(records, settings, pairs["must_link"], pairs["cannot_link"], backend)
    timings.update(result.timings)

    t = time.perf_counter()
    step("writing")
    with engine.begin() as conn:
        io.lock(conn)
        summary = _write(conn, records, result, settings, pinned)
    timings["writing"] = time.perf_counter() - t
    summary.timings = {k: round(v, 2) for k, v in timings.items()}
    summary.seconds = round(time.perf_counter() - t0, 2)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "update resolve.runs set finished_at = now(),"
                " summary = cast(:s as jsonb) where run_id = :r"
            ),
            {"s": json.dumps(summary.as_metadata()), "r": summary.run_id},
        )
    log.info("resolve run %d: %s", summary.run_id, summary.as_metadata())
    return summary


_STANDARDIZED_COLUMNS = [
    "source",
    "source_record_id",
    *PERSON_IDENTIFIERS,
    *DISPLAY_NAME_COLUMNS,
    "city",
    "vin",
    "vin_epoch",
]


def _split_pinned(
    records: pd.DataFrame, forgotten: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records to match, forgotten records) — the latter left out of matching."""
    keys = pd.MultiIndex.from_frame(records[["source", "source_record_id"]])
    pinned = keys.isin(pd.MultiIndex.from_frame(forgotten[["source", "source_record_id"]]))
    return (
        records[~pinned].reset_index(drop=True),
        records[pinned].reset_index(drop=True),
    )


def _pin(
    conn: Connection, records: pd.DataFrame, customer_id: np.ndarray, pinned: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Customer IDs with every forgotten record on its anonymous key, read under the lock
    (a forget that committed while this run was matching wins), which records that
    changed, and the pinned records' map rows."""
    forgotten = io.read_forgotten(conn)
    anonymous = forgotten.set_index(["source", "source_record_id"])["anonymous_id"]
    keys = pd.MultiIndex.from_frame(records[["source", "source_record_id"]])
    late = anonymous.reindex(keys).to_numpy()
    forgotten_late = ~pd.isna(late)
    customer_id = np.where(forgotten_late, late, customer_id)
    pinned_keys = pd.MultiIndex.from_frame(pinned[["source", "source_record_id"]])
    pinned_map = pd.DataFrame(
        {
            "source": pinned["source"].to_numpy(),
            "source_record_id": pinned["source_record_id"].to_numpy(),
            "customer_id": anonymous.reindex(pinned_keys).to_numpy(),
            "match_probability": 1.0,
        }
    )
    return customer_id, forgotten_late, pinned_map


def _write(
    conn: Connection,
    records: pd.DataFrame,
    result: LinkResult,
    settings: LinkSettings,
    pinned: pd.DataFrame,
) -> ResolveSummary:
    run_id = int(
        conn.scalar(
            sa.text(
                "insert into resolve.runs (records, parameters) values (:n, cast(:p as jsonb))"
                " returning run_id"
            ),
            {"n": len(records), "p": json.dumps(result.params.as_dict(settings))},
        )
    )
    previous = io.read_previous_map(conn)
    clusters = records[["source", "source_record_id"]].assign(cluster=result.record_cluster)
    assignment = assign_ids(
        clusters,
        previous,
        lambda k: [format_customer_id(n) for n in io.allocate_ids(conn, k)],
    )
    customer_id = assignment.customer_of_cluster.reindex(result.record_cluster).to_numpy()
    customer_id, forgotten_late, pinned_map = _pin(conn, records, customer_id, pinned)
    new_map = pd.DataFrame(
        {
            "source": records["source"].to_numpy(),
            "source_record_id": records["source_record_id"].to_numpy(),
            "customer_id": customer_id,
            "match_probability": np.round(result.record_probability, 6),
        }
    )
    if not pinned_map.empty:
        new_map = pd.concat([new_map, pinned_map], ignore_index=True)
    kept = new_map.merge(previous, on=["source", "source_record_id"], suffixes=("", "_old"))
    records_before = len(kept)
    records_kept = int((kept["customer_id"] == kept["customer_id_old"]).sum())

    _write_map(conn, new_map, previous, run_id)
    _write_customers(conn, new_map, assignment.new_ids, run_id)
    _write_history(conn, assignment.history, run_id)
    evidence_pairs = _write_pairs(
        conn, result, customer_id, run_id, "match_evidence", result.clusters.tree
    )
    review_pairs = _write_pairs(
        conn, result, customer_id, run_id, "review_queue", np.flatnonzero(result.review)
    )
    forgotten = np.concatenate([forgotten_late, np.ones(len(pinned), dtype=bool)])
    everyone = pd.concat(
        [records[_STANDARDIZED_COLUMNS], pinned[_STANDARDIZED_COLUMNS]], ignore_index=True
    )
    everyone.loc[forgotten, [*PERSON_IDENTIFIERS, *DISPLAY_NAME_COLUMNS]] = pd.NA
    _write_standardized(conn, everyone, run_id)

    history = assignment.history
    summary = ResolveSummary(
        run_id=run_id,
        records=len(records),
        signatures=len(result.signatures),
        candidate_pairs=int(result.candidates.left.size),
        customers=int(new_map["customer_id"].nunique()),
        new_customers=len(assignment.new_ids),
        merged_ids=int((history["reason"] == "merge").sum()),
        split_ids=int((history["reason"] == "split").sum()),
        records_before=records_before,
        records_kept_id=records_kept,
        review_pairs=review_pairs,
        evidence_pairs=evidence_pairs,
        seconds=0.0,
        pairs_per_blocking_rule=result.candidates.pairs_per_rule,
    )
    conn.execute(
        sa.text(
            "update resolve.runs set customers = :c, records_kept_id = :k,"
            " records_before = :b where run_id = :r"
        ),
        {"c": summary.customers, "k": records_kept, "b": records_before, "r": run_id},
    )
    return summary


def _write_map(
    conn: Connection, new_map: pd.DataFrame, previous: pd.DataFrame, run_id: int
) -> None:
    """Write only what changed: a rerun on the same data touches no row."""
    keys = ["source", "source_record_id"]
    both = new_map.merge(previous, on=keys, how="outer", suffixes=("", "_old"), indicator=True)
    gone = both.loc[both["_merge"] == "right_only", keys]
    new_probability = pd.to_numeric(both["match_probability"], errors="coerce").to_numpy(float)
    old_probability = pd.to_numeric(both["match_probability_old"], errors="coerce").to_numpy(float)
    new_id = both["customer_id"].astype("string").fillna("").to_numpy(dtype=object)
    old_id = both["customer_id_old"].astype("string").fillna("").to_numpy(dtype=object)
    moved = np.asarray(new_id != old_id, dtype=bool)
    rescored = ~(np.abs(new_probability - old_probability) <= 1e-6)
    present = (both["_merge"] != "right_only").to_numpy(dtype=bool)
    changed = both[present & (moved | rescored)]
    changed = changed[[*keys, "customer_id", "match_probability"]].assign(run_id=run_id)
    if previous.empty:
        io.copy_into(conn, "resolve.customer_source_map", changed)
    elif not changed.empty:
        io.copy_in(
            conn,
            "_map",
            changed,
            "source text, source_record_id text, customer_id text,"
            " match_probability float8, run_id bigint",
        )
        conn.exec_driver_sql(
            """
            insert into resolve.customer_source_map
                (source, source_record_id, customer_id, match_probability, run_id)
            select source, source_record_id, customer_id, match_probability, run_id from _map
            on conflict (source, source_record_id) do update
                set customer_id = excluded.customer_id,
                    match_probability = excluded.match_probability,
                    run_id = excluded.run_id
            """
        )
    if not gone.empty:
        io.copy_in(conn, "_gone", gone, "source text, source_record_id text")
        conn.exec_driver_sql(
            """
            delete from resolve.customer_source_map m using _gone g
            where g.source = m.source and g.source_record_id = m.source_record_id
            """
        )


def _write_customers(
    conn: Connection, new_map: pd.DataFrame, new_ids: list[str], run_id: int
) -> None:
    counts = new_map.groupby("customer_id").size().rename("record_count").reset_index()
    io.copy_in(conn, "_customers", counts, "customer_id text, record_count integer")
    conn.exec_driver_sql(
        f"""
        insert into resolve.customers as c (customer_id, created_run_id, record_count)
        select customer_id, {run_id}, record_count from _customers
        on conflict (customer_id) do update
            set record_count = excluded.record_count, retired_at = null
            where (c.record_count, c.retired_at) is distinct from (excluded.record_count, null)
        """
    )
    conn.exec_driver_sql(
        """
        update resolve.customers c set retired_at = now(), record_count = 0
        where c.retired_at is null
          and not exists (select 1 from _customers t where t.customer_id = c.customer_id)
        """
    )


def _write_history(conn: Connection, history: pd.DataFrame, run_id: int) -> None:
    if history.empty:
        return
    io.copy_in(
        conn,
        "_history",
        history[["old_customer_id", "new_customer_id", "reason", "records_moved"]],
        "old_customer_id text, new_customer_id text, reason text, records_moved integer",
    )
    conn.exec_driver_sql(
        f"""
        insert into resolve.customer_id_history
            (old_customer_id, new_customer_id, reason, records_moved, run_id)
        select old_customer_id, new_customer_id, reason, records_moved, {run_id} from _history
        """
    )


def _record_of_signature(result: LinkResult) -> np.ndarray:
    """The first record of each signature: the one a signature's pairs are shown through."""
    return (
        pd.Series(np.arange(len(result.record_signature)))
        .groupby(result.record_signature)
        .first()
        .to_numpy()
    )


def _pair_frame(
    result: LinkResult, pairs: np.ndarray, customer_id: np.ndarray, rec_of_sig: np.ndarray
) -> pd.DataFrame:
    """Candidate pairs as (record a, record b) with scores and per-field evidence columns.

    A signature is shown through its first record; a and b are in a fixed order.
    """
    sigs = result.signatures
    left = result.candidates.left[pairs]
    right = result.candidates.right[pairs]
    frame = pd.DataFrame(
        {
            "source_a": sigs["source"].to_numpy()[left],
            "source_record_id_a": sigs["source_record_id"].to_numpy()[left],
            "source_b": sigs["source"].to_numpy()[right],
            "source_record_id_b": sigs["source_record_id"].to_numpy()[right],
            "customer_id_a": customer_id[rec_of_sig[left]],
            "customer_id_b": customer_id[rec_of_sig[right]],
            "match_probability": np.round(result.scored.probability[pairs], 6),
            "match_weight": np.round(result.scored.log_odds[pairs], 3),
            "names_swapped": result.compared.swapped[pairs],
        }
    )
    swap = (frame["source_a"] > frame["source_b"]) | (
        (frame["source_a"] == frame["source_b"])
        & (frame["source_record_id_a"] > frame["source_record_id_b"])
    )
    for x, y in (
        ("source_a", "source_b"),
        ("source_record_id_a", "source_record_id_b"),
        ("customer_id_a", "customer_id_b"),
    ):
        frame.loc[swap, [x, y]] = frame.loc[swap, [y, x]].to_numpy()
    frame["evidence"] = _evidence_json(result, pairs)
    return frame.drop(columns="names_swapped")


def _evidence_json(result: LinkResult, pairs: np.ndarray) -> np.ndarray:
    """Per pair: {"comparison": {"level": label, "weight": bits}, …} as JSON text.

    Comparisons at a null level (a value missing on one side) carry no evidence and are
    left out. Built column by column: one string operation per comparison, not per pair.
    """
    levels = result.compared.levels[pairs]
    weights = result.scored.weights(pairs)
    out = np.full(pairs.size, "", dtype=object)
    for k, comp in enumerate(result.settings.comparisons):
        heads = np.array(
            [
                None
                if level.is_null
                else f', {json.dumps(comp.name)}: {{"level": {json.dumps(level.label)}, "weight": '
                for level in comp.levels
            ],
            dtype=object,
        )
        head = heads[levels[:, k]]
        shown = np.flatnonzero(head != None)  # noqa: E711 (object array of str / None)
        weight = np.round(weights[shown, k].astype(np.float64), 3).astype(str)
        out[shown] = out[shown] + head[shown] + weight + "}"
    swapped = np.flatnonzero(result.compared.swapped[pairs])
    out[swapped] = out[swapped] + ', "names_swapped": true'
    return "{" + pd.Series(out, dtype=object).str[2:].to_numpy(dtype=object) + "}"


def _write_pairs(
    conn: Connection,
    result: LinkResult,
    customer_id: np.ndarray,
    run_id: int,
    table: str,
    pairs: np.ndarray,
) -> int:
    keys = "source_a, source_record_id_a, source_b, source_record_id_b"
    if table == "match_evidence":
        conn.exec_driver_sql("truncate resolve.match_evidence")
    else:
        conn.exec_driver_sql(
            "create temporary table _review_queue (source_a text, source_record_id_a text,"
            " source_b text, source_record_id_b text, customer_id_a text, customer_id_b text,"
            " match_probability float8, match_weight float8, evidence jsonb) on commit drop"
        )
    # A candidate pair is one pair of records (signatures are shown through their first
    # record), so distinct pairs give distinct rows, and the frames (their evidence text
    # above all) are built and written a chunk at a time.
    pairs = pd.unique(pairs)
    rec_of_sig = _record_of_signature(result)
    for start in range(0, pairs.size, _PAIRS_PER_CHUNK):
        frame = _pair_frame(
            result, pairs[start : start + _PAIRS_PER_CHUNK], customer_id, rec_of_sig
        )
        if table == "match_evidence":
            frame = (
                frame.drop(columns="customer_id_b")
                .rename(columns={"customer_id_a": "customer_id"})
                .assign(run_id=run_id)
            )
            io.copy_into(conn, "resolve.match_evidence", frame)
        else:
            io.copy_into(conn, "_review_queue", frame)
    if table != "match_evidence":
        # Pairs still uncertain keep their first queued_at; decided pairs leave the queue.
        decided = """
            exists (
                select 1 from resolve.review_decisions d
                where (d.source_a, d.source_record_id_a, d.source_b, d.source_record_id_b)
                        = ({p}.source_a, {p}.source_record_id_a, {p}.source_b, {p}.source_record_id_b)
                   or (d.source_a, d.source_record_id_a, d.source_b, d.source_record_id_b)
                        = ({p}.source_b, {p}.source_record_id_b, {p}.source_a, {p}.source_record_id_a)
            )"""
        conn.exec_driver_sql(
            f"""
            delete from resolve.review_queue q
            where {decided.format(p="q")}
               or not exists (
                select 1 from _review_queue t
                where (t.source_a, t.source_record_id_a, t.source_b, t.source_record_id_b)
                    = (q.source_a, q.source_record_id_a, q.source_b, q.source_record_id_b)
            )
            """
        )
        conn.exec_driver_sql(
            f"""
            insert into resolve.review_queue as q
                ({keys}, customer_id_a, customer_id_b, match_probability, match_weight,
                 evidence, run_id)
            select {keys}, customer_id_a, customer_id_b, match_probability, match_weight,
                   evidence, {run_id}
            from _review_queue t
            where not {decided.format(p="t")}
            on conflict ({keys}) do update
                set customer_id_a = excluded.customer_id_a,
                    customer_id_b = excluded.customer_id_b,
                    match_probability = excluded.match_probability,
                    match_weight = excluded.match_weight,
                    evidence = excluded.evidence,
                    run_id = excluded.run_id
            """
        )
    return int(pairs.size)


def _write_standardized(conn: Connection, records: pd.DataFrame, run_id: int) -> None:
    """Rewrite resolve.standardized_records, unless the records are those of the last run.

    `records` holds the `_STANDARDIZED_COLUMNS` (COPY names them, so their order is free).
    """
    fingerprint = str(int(pd.util.hash_pandas_object(records, index=False).sum()))
    last = conn.scalar(
        sa.text(
            "select parameters->>'standardized_fingerprint' from resolve.runs"
            " where run_id < :r order by run_id desc limit 1"
        ),
        {"r": run_id},
    )
    conn.execute(
        sa.text(
            "update resolve.runs set parameters = parameters"
            " || jsonb_build_object('standardized_fingerprint', cast(:f as text))"
            " where run_id = :r"
        ),
        {"f": fingerprint, "r": run_id},
    )
    if last == fingerprint:
        return
    conn.exec_driver_sql("truncate resolve.standardized_records")
    io.copy_into(conn, "resolve.standardized_records", records)
