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

from ingest.checks import check, landed
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
        ("row_number", pa.int64(), "integer"),
        ("source_record_id", pa.string(), "text"),
        *((c.name, pa.string(), "text") for c in source.columns),
        *((c.vin_flag, pa.bool_(), "boolean") for c in source.vin_columns),
        *((_extra(k), pa.string(), "text") for k in range(len(layout.extras))),
        ("reason", pa.string(), "text"),
        ("raw_values", pa.string(), "jsonb"),
    ]


def create_stage_sql(layout: Layout) -> str:
    columns = ", ".join(f"{name} {sql}" for name, _, sql in _stage_columns(layout))
    return f"create temporary table landing_stage ({columns}) on commit drop"


def copy_sql(layout: Layout) -> str:
    columns = ", ".join(name for name, _, _ in _stage_columns(layout))
    return f"copy {STAGE} ({columns}) from stdin (format csv)"


def stage_rows(batch: Batch, layout: Layout) -> bytes:
    """A batch, checked, as CSV for the staging table."""
    schema = pa.schema([(name, kind) for name, kind, _ in _stage_columns(layout)])
    sink = io.BytesIO()
    if len(batch):
        pa_csv.write_csv(_checked_rows(batch, layout, schema), sink, _CSV)
    if batch.malformed:
        pa_csv.write_csv(_malformed_rows(batch, schema), sink, _CSV)
    return sink.getvalue()


def _checked_rows(batch: Batch, layout: Layout, schema: pa.Schema) -> pa.Table:
    source = layout.source
    checked = check(
        source, {name: batch.cells[i] for name, i in layout.positions.items()}, len(batch)
    )
    raw: list[str | None] = [None] * len(batch)
    failing = np.flatnonzero(checked.failed)
    for i, values in zip(failing.tolist(), _as_sent_rows(batch, layout, failing), strict=True):
        raw[i] = json.dumps(values, ensure_ascii=False)
    arrays = [
        pa.array(batch.numbers, pa.int64()),
        pc.binary_join_element_wise(*(checked.values[k] for k in source.key), ":"),
        *(checked.values[c.name] for c in source.columns),
        *(_vin_flags(checked.values[c.name]) for c in source.vin_columns),
        *(_as_sent(batch.cells[i]) for i in layout.extras),
        pa.array(checked.reasons, pa.string()),
        pa.array(raw, pa.string()),
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _malformed_rows(batch: Batch, schema: pa.Schema) -> pa.Table:
    """Rows set aside by the parser: their number, reason and raw values, nothing else."""
    count = len(batch.malformed)
    columns = {field.name: pa.nulls(count, field.type) for field in schema}
    columns["row_number"] = pa.array([n for n, _, _ in batch.malformed], pa.int64())
    columns["reason"] = pa.array([reason for _, reason, _ in batch.malformed], pa.string())
    columns["raw_values"] = pa.array(
        [json.dumps(values, ensure_ascii=False) for _, _, values in batch.malformed], pa.string()
    )
    return pa.Table.from_pydict(columns, schema=schema)


def _as_sent_rows(batch: Batch, layout: Layout, rows: np.ndarray) -> list[dict[str, str]]:
    """Some rows as header name → cell as sent."""
    if not len(rows):
        return []
    where = pa.array(rows)
    columns = [cell.take(where).to_pylist() for cell in batch.cells]
    return [dict(zip(layout.names, values, strict=True)) for values in zip(*columns, strict=True)]


def _vin_flags(vins: pa.Array) -> pa.Array:
    """Validity of each VIN; null where there is no VIN."""
    flags = vins_are_valid(vins)
    return pa.array(flags, pa.bool_(), mask=_mask(pc.is_null(vins)))


def _mask(flags: pa.Array) -> np.ndarray:
    return flags.to_numpy(zero_copy_only=False).astype(bool)


def _as_sent(cells: pa.Array) -> pa.Array:
    """A column the contract does not name: kept as sent, an empty cell left out."""
    return pc.if_else(pc.is_null(landed(cells)), pa.scalar(None, pa.string()), cells)


def merge_statements(layout: Layout) -> dict[str, str]:
    """The statements that land the staged rows, to run in this order in one transaction.

    settings: see below;
    supersede: marks all but the last good row of each duplicated source_record_id;
    quarantine: copies the rows with a reason to raw.quarantine (rowcount: quarantined);
    update: rewrites the landed rows whose values changed (rowcount: updated);
    insert: adds the new source_record_ids (rowcount: inserted).
    Parameters: source, file_name, names (the header), extra_names.

    `settings` go first: fresh statistics of the staging table, and no nested loops,
    because a raw table still empty when the insert is planned would otherwise be
    scanned again for every staged row while the insert fills it.
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
    row_hash = (
        f"to_hex(hash_record_extended(row({', '.join(f's.{c}' for c in contract)}, {extra}), 0))"
    )
    by_position = {i: name for name, i in layout.positions.items()}
    by_position.update({i: _extra(k) for k, i in enumerate(layout.extras)})
    as_landed = ", ".join(f"s.{by_position[i]}" for i in range(layout.width))
    assignments = ",\n        ".join(f"{c} = s.{c}" for c in [*contract, *flags])
    landed = ", ".join([*contract, *flags])
    return {
        "settings": f"""
set local default_statistics_target = 10;
analyze {STAGE};
set local enable_nestloop = off
""",
        "supersede": f"""
update {STAGE} as s set
    reason = 'duplicate source_record_id ' || s.source_record_id
        || ' (superseded by row ' || latest.row_number || ')',
    raw_values = jsonb_object(%(names)s::text[], array[{as_landed}]::text[])
from (
    select source_record_id, max(row_number) as row_number
    from {STAGE}
    where reason is null
    group by source_record_id
    having count(*) > 1
) as latest
where
    s.source_record_id = latest.source_record_id
    and s.reason is null
    and s.row_number < latest.row_number
""",
        "quarantine": f"""
insert into raw.quarantine (source, file_name, row_number, reason, raw_values)
select %(source)s, %(file_name)s, row_number, reason, raw_values
from {STAGE}
where reason is not null
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
    s.reason is null
    and target.source_record_id = s.source_record_id
    and target.row_hash is distinct from {row_hash}
""",
        "insert": f"""
insert into {table} (
    source_record_id, {landed}, extra, file_name, row_number, row_hash, loaded_at
)
select
    s.source_record_id, {", ".join(f"s.{c}" for c in [*contract, *flags])},
    {extra}, %(file_name)s, s.row_number, {row_hash}, now()
from {STAGE} as s
where
    s.reason is null
    and not exists (
        select from {table} as landed where landed.source_record_id = s.source_record_id
    )
""",
    }
