"""Moving one file's checked rows into the raw schema: a temporary staging table filled by
COPY, then a few set-based statements that quarantine, update and insert.

The statements run in the file's transaction, so a file lands whole or not at all:

* rows that broke a rule go to raw.quarantine with their reason and raw values;
* of several good rows with one source_record_id, the last wins and the earlier ones are
  quarantined as superseded, so rows read = loaded + unchanged + quarantined;
* a good row inserts its source_record_id, or updates it when its values differ
  (row_hash); a row sent again unchanged keeps its first file_name and loaded_at.

The statements assume they are the only writer of the raw table while they run: the
loader holds an advisory lock for the file's transaction.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from dealer360.suppression import (
    ANONYMOUS_PREFIX,
    Suppression,
    identifying_columns,
    identity_fields,
    scrubbed_raw_values_sql,
    scrubbed_reason_sql,
)
from ingest.checks import check, landed
from ingest.contract import PERSON_SOURCES, Source
from ingest.parse import Batch, Layout
from ingest.vin import vins_are_valid

STAGE = "pg_temp.landing_stage"
_CSV = pa_csv.WriteOptions(include_header=False)


def _extra(k: int) -> str:
    return f"extra_{k}"


def _stage_columns(layout: Layout) -> list[tuple[str, pa.DataType, str]]:
    """(name, Arrow type, SQL type) of each staging column."""
    source = layout.source
    return [
        ("row_number", pa.int64(), "integer primary key"),
        ("source_record_id", pa.string(), "text"),
        *((c.name, pa.string(), "text") for c in source.columns),
        *((c.vin_flag, pa.bool_(), "boolean") for c in source.vin_columns),
        *((_extra(k), pa.string(), "text") for k in range(len(layout.extras))),
        ("reason", pa.string(), "text"),
        ("raw_values", pa.string(), "jsonb"),
        ("is_suppressed", pa.bool_(), "boolean"),
    ]


def create_stage_sql(layout: Layout) -> str:
    columns = ", ".join(f"{name} {sql}" for name, _, sql in _stage_columns(layout))
    return f"create temporary table landing_stage ({columns}, landed_hash text) on commit drop"


def copy_sql(layout: Layout) -> str:
    columns = ", ".join(name for name, _, _ in _stage_columns(layout))
    return f"copy {STAGE} ({columns}) from stdin (format csv)"


def stage_rows(batch: Batch, layout: Layout, suppression: Suppression | None = None) -> bytes:
    """A batch, checked, as CSV for the staging table; with a suppression list, each row
    says whether it carries a forgotten person's identifiers."""
    schema = pa.schema([(name, kind) for name, kind, _ in _stage_columns(layout)])
    sink = io.BytesIO()
    if len(batch):
        pa_csv.write_csv(_checked_rows(batch, layout, schema, suppression), sink, _CSV)
    if batch.malformed:
        pa_csv.write_csv(_malformed_rows(batch, layout, schema, suppression), sink, _CSV)
    return sink.getvalue()


def _suppressed(
    layout: Layout, values: dict[str, pa.Array], rows: int, suppression: Suppression | None
) -> pa.Array:
    if suppression is None or layout.source.name not in PERSON_SOURCES:
        return pa.array(np.zeros(rows, dtype=bool))
    fields = identity_fields(layout.source.name, values, rows)
    return pa.array(suppression.matches(fields))


def _checked_rows(
    batch: Batch, layout: Layout, schema: pa.Schema, suppression: Suppression | None
) -> pa.Table:
    source = layout.source
    cells = batch.columns(batch.flat)
    sent = batch.columns(landed(batch.flat))
    checked = check(source, {name: sent[i] for name, i in layout.positions.items()}, len(batch))
    failing = np.flatnonzero(checked.failing)
    reasons = np.full(len(batch), None, dtype=object)
    raw = np.full(len(batch), None, dtype=object)
    for i, values in zip(failing.tolist(), _as_sent_rows(batch, layout, failing), strict=True):
        reasons[i] = checked.reasons[i]
        raw[i] = json.dumps(values, ensure_ascii=False)
    arrays = [
        pa.array(batch.numbers, pa.int64()),
        pc.binary_join_element_wise(*(checked.values[k] for k in source.key), ":"),
        *(checked.values[c.name] for c in source.columns),
        *(_vin_flags(checked.values[c.name]) for c in source.vin_columns),
        *(_as_sent(cells[i], sent[i]) for i in layout.extras),
        pa.array(reasons, pa.string()),
        pa.array(raw, pa.string()),
        _suppressed(layout, checked.values, len(batch), suppression),
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _malformed_rows(
    batch: Batch, layout: Layout, schema: pa.Schema, suppression: Suppression | None
) -> pa.Table:
    """Rows set aside by the parser: their number, reason and raw values, nothing else."""
    count = len(batch.malformed)
    columns = {field.name: pa.nulls(count, field.type) for field in schema}
    columns["row_number"] = pa.array([n for n, _, _ in batch.malformed], pa.int64())
    columns["reason"] = pa.array([reason for _, reason, _ in batch.malformed], pa.string())
    columns["raw_values"] = pa.array(
        [json.dumps(values, ensure_ascii=False) for _, _, values in batch.malformed], pa.string()
    )
    suppressed = np.zeros(count, dtype=bool)
    if suppression is not None and layout.source.name in PERSON_SOURCES:
        suppressed = suppression.matches_raw_values(
            layout.source.name, [values for _, _, values in batch.malformed]
        )
    columns["is_suppressed"] = pa.array(suppressed)
    return pa.Table.from_pydict(columns, schema=schema)


def _as_sent_rows(batch: Batch, layout: Layout, rows: np.ndarray) -> list[dict[str, str]]:
    """Some rows as header name → cell as sent."""
    if not len(rows):
        return []
    where = pa.array(rows)
    columns = [cell.take(where).to_pylist() for cell in batch.columns(batch.flat)]
    return [dict(zip(layout.names, values, strict=True)) for values in zip(*columns, strict=True)]


def _vin_flags(vins: pa.Array) -> pa.Array:
    """Validity of each VIN; null where there is no VIN."""
    missing = vins.is_null().to_numpy(zero_copy_only=False)
    return pa.array(vins_are_valid(vins), pa.bool_(), mask=missing)


def _as_sent(cells: pa.Array, landed: pa.Array) -> pa.Array:
    """A column the contract does not name: kept as sent, an empty cell left out."""
    return pc.if_else(landed.is_valid(), cells, pa.scalar(None, pa.string()))


def row_hash_sql(
    source: Source, alias: str, extra: str, null_columns: frozenset[str] = frozenset()
) -> str:
    """SQL: a landed row's row_hash, over its contract values and `extra` (those named in
    `null_columns` taken as null). One definition for landing and for `dealer360 forget`,
    so a scrubbed row and the same row landed again scrubbed hash alike."""
    values = [
        "null::text" if c.name in null_columns else f"{alias}.{c.name}" for c in source.columns
    ]
    return f"to_hex(hash_record_extended(row({', '.join(values)}, {extra}), 0))"


def merge_statements(layout: Layout) -> dict[str, str]:
    """The statements that land the staged rows, in the order they run, in one transaction
    (and one round trip). The rowcounts of quarantine, update and insert are the file's
    rows quarantined, updated and inserted. Parameters: source, file_name, names (the
    header), extra_names.

    forget: a file loaded again replaces its quarantined rows;
    settings: see below;
    forgotten: marks the rows whose source_record_id belongs to a forgotten person;
    suppress: removes the identifying values of the marked rows (and of those staged as
    carrying a suppressed identifier) before anything is written; its rowcount is the
    file's rows suppressed;
    supersede: marks all but the last good row of each duplicated source_record_id;
    quarantine: copies the rows with a reason to raw.quarantine;
    by_key: see below;
    match: notes the row_hash of each good row's source_record_id already landed;
    update: rewrites the landed rows whose values changed;
    insert: adds the source_record_ids not landed yet;
    pin: pins a suppressed row that is new to an anonymous key (privacy.forgotten_records).

    `settings`: the commit does not wait for the disk. If the server itself crashes
    right after, the file's rows and its raw.files row are lost together, and the next
    run loads the file again.

    `by_key`: the raw table is reached through its primary key, never scanned whole, so
    a small file costs little however big the table. The raw table is looked up once
    per row (match) and the insert needs no lookup: it relies on the lock the loader
    holds, no other load writing the table meanwhile.
    """
    source = layout.source
    table = source.table
    contract = [c.name for c in source.columns]
    flags = [c.vin_flag for c in source.vin_columns]
    extras = ", ".join(f"s.{_extra(k)}" for k in range(len(layout.extras)))
    extra = (
        f"jsonb_strip_nulls(jsonb_object(%(extra_names)s::text[], array[{extras}]::text[]))"
        if layout.extras
        else "'{}'::jsonb"
    )
    row_hash = row_hash_sql(source, "s", extra)
    identifying = identifying_columns(source.name)
    scrub = ", ".join(
        [
            *(f"{c} = null" for c in identifying),
            *(f"{_extra(k)} = null" for k in range(len(layout.extras))),
            f"raw_values = {scrubbed_raw_values_sql('s.raw_values', '%(kept)s')}",
            f"reason = {scrubbed_reason_sql('s.reason')}",
        ]
    )
    by_position = {i: name for name, i in layout.positions.items()}
    by_position.update({i: _extra(k) for k, i in enumerate(layout.extras)})
    as_landed = ", ".join(f"s.{by_position[i]}" for i in range(layout.width))
    assignments = ",\n        ".join(f"{c} = s.{c}" for c in [*contract, *flags])
    landed = ", ".join([*contract, *flags])
    return {
        "forget": "delete from raw.quarantine where file_name = %(file_name)s",
        "settings": "set local synchronous_commit = off",
        "forgotten": f"""
update {STAGE} as s set is_suppressed = true
from privacy.forgotten_records as f
where f.source = %(source)s and f.source_record_id = s.source_record_id
""",
        "suppress": f"update {STAGE} as s set {scrub} where s.is_suppressed",
        "supersede": f"""
update {STAGE} as s set
    reason = 'duplicate source_record_id ' || s.source_record_id
        || ' (superseded by row ' || later.last_row || ')',
    raw_values = jsonb_object(%(names)s::text[], array[{as_landed}]::text[])
from (
    select
        row_number,
        max(row_number) over (partition by source_record_id) as last_row
    from {STAGE}
    where reason is null
) as later
where later.row_number < later.last_row and s.row_number = later.row_number
""",
        "quarantine": f"""
insert into raw.quarantine (source, file_name, row_number, reason, raw_values)
select %(source)s, %(file_name)s, row_number, reason, raw_values
from {STAGE}
where reason is not null
""",
        "by_key": "set local enable_seqscan = off",
        "match": f"""
update {STAGE} as s set landed_hash = target.row_hash
from {table} as target
where s.reason is null and target.source_record_id = s.source_record_id
""",
        "update": f"""
update {table} as target set
    {assignments},
    extra = {extra},
    file_name = %(file_name)s,
    row_number = s.row_number,
    row_hash = {row_hash},
    loaded_at = now()
from {STAGE} as s
where
    s.landed_hash is distinct from {row_hash}
    and s.landed_hash is not null
    and target.source_record_id = s.source_record_id
""",
        "insert": f"""
insert into {table} (
    source_record_id, {landed}, extra, file_name, row_number, row_hash, loaded_at
)
select
    s.source_record_id, {", ".join(f"s.{c}" for c in [*contract, *flags])},
    {extra}, %(file_name)s, s.row_number, {row_hash}, now()
from {STAGE} as s
where s.reason is null and s.landed_hash is null
""",
        "pin": f"""
insert into privacy.forgotten_records (source, source_record_id, anonymous_id)
select %(source)s, s.source_record_id, '{ANONYMOUS_PREFIX}' || left(md5(gen_random_uuid()::text), 16)
from {STAGE} as s
where s.is_suppressed and s.reason is null
on conflict (source, source_record_id) do nothing
""",
    }
