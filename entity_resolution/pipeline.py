"""resolve(engine): raw.* → person records → clusters → stable customer IDs → resolve.*.

A run is full or incremental (`_plan`). A full run matches every landed record and learns
the model (m, u, prior) again, stored with the run in resolve.runs.parameters. An
incremental run (the default once a model exists) re-clusters only the customers that new
and changed records touch, scored with the stored model (`engine.relink`); the others keep
their rows untouched. It is full instead when asked (`full=True`, `dealer360 run --full`),
when no model exists yet, when the matching settings changed since it was learnt, or when
a fifth of the records are new or changed since then (the model may have drifted). A run
that finds nothing new (no new or changed record, no new decision) writes nothing; one that
finds nothing written to what it reads since the last run, with the same code and settings,
does not even read (the notes of migration 0019).

Either way IDs are inherited from the previous run (ids.py): the oldest survives, merges
and splits are recorded. All writes happen in one transaction under an advisory lock: a
reader sees the previous run or this one, never half of each.

Records erased by `dealer360 forget` (privacy.forgotten_records) are not matched: each is
pinned to its anonymous key, so nothing (not even a shared VIN) ties it to anyone again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from entity_resolution import io, learning
from entity_resolution.engine import IN_PROCESS, Backend, Increment, LinkResult, link, relink
from entity_resolution.ids import assign_ids, format_customer_id
from entity_resolution.records import person_records
from entity_resolution.scoring import Parameters
from entity_resolution.settings import (
    DEALER,
    DEALER_PREP,
    DISPLAY_NAME_COLUMNS,
    PERSON_IDENTIFIERS,
    LinkSettings,
    PrepSettings,
)
from entity_resolution.standardize import PLACEHOLDER_CONTACTS, distinct_rows

log = logging.getLogger(__name__)

_PAIRS_PER_CHUNK = 250_000  # evidence rows built and written at once
# Share of records new or changed since the model was learnt past which a run re-learns it:
# a fifth of the data arriving since is enough to move how common a name or a shared phone
# is, and u and the prior with it; below that the stored model scores as well as a new one.
DRIFT_SHARE = 0.2
_KEYS = ["source", "source_record_id"]


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
    mode: str = "full"  # full, incremental, or unchanged (nothing new: nothing written)
    reason: str = ""  # why this mode
    changed_records: int = 0  # records new or changed since the last run
    relinked_records: int = 0  # records re-clustered (all of them in a full run)

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
    out = {}
    for decision in ("must_link", "cannot_link"):
        rows = decisions[decisions["decision"] == decision]
        a, b = (
            _positions(
                rows[[f"source_{side}", f"source_record_id_{side}"]].set_axis(_KEYS, axis=1),
                records,
            )
            for side in ("a", "b")
        )
        keep = (a >= 0) & (b >= 0)
        out[decision] = (a[keep].astype(np.int64), b[keep].astype(np.int64))
    return out


# The steps `resolve` reports to `on_step` as it starts each.
RESOLVE_STEPS = ("reading", "standardizing", "matching", "writing")


def resolve(
    engine: Engine,
    settings: LinkSettings = DEALER,
    prep: PrepSettings = DEALER_PREP,
    on_step: Callable[[str], None] | None = None,
    backend: Backend = IN_PROCESS,
    full: bool = False,
) -> ResolveSummary:
    """Resolve the landed person records into customers and write resolve.*; `on_step`
    hears each of RESOLVE_STEPS as it starts (for a progress bar).

    Incremental when a stored model allows it (see the module's docstring; `full` asks for
    a full run). `backend` runs a full run's blocking, comparing and connected components
    (in this process, or on Spark: `entity_resolution.spark`); an increment runs here."""
    step = on_step or (lambda _name: None)
    t0 = time.perf_counter()
    step("reading")
    timings: dict[str, float] = {}
    code = code_fingerprint(settings, prep)
    with engine.connect() as conn:
        # Before any input is read: a write committed later leaves a note this run keeps.
        seen = io.input_notes(conn)
        if not (full or seen) and io.last_run_finished(conn):
            last = io.last_run_parameters(conn)
            if last.get("code_fingerprint") == code:
                return _nothing_read(conn, t0)
    raw, dealers = io.read_raw(engine)
    decisions = io.read_decisions(engine)
    with engine.connect() as conn:
        forgotten = io.read_forgotten(conn)
        last_run = io.last_run_id(conn)  # before the map: a run that writes later shows
        previous = io.read_previous_map(conn)
        model = io.read_model(conn)
        last = io.last_run_parameters(conn)
    timings["reading"] = time.perf_counter() - t0

    t = time.perf_counter()
    step("standardizing")
    records = person_records(raw, dealers, prep)
    del raw, dealers  # the raw text is not needed again: free it before matching
    records, pinned = _split_pinned(records, forgotten)
    plan = _plan(records, pinned, forgotten, previous, model, last, decisions, settings, full)
    plan.parameters["code_fingerprint"] = code
    # An increment writes against the map it read when nothing wrote it since (`_Read`); a
    # full run reads it again under the lock and does not hold it while matching.
    read = _Read(previous, plan.at, seen, last_run) if plan.mode == "incremental" else None
    del previous
    timings["standardizing"] = time.perf_counter() - t

    pairs = _decision_pairs(records, decisions)
    step("matching")
    increment = None
    if plan.mode == "full":
        result = link(
            records, settings, pairs["must_link"], pairs["cannot_link"], backend, plan.learnt
        )
        timings.update(result.timings)
    elif plan.mode == "incremental":
        increment = relink(
            records,
            settings,
            plan.params,
            plan.customer,
            plan.changed,
            pairs["must_link"],
            pairs["cannot_link"],
            plan.learnt,
        )
        timings.update(increment.result.timings)

    t = time.perf_counter()
    step("writing")
    if plan.mode == "unchanged":
        summary = _unchanged(engine, records, pinned, plan)
        with engine.begin() as conn:
            if last.get("code_fingerprint") != code:
                _adopt_release(conn, records, pinned, code)
            io.remove_input_notes(conn, seen)
    else:
        with engine.begin() as conn:
            io.lock(conn)
            if increment is None:
                summary = _write(conn, records, result, settings, pinned, plan)
            else:
                summary = _write_increment(conn, records, increment, pinned, plan, read)
            io.remove_input_notes(conn, seen)
    timings["writing"] = time.perf_counter() - t
    summary.timings = {k: round(v, 2) for k, v in timings.items()}
    summary.seconds = round(time.perf_counter() - t0, 2)
    if plan.mode != "unchanged":
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


@dataclass
class _Read:
    """What a run read before matching that its writing can use when nothing has written
    the map since (`io.unchanged_since`): the map, each record's row of it, the notes seen
    before reading and the newest run's ID when the map was read."""

    previous: pd.DataFrame
    at: np.ndarray
    seen: list[int]
    last_run: int | None


@dataclass
class _Plan:
    """What a run will do, decided before matching (`_plan`)."""

    mode: str  # full, incremental or unchanged
    reason: str
    identity_hash: np.ndarray  # int64 per record: its identity columns, hashed
    at: np.ndarray  # per record: its row of the previous map, -1 when new
    changed: np.ndarray  # per record: to re-cluster from (new, changed, or its customer lost one)
    changed_records: int  # new or changed records
    customer: np.ndarray  # per record: its previous customer as an integer, -1 when new
    params: Parameters | None  # the stored model (incremental)
    parameters: dict  # what resolve.runs.parameters records of this run
    # the stored model's learnt classifier: an increment scores with it, a full run on the same
    # settings keeps the patterns it held (learning.learn)
    learnt: learning.Learnt | None = None


def _identity_hash(records: pd.DataFrame, settings: LinkSettings) -> np.ndarray:
    """A 64-bit hash per record of the columns matching reads (pandas' fixed-key hash: the
    same values give the same hash in every process)."""
    hashed = pd.util.hash_pandas_object(records[list(settings.identity_columns)], index=False)
    return hashed.to_numpy().view(np.int64)


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plan(
    records: pd.DataFrame,
    pinned: pd.DataFrame,
    forgotten: pd.DataFrame,
    previous: pd.DataFrame,
    model: dict | None,
    last: dict,
    decisions: pd.DataFrame,
    settings: LinkSettings,
    full: bool,
) -> _Plan:
    """Full, incremental or unchanged, and why (the module's docstring gives the rules)."""
    identity_hash = _identity_hash(records, settings)
    settings_fingerprint = _fingerprint(repr(settings))
    decisions_fingerprint = str(
        int(pd.util.hash_pandas_object(decisions, index=False).to_numpy().sum(dtype=np.uint64))
    )
    # Per record, then per pinned record: its row of the previous map, -1 if new (one pass
    # over the map's keys for both).
    current = pd.concat([records[_KEYS], pinned[_KEYS]], ignore_index=True)
    at, pinned_at = np.split(_positions(current, previous), [len(records)])
    stored_hash = previous["identity_hash"].astype("Int64").array
    new_or_changed = _take(stored_hash.isna(), at, True) | (
        _take(stored_hash.to_numpy(dtype=np.int64, na_value=0), at, 0) != identity_hash
    )
    customers = previous["customer_id"].to_numpy(dtype=object, na_value=None)
    previous_customer = pd.Series(_take(customers, at, None), dtype=object)
    # A customer that lost a record (deleted from raw) is re-clustered whole: the map's
    # rows no landed record has.
    gone = np.ones(len(previous), dtype=bool)
    gone[at[at >= 0]] = False
    gone[pinned_at[pinned_at >= 0]] = False
    lost = previous.loc[gone, "customer_id"].unique()
    changed = new_or_changed | previous_customer.isin(lost).to_numpy(dtype=bool, na_value=False)
    # The records of a decision undone since the last run are re-clustered too (those of
    # the decisions standing are seeds in engine.relink).
    decided = sorted(
        {
            f"{source}|{record}"
            for side in ("a", "b")
            for source, record in zip(
                decisions[f"source_{side}"], decisions[f"source_record_id_{side}"], strict=True
            )
        }
    )
    undone = set(last.get("decided_records", [])) - set(decided)
    if undone:
        labels = records["source"].astype(str) + "|" + records["source_record_id"].astype(str)
        changed |= labels.isin(undone).to_numpy(dtype=bool)
    # A forgotten record not yet on its anonymous key (landed suppressed, or forgotten by hand).
    anonymous = forgotten["anonymous_id"].to_numpy(dtype=object, na_value=None)
    repin = sum(
        c is None or a is None or c != a
        for c, a in zip(
            _take(customers, pinned_at, None),
            _take(anonymous, _positions(pinned, forgotten), None),
            strict=True,
        )
    )
    n_changed = int(new_or_changed.sum())
    parameters = {
        "settings_fingerprint": settings_fingerprint,
        "decisions_fingerprint": decisions_fingerprint,
        "decided_records": decided,
    }

    def plan(
        mode: str,
        reason: str,
        params: Parameters | None = None,
        learnt: learning.Learnt | None = None,
    ) -> _Plan:
        parameters.update(mode=mode, reason=reason, changed_records=n_changed)
        if mode == "full" and model is not None and same_settings:
            # What the classifier held linked or dismissed stays so (learning.learn).
            learnt = learning.Learnt.from_dict(model["parameters"].get("learnt"), settings)
        if model is not None and mode != "full":
            parameters["model_run_id"] = model["run_id"]
        return _Plan(
            mode=mode,
            reason=reason,
            identity_hash=identity_hash,
            at=at,
            changed=changed,
            changed_records=n_changed,
            customer=pd.factorize(previous_customer)[0],
            params=params,
            parameters=parameters,
            learnt=learnt,
        )

    same_settings = (
        model is not None
        and model["parameters"].get("settings_fingerprint") == settings_fingerprint
    )
    if full:
        return plan("full", "a full run was asked for")
    if model is None:
        return plan("full", "no model has been learnt yet")
    if not same_settings:
        return plan(
            "full", f"the matching settings changed since run {model['run_id']} learnt the model"
        )
    share = (model["changed_since"] + n_changed) / max(model["records"], 1)
    if share > DRIFT_SHARE:
        return plan(
            "full",
            f"{share:.0%} of the records are new or changed since run {model['run_id']} learnt"
            f" the model (more than {DRIFT_SHARE:.0%}): it is learnt again",
        )
    # Verdicts teach the classifier (entity_resolution/learning.py) once both kinds are
    # common enough: new ones then re-learn it and re-score every uncertain pair, not only
    # those near the decided records, as new data past DRIFT_SHARE re-learns m and u.
    kinds = decisions["decision"].value_counts()
    teaching = settings.learning.enabled and (
        min(int(kinds.get("must_link", 0)), int(kinds.get("cannot_link", 0)))
        >= settings.learning.min_verdicts_per_class
    )
    if last.get("decisions_fingerprint") != decisions_fingerprint and (
        teaching or model["parameters"].get("learnt")
    ):
        return plan(
            "full",
            "reviewers' verdicts changed since the last run: the classifier they teach"
            " learns again and re-scores every uncertain pair",
        )
    if (
        not changed.any()
        and not repin
        and not gone.any()
        and last.get("decisions_fingerprint") == decisions_fingerprint
    ):
        return plan("unchanged", "no record is new or changed and no decision is new")
    return plan(
        "incremental",
        f"{n_changed} records new or changed; scored with the model of run {model['run_id']}",
        Parameters.from_dict(model["parameters"], settings),
        learning.Learnt.from_dict(model["parameters"].get("learnt"), settings),
    )


def code_fingerprint(settings: LinkSettings, prep: PrepSettings) -> str:
    """The matching code, its data files and its settings: a run resolves with what it was
    resolved with only when this is the last run's (a new release re-reads everything)."""
    digest = hashlib.sha256(repr((settings, prep)).encode())
    package = Path(__file__).resolve().parent
    files = sorted([*package.glob("*.py"), *(package / "data").glob("*")]) + [PLACEHOLDER_CONTACTS]
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _nothing_read(conn: Connection, t0: float) -> ResolveSummary:
    """The summary of a run that found nothing written to what it reads since the last run
    (no note left, migration 0019): it reads and writes nothing."""
    run_id = int(conn.scalar(sa.text("select max(run_id) from resolve.runs")))
    mapped, customers = conn.execute(
        sa.text("select count(*), count(distinct customer_id) from resolve.customer_source_map")
    ).one()
    forgotten = int(conn.scalar(sa.text("select count(*) from privacy.forgotten_records")))
    return ResolveSummary(
        run_id=run_id,
        records=int(mapped) - forgotten,
        signatures=0,
        candidate_pairs=0,
        customers=int(customers),
        new_customers=0,
        merged_ids=0,
        split_ids=0,
        records_before=int(mapped),
        records_kept_id=int(mapped),
        review_pairs=0,
        evidence_pairs=0,
        seconds=round(time.perf_counter() - t0, 2),
        mode="unchanged",
        reason=f"nothing resolve reads was written since run {run_id}",
    )


def _adopt_release(
    conn: Connection, records: pd.DataFrame, pinned: pd.DataFrame, code: str
) -> None:
    """Another release of the matching code read every record and found none new or changed:
    its standardized rows that differ from the stored ones are written, and the last run
    takes its fingerprint, so the next run with nothing written since reads nothing again.
    Without this, every run after an upgrade would read and standardize everything to find
    nothing, until a record changed."""
    io.lock(conn)
    _write_standardized(
        conn, _standardized_rows(records, pinned, np.zeros(len(records), dtype=bool))
    )
    conn.execute(
        sa.text(
            "update resolve.runs set parameters = parameters"
            " || jsonb_build_object('code_fingerprint', cast(:code as text))"
            " where run_id = (select max(run_id) from resolve.runs where finished_at is not null)"
        ),
        {"code": code},
    )


def _unchanged(
    engine: Engine, records: pd.DataFrame, pinned: pd.DataFrame, plan: _Plan
) -> ResolveSummary:
    """The summary of a run that found nothing to do (it writes nothing)."""
    with engine.connect() as conn:
        run_id = int(conn.scalar(sa.text("select max(run_id) from resolve.runs")))
        customers = int(
            conn.scalar(
                sa.text("select count(distinct customer_id) from resolve.customer_source_map")
            )
        )
    everyone = len(records) + len(pinned)
    return ResolveSummary(
        run_id=run_id,
        records=len(records),
        signatures=0,
        candidate_pairs=0,
        customers=customers,
        new_customers=0,
        merged_ids=0,
        split_ids=0,
        records_before=everyone,
        records_kept_id=everyone,
        review_pairs=0,
        evidence_pairs=0,
        seconds=0.0,
        mode=plan.mode,
        reason=plan.reason,
    )


_STANDARDIZED_COLUMNS = [
    "source",
    "source_record_id",
    *PERSON_IDENTIFIERS,
    *DISPLAY_NAME_COLUMNS,
    "city",
    "vin",
    "vin_epoch",
]


def _positions(frame: pd.DataFrame, among: pd.DataFrame) -> np.ndarray:
    """Per row of `frame`, the position in `among` (one row per record) of the row with the
    same (source, source_record_id), -1 where there is none. Integer codes of the keys, no
    MultiIndex: building one over every record costs seconds at 30k people."""
    n = len(among)
    code = distinct_rows(
        *(pd.concat([among[k], frame[k]], ignore_index=True).astype("string") for k in _KEYS)
    )
    at = np.full(code.max(initial=-1) + 1, -1, dtype=np.int64)
    at[code[:n]] = np.arange(n)
    return at[code[n:]]


def _take(values: np.ndarray, at: np.ndarray, missing) -> np.ndarray:
    """`values` at the positions `at` (as `_positions` gives them), `missing` where -1."""
    return np.append(values, missing)[at]


def _split_pinned(
    records: pd.DataFrame, forgotten: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records to match, forgotten records) — the latter left out of matching."""
    pinned = _positions(records, forgotten) >= 0
    return (
        records[~pinned].reset_index(drop=True),
        records[pinned].reset_index(drop=True),
    )


def _pin(
    records: pd.DataFrame,
    customer_id: np.ndarray,
    pinned: pd.DataFrame,
    forgotten: pd.DataFrame,
    unchanged: bool = False,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Customer IDs with every forgotten record on its anonymous key (`forgotten`, read
    under the lock: a forget that committed while this run was matching wins), which
    records that changed, and the pinned records' map rows. `unchanged`: nothing was
    forgotten since the run split its records from the forgotten ones
    (`io.unchanged_since`)."""
    # Each record's anonymous key (None where it is not forgotten), by integer codes.
    anonymous = forgotten["anonymous_id"].to_numpy(dtype=object, na_value=None)
    if unchanged:
        late = np.full(len(records), None, dtype=object)
    else:
        late = _take(anonymous, _positions(records, forgotten), None)
    forgotten_late = ~pd.isna(late)
    customer_id = np.where(forgotten_late, late, customer_id)
    pinned_map = pd.DataFrame(
        {
            "source": pinned["source"].to_numpy(),
            "source_record_id": pinned["source_record_id"].to_numpy(),
            "customer_id": _take(anonymous, _positions(pinned, forgotten), None),
            "match_probability": 1.0,
        }
    )
    return customer_id, forgotten_late, pinned_map


def _heirs(previous: pd.DataFrame, forgotten: pd.DataFrame) -> pd.DataFrame:
    """The rows of `previous` whose IDs clusters may inherit: not an anonymous key. A record
    forgotten while a run matched is in its clusters, with the anonymous key the forget
    gave it in the map; its cluster mates are not forgotten and must not take that key."""
    if forgotten.empty:
        return previous
    return previous[~previous["customer_id"].isin(forgotten["anonymous_id"]).to_numpy(bool)]


def _insert_run(conn: Connection, records: int, parameters: dict) -> int:
    return int(
        conn.scalar(
            sa.text(
                "insert into resolve.runs (records, parameters) values (:n, cast(:p as jsonb))"
                " returning run_id"
            ),
            {"n": records, "p": json.dumps(parameters)},
        )
    )


def _write(
    conn: Connection,
    records: pd.DataFrame,
    result: LinkResult,
    settings: LinkSettings,
    pinned: pd.DataFrame,
    plan: _Plan,
) -> ResolveSummary:
    parameters = {
        **result.params.as_dict(settings),
        **plan.parameters,
        "relinked_records": len(records),
    }
    if result.learnt is not None:
        parameters["learnt"] = result.learnt.as_dict(settings)
    run_id = _insert_run(conn, len(records), parameters)
    previous = io.read_previous_map(conn)
    forgotten = io.read_forgotten(conn)
    clusters = records[["source", "source_record_id"]].assign(cluster=result.record_cluster)
    assignment = assign_ids(
        clusters,
        _heirs(previous, forgotten),
        lambda k: [format_customer_id(n) for n in io.allocate_ids(conn, k)],
    )
    customer_id = assignment.customer_of_cluster.reindex(result.record_cluster).to_numpy()
    customer_id, forgotten_late, pinned_map = _pin(records, customer_id, pinned, forgotten)
    new_map = pd.DataFrame(
        {
            "source": records["source"].to_numpy(),
            "source_record_id": records["source_record_id"].to_numpy(),
            "customer_id": customer_id,
            "match_probability": np.round(result.record_probability, 6),
            "identity_hash": pd.array(plan.identity_hash, dtype="Int64"),
        }
    )
    new_map = _with_pinned(new_map, pinned_map)
    at = _positions(new_map, previous)  # per map row: its previous row, -1 when new
    records_before, records_kept = _kept(new_map, previous, at)

    _write_map(conn, new_map, previous, run_id, at)
    _write_customers(conn, new_map, assignment.new_ids, run_id)
    _write_history(conn, assignment.history, run_id)
    evidence_pairs = _write_pairs(
        conn, result, customer_id, run_id, "match_evidence", result.clusters.tree
    )
    review_pairs = _write_pairs(
        conn, result, customer_id, run_id, "review_queue", np.flatnonzero(result.review)
    )
    _write_standardized(conn, _standardized_rows(records, pinned, forgotten_late), previous, at)

    return _summarize(
        conn,
        run_id,
        records,
        result,
        new_map,
        assignment,
        plan,
        (records_before, records_kept),
        (evidence_pairs, review_pairs),
        len(records),
    )


def _with_pinned(new_map: pd.DataFrame, pinned_map: pd.DataFrame) -> pd.DataFrame:
    if pinned_map.empty:
        return new_map
    pinned_map = pinned_map.assign(identity_hash=pd.array([None] * len(pinned_map), dtype="Int64"))
    return pd.concat([new_map, pinned_map], ignore_index=True)


def _kept(new_map: pd.DataFrame, previous: pd.DataFrame, at: np.ndarray) -> tuple[int, int]:
    """Records that had a customer ID before this run, and those that kept it (`at`: each
    map row's previous row, as `_positions` gives it)."""
    had = at >= 0
    now = new_map["customer_id"].to_numpy(dtype=object, na_value=None)[had]
    before = previous["customer_id"].to_numpy(dtype=object, na_value=None)[at[had]]
    return int(had.sum()), int(np.count_nonzero(np.asarray(now == before, dtype=bool)))


def _write_increment(
    conn: Connection,
    records: pd.DataFrame,
    increment: Increment,
    pinned: pd.DataFrame,
    plan: _Plan,
    read: _Read,
) -> ResolveSummary:
    """Write what an incremental run re-clustered; every other record keeps its rows.

    The touched customers are whole in `increment.records` (engine.relink), so IDs are
    inherited among them alone, and their evidence trees are rebuilt; review pairs with
    one side outside them keep their scores and take their new customer IDs. The map is
    the one `read` before matching unless something wrote it since (a forget, another
    run): then it is read again here, under the lock."""
    result = increment.result
    parameters = {**plan.parameters, "relinked_records": int(increment.records.size)}
    unchanged = io.unchanged_since(conn, read.seen, read.last_run)
    run_id = _insert_run(conn, len(records), parameters)
    if unchanged:
        previous, at = read.previous, read.at
    else:
        previous = io.read_previous_map(conn)
        at = _positions(records, previous)  # per record: its row of the map, -1 if new
    region = records.iloc[increment.records]
    in_region = np.zeros(len(previous), dtype=bool)
    in_region[at[increment.records][at[increment.records] >= 0]] = True
    previous_region = previous[in_region]
    forgotten = io.read_forgotten(conn)
    clusters = region[_KEYS].reset_index(drop=True).assign(cluster=result.record_cluster)
    assignment = assign_ids(
        clusters,
        _heirs(previous_region, forgotten),
        lambda k: [format_customer_id(n) for n in io.allocate_ids(conn, k)],
    )
    customer_id = _take(previous["customer_id"].to_numpy(dtype=object, na_value=None), at, None)
    probability = _take(
        pd.to_numeric(previous["match_probability"]).to_numpy(dtype=np.float64, na_value=np.nan),
        at,
        np.nan,
    )
    customer_id[increment.records] = assignment.customer_of_cluster.reindex(
        result.record_cluster
    ).to_numpy(dtype=object)
    probability[increment.records] = np.round(result.record_probability, 6)
    if pd.isna(customer_id).any():
        raise RuntimeError(
            "an incremental run found a record outside the customers it re-clustered with no"
            " customer: run `dealer360 run --full`"
        )
    customer_id, forgotten_late, pinned_map = _pin(
        records, customer_id, pinned, forgotten, unchanged
    )
    new_map = pd.DataFrame(
        {
            "source": records["source"].to_numpy(),
            "source_record_id": records["source_record_id"].to_numpy(),
            "customer_id": customer_id,
            "match_probability": probability,
            "identity_hash": pd.array(plan.identity_hash, dtype="Int64"),
        }
    )
    new_map = _with_pinned(new_map, pinned_map)
    if len(new_map) > len(records):  # and the pinned rows'
        at = np.r_[at, _positions(new_map.iloc[len(records) :], previous)]
    records_before, records_kept = _kept(new_map, previous, at)

    _write_map(conn, new_map, previous, run_id, at)
    _write_customers(conn, new_map, assignment.new_ids, run_id)
    _write_history(conn, assignment.history, run_id)
    touched = pd.unique(
        np.concatenate(
            [
                previous_region["customer_id"].to_numpy(dtype=object),
                customer_id[increment.records].astype(object),
            ]
        )
    )
    conn.execute(
        sa.text("delete from resolve.match_evidence where customer_id = any(:ids)"),
        {"ids": [str(c) for c in touched]},
    )
    region_customer = customer_id[increment.records]
    evidence_pairs = _write_pairs(
        conn, result, region_customer, run_id, "match_evidence", result.clusters.tree, region
    )
    review_pairs = _write_pairs(
        conn,
        result,
        region_customer,
        run_id,
        "review_queue",
        np.flatnonzero(result.review),
        region,
        records.loc[plan.changed, _KEYS],
    )
    for side in ("a", "b"):
        conn.exec_driver_sql(
            f"""
            update resolve.review_queue q set customer_id_{side} = m.customer_id
            from resolve.customer_source_map m
            where m.source = q.source_{side} and m.source_record_id = q.source_record_id_{side}
              and q.customer_id_{side} is distinct from m.customer_id
            """
        )
    _write_standardized(conn, _standardized_rows(records, pinned, forgotten_late), previous, at)

    return _summarize(
        conn,
        run_id,
        records,
        result,
        new_map,
        assignment,
        plan,
        (records_before, records_kept),
        (evidence_pairs, review_pairs),
        int(increment.records.size),
    )


def _summarize(
    conn: Connection,
    run_id: int,
    records: pd.DataFrame,
    result: LinkResult,
    new_map: pd.DataFrame,
    assignment,
    plan: _Plan,
    kept: tuple[int, int],
    pairs: tuple[int, int],
    relinked: int,
) -> ResolveSummary:
    """The run's summary, its counts also written to its resolve.runs row."""
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
        records_before=kept[0],
        records_kept_id=kept[1],
        evidence_pairs=pairs[0],
        review_pairs=pairs[1],
        seconds=0.0,
        pairs_per_blocking_rule=result.candidates.pairs_per_rule,
        mode=plan.mode,
        reason=plan.reason,
        changed_records=plan.changed_records,
        relinked_records=relinked,
    )
    conn.execute(
        sa.text(
            "update resolve.runs set customers = :c, records_kept_id = :k,"
            " records_before = :b where run_id = :r"
        ),
        {"c": summary.customers, "k": kept[1], "b": kept[0], "r": run_id},
    )
    return summary


def _write_map(
    conn: Connection, new_map: pd.DataFrame, previous: pd.DataFrame, run_id: int, at: np.ndarray
) -> None:
    """Write only what changed: a rerun on the same data touches no row. Rows are paired
    with their previous ones by `at` (each row's previous row, -1 when new: `_positions`,
    integer codes of the keys, not a merge on text)."""
    keys = ["source", "source_record_id"]

    def before(values: np.ndarray, missing) -> np.ndarray:
        return _take(values, at, missing)

    seen = np.zeros(len(previous), dtype=bool)
    seen[at[at >= 0]] = True
    gone = previous.loc[~seen, keys]
    new_id = new_map["customer_id"].astype("string").fillna("").to_numpy(dtype=object)
    old_id = before(previous["customer_id"].astype("string").fillna("").to_numpy(dtype=object), "")
    moved = np.asarray(new_id != old_id, dtype=bool)
    new_probability = pd.to_numeric(new_map["match_probability"], errors="coerce").to_numpy(float)
    old_probability = before(
        pd.to_numeric(previous["match_probability"], errors="coerce").to_numpy(float), np.nan
    )
    rescored = ~(np.abs(new_probability - old_probability) <= 1e-6)
    new_hash = new_map["identity_hash"].astype("Int64").array
    old_hash = previous["identity_hash"].astype("Int64").array
    rehashed = (new_hash.isna() != before(old_hash.isna(), True)) | (
        new_hash.to_numpy(dtype=np.int64, na_value=0)
        != before(old_hash.to_numpy(dtype=np.int64, na_value=0), 0)
    )
    changed = new_map.loc[
        moved | rescored | rehashed, [*keys, "customer_id", "match_probability", "identity_hash"]
    ].assign(run_id=run_id)
    if previous.empty:
        io.copy_into(conn, "resolve.customer_source_map", changed)
    elif not changed.empty:
        io.copy_in(
            conn,
            "_map",
            changed,
            "source text, source_record_id text, customer_id text,"
            " match_probability float8, identity_hash bigint, run_id bigint",
        )
        conn.exec_driver_sql(
            """
            insert into resolve.customer_source_map
                (source, source_record_id, customer_id, match_probability, identity_hash, run_id)
            select source, source_record_id, customer_id, match_probability, identity_hash, run_id
            from _map
            on conflict (source, source_record_id) do update
                set customer_id = excluded.customer_id,
                    match_probability = excluded.match_probability,
                    identity_hash = excluded.identity_hash,
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
    scope: pd.DataFrame | None = None,
    changed: pd.DataFrame | None = None,
) -> int:
    """Write `pairs` to match_evidence or review_queue. With `scope` (the records an
    increment re-clustered), only pairs inside it are replaced: the caller has deleted the
    scope's evidence, and review pairs with a side outside it stay, unless that side's
    other one is among the `changed` records (new or changed ones, those of a customer that
    lost a record): such a pair still uncertain has both sides in scope
    (`engine._neighbourhood`), so one not queued again no longer is."""
    keys = "source_a, source_record_id_a, source_b, source_record_id_b"
    if table == "match_evidence" and scope is None:
        conn.exec_driver_sql("truncate resolve.match_evidence")
    elif table == "match_evidence":
        pass
    else:
        conn.exec_driver_sql(
            "create temporary table _review_queue (source_a text, source_record_id_a text,"
            " source_b text, source_record_id_b text, customer_id_a text, customer_id_b text,"
            " match_probability float8, match_weight float8, evidence jsonb,"
            " learnt_probability float8, evidence_pattern text) on commit drop"
        )
    # A candidate pair is one pair of records (signatures are shown through their first
    # record), so distinct pairs give distinct rows, and the frames (their evidence text
    # above all) are built and written a chunk at a time.
    pairs = pd.unique(pairs)
    rec_of_sig = _record_of_signature(result)
    for start in range(0, pairs.size, _PAIRS_PER_CHUNK):
        chunk = pairs[start : start + _PAIRS_PER_CHUNK]
        frame = _pair_frame(result, chunk, customer_id, rec_of_sig)
        if table == "match_evidence":
            frame = (
                frame.drop(columns="customer_id_b")
                .rename(columns={"customer_id_a": "customer_id"})
                .assign(run_id=run_id)
            )
            io.copy_into(conn, "resolve.match_evidence", frame)
        else:
            frame["learnt_probability"] = np.round(result.learnt_probability(chunk), 6)
            frame["evidence_pattern"] = learning.pattern_keys(result.compared.levels[chunk])
            io.copy_into(conn, "_review_queue", frame)
    if table != "match_evidence":
        in_scope = "true"
        if scope is not None:
            io.copy_in(
                conn,
                "_scope",
                scope[_KEYS],
                "source text, source_record_id text, primary key (source, source_record_id)",
            )
            in_scope = " and ".join(
                f"exists (select 1 from _scope s where s.source = q.source_{side}"
                f" and s.source_record_id = q.source_record_id_{side})"
                for side in ("a", "b")
            )
            if changed is not None and len(changed):
                io.copy_in(
                    conn,
                    "_changed",
                    changed[_KEYS],
                    "source text, source_record_id text, primary key (source, source_record_id)",
                )
                in_scope = (
                    f"(({in_scope}) or "
                    + " or ".join(
                        f"exists (select 1 from _changed c where c.source = q.source_{side}"
                        f" and c.source_record_id = q.source_record_id_{side})"
                        for side in ("a", "b")
                    )
                    + ")"
                )
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
               or ({in_scope} and not exists (
                select 1 from _review_queue t
                where (t.source_a, t.source_record_id_a, t.source_b, t.source_record_id_b)
                    = (q.source_a, q.source_record_id_a, q.source_b, q.source_record_id_b)
            ))
            """
        )
        conn.exec_driver_sql(
            f"""
            insert into resolve.review_queue as q
                ({keys}, customer_id_a, customer_id_b, match_probability, match_weight,
                 evidence, learnt_probability, evidence_pattern, run_id)
            select {keys}, customer_id_a, customer_id_b, match_probability, match_weight,
                   evidence, learnt_probability, evidence_pattern, {run_id}
            from _review_queue t
            where not {decided.format(p="t")}
            on conflict ({keys}) do update
                set customer_id_a = excluded.customer_id_a,
                    customer_id_b = excluded.customer_id_b,
                    match_probability = excluded.match_probability,
                    match_weight = excluded.match_weight,
                    evidence = excluded.evidence,
                    learnt_probability = excluded.learnt_probability,
                    evidence_pattern = excluded.evidence_pattern,
                    run_id = excluded.run_id
            """
        )
        _write_priority(conn, result)
    return int(pairs.size)


def _write_priority(conn: Connection, result: LinkResult) -> None:
    """Rank the whole queue by what a verdict would teach (`learning.priority`), pairs
    kept from an earlier increment included: how many pending pairs share a pattern is a
    fact of the whole queue."""
    keys = ["source_a", "source_record_id_a", "source_b", "source_record_id_b"]
    queue = io.copy_out(
        conn,
        f"select {', '.join(keys)}, evidence_pattern,"
        " coalesce(learnt_probability, match_probability) as probability"
        f" from resolve.review_queue order by {', '.join(keys)}",
    )
    if queue.empty:
        return
    # A row kept from before patterns were recorded stands for itself.
    pattern = queue["evidence_pattern"].fillna(pd.Series("pair " + queue.index.astype(str)))
    found = result.verdicts
    taught = pd.Series(
        learning.pattern_keys(found.levels) if found is not None else [], dtype=object
    ).value_counts()
    queue = queue[keys].assign(
        review_priority=np.round(
            learning.priority(
                pattern.to_numpy(dtype=object),
                pd.to_numeric(queue["probability"]).to_numpy(dtype=np.float64),
                taught,
                learning.pair_hash(queue[keys]),
            ),
            6,
        )
    )
    io.copy_in(
        conn,
        "_priority",
        queue,
        "source_a text, source_record_id_a text, source_b text, source_record_id_b text,"
        " review_priority float8",
    )
    conn.exec_driver_sql(
        """
        update resolve.review_queue q set review_priority = t.review_priority
        from _priority t
        where (t.source_a, t.source_record_id_a, t.source_b, t.source_record_id_b)
            = (q.source_a, q.source_record_id_a, q.source_b, q.source_record_id_b)
          and q.review_priority is distinct from t.review_priority
        """
    )


def _standardized_rows(
    records: pd.DataFrame, pinned: pd.DataFrame, forgotten_late: np.ndarray
) -> pd.DataFrame:
    """resolve.standardized_records as this run leaves it: a row per record, a forgotten
    record's (pinned, or forgotten while this run matched) without its identifiers."""
    everyone = pd.concat(
        [records[_STANDARDIZED_COLUMNS], pinned[_STANDARDIZED_COLUMNS]], ignore_index=True
    )
    forgotten = np.concatenate([forgotten_late, np.ones(len(pinned), dtype=bool)])
    everyone.loc[forgotten, [*PERSON_IDENTIFIERS, *DISPLAY_NAME_COLUMNS]] = pd.NA
    return everyone


def _write_standardized(
    conn: Connection,
    rows: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    at: np.ndarray | None = None,
) -> None:
    """Make resolve.standardized_records hold `rows`, writing only the rows that differ.

    Each row carries a hash of its values (`values_hash`, as this code computes it; null
    after a forget): a row whose hash is the one stored is left alone, so an increment
    writes the records whose standardized values changed, not every record it re-clustered,
    and the triggers note just those for the incremental marts. When most rows differ (a
    first run, a new standardization) the table is written again whole.

    The stored hashes come with the map the run writes against (`previous`, as
    `io.read_previous_map` reads it, and `at`: each row's row of it, -1 when new), unless
    the table holds a row of a record the map has not: then they are read here. Either
    way rows are matched through integer positions, no join on text.
    """
    hashed = pd.util.hash_pandas_object(rows, index=False).to_numpy().view(np.int64)
    rows = rows.assign(values_hash=hashed)
    n = len(rows)
    if previous is not None and io.standardized_rows(conn) == int(previous["standardized"].sum()):
        match = np.full(len(previous), -1, dtype=np.int64)  # per map row: its row of `rows`
        match[at[at >= 0]] = np.flatnonzero(at >= 0)
        stored = previous.loc[previous["standardized"], [*_KEYS, "values_hash"]]
        match = match[previous["standardized"].to_numpy()]
    else:
        stored = io.copy_out(
            conn, "select source, source_record_id, values_hash from resolve.standardized_records"
        )
        if stored.empty:
            stored = pd.DataFrame(columns=[*_KEYS, "values_hash"], dtype="string")
        match = _positions(stored, rows)  # per stored row: the row of its record, -1 if gone
    stored_hash = stored["values_hash"].astype("Int64").array
    matched = match >= 0
    same = (
        matched
        & ~stored_hash.isna()
        & (stored_hash.to_numpy(dtype=np.int64, na_value=0) == hashed[np.maximum(match, 0)])
    )
    fresh = np.ones(n, dtype=bool)  # new, or differing from a stored row
    fresh[match[same]] = False
    fresh[match[matched & ~same]] = True
    new = np.ones(n, dtype=bool)
    new[match[matched]] = False
    stale = stored.loc[~same, _KEYS]
    if len(stale) + int(new.sum()) > n // 2:
        conn.exec_driver_sql("truncate resolve.standardized_records")
        io.copy_into(conn, "resolve.standardized_records", rows)
        return
    if len(stale):
        io.copy_in(conn, "_stale_standardized", stale, "source text, source_record_id text")
        conn.exec_driver_sql(
            """
            delete from resolve.standardized_records s using _stale_standardized r
            where r.source = s.source and r.source_record_id = s.source_record_id
            """
        )
    if fresh.any():
        io.copy_into(conn, "resolve.standardized_records", rows[fresh])
