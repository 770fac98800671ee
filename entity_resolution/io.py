"""The database edges of entity resolution: bulk reads with COPY TO, writes with COPY FROM
into temporary tables followed by one set-based statement per target table."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealer360.db import LockKey
from entity_resolution.records import raw_columns
from ingest.contract import PERSON_SOURCES


def _dbapi(conn: Connection):
    return conn.connection.dbapi_connection


def copy_out(conn: Connection, query: str) -> pd.DataFrame:
    """Run `query` through COPY TO STDOUT and read it as text columns (NULL → <NA>).

    COPY keeps memory flat (bytes, not half a million Python tuples); Arrow parses them.
    """
    buffer = io.BytesIO()
    with (
        _dbapi(conn).cursor() as cur,
        cur.copy(f"copy ({query}) to stdout (format csv, header, force_quote *)") as copy,
    ):
        for chunk in copy:
            buffer.write(chunk)
    if buffer.getbuffer().nbytes == 0:
        return pd.DataFrame()
    table = pa_csv.read_csv(
        pa.BufferReader(buffer.getbuffer()),
        convert_options=pa_csv.ConvertOptions(
            column_types={},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            auto_dict_encode=False,
        ),
        read_options=pa_csv.ReadOptions(autogenerate_column_names=False),
    )
    table = table.cast(pa.schema([pa.field(name, pa.string()) for name in table.column_names]))
    # One Python string per distinct value, not per cell: a name or a date repeated on a
    # customer's twenty records is stored once (the largest saving when reading millions).
    return table.to_pandas(deduplicate_objects=True).astype("string")


def copy_in(conn: Connection, table: str, frame: pd.DataFrame, columns_sql: str) -> None:
    """Create temporary `table` (dropped at commit) and COPY `frame` into it."""
    conn.exec_driver_sql(f"create temporary table {table} ({columns_sql}) on commit drop")
    copy_into(conn, table, frame)


_COPY_ROWS = 200_000  # rows per CSV chunk: memory stays flat whatever the table's size


def copy_into(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """COPY `frame` (its column names are the table's) into an existing table, in chunks."""
    cols = ", ".join(frame.columns)
    with (
        _dbapi(conn).cursor() as cur,
        cur.copy(f"copy {table} ({cols}) from stdin (format csv, null '')") as copy,
    ):
        for start in range(0, len(frame), _COPY_ROWS):
            buffer = io.BytesIO()
            # Arrow's CSV writer: nulls as empty cells (COPY's NULL), empty text quoted.
            pa_csv.write_csv(
                pa.Table.from_pandas(frame.iloc[start : start + _COPY_ROWS], preserve_index=False),
                buffer,
                pa_csv.WriteOptions(include_header=False),
            )
            copy.write(buffer.getbuffer())


def _existing_columns(conn: Connection, schema: str) -> dict[str, set[str]]:
    rows = conn.execute(
        sa.text(
            "select table_name, column_name from information_schema.columns where table_schema = :s"
        ),
        {"s": schema},
    )
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return out


def _select(table: str, wanted: Iterable[str], present: set[str], key: str) -> str:
    """Rows in key order, not in the table's physical order: the same landed rows must give
    the same customers and IDs whatever order loads, reloads or crashes left them in."""
    cols = [c for c in wanted if c in present]
    return f"select {', '.join(cols)} from raw.{table} order by {key}"


def read_raw(engine: Engine) -> tuple[dict[str, pd.DataFrame], pd.DataFrame | None]:
    """The landed person tables (only the columns matching needs) and the dealers list."""
    raw: dict[str, pd.DataFrame] = {}
    with engine.connect() as conn:
        present = _existing_columns(conn, "raw")
        for source in PERSON_SOURCES:
            if source in present:
                raw[source] = copy_out(
                    conn,
                    _select(source, raw_columns(source), present[source], "source_record_id"),
                )
        dealers = None
        if "dealers" in present:
            dealers = copy_out(
                conn,
                _select("dealers", ("dealer_code", "phone"), present["dealers"], "dealer_code"),
            )
    return raw, dealers


_MAP_COLUMNS = ["source", "source_record_id", "customer_id", "match_probability", "identity_hash"]


def read_previous_map(conn: Connection) -> pd.DataFrame:
    """The map as the last run (or a forget) left it, each record with the `values_hash` of
    its stored standardized row (`standardized`: whether it has one); both hashes as
    nullable int64. Read in one query, the writing step needs no second pass over
    resolve.standardized_records to find what changed."""
    frame = copy_out(
        conn,
        f"select {', '.join(f'm.{c}' for c in _MAP_COLUMNS)}, s.values_hash,"
        " s.source is not null as standardized"
        " from resolve.customer_source_map m"
        " left join resolve.standardized_records s using (source, source_record_id)",
    )
    if frame.empty:
        frame = pd.DataFrame(columns=[*_MAP_COLUMNS, "values_hash", "standardized"], dtype="string")
    frame["identity_hash"] = frame["identity_hash"].astype("Int64")
    frame["values_hash"] = frame["values_hash"].astype("Int64")
    frame["standardized"] = frame["standardized"].eq("t").to_numpy(dtype=bool, na_value=False)
    return frame


def last_run_id(conn: Connection) -> int | None:
    """The newest run's ID (None before the first)."""
    return conn.scalar(sa.text("select max(run_id) from resolve.runs"))


def unchanged_since(conn: Connection, seen: list[int], run_id: int | None) -> bool:
    """Whether the map and the standardized rows are still as a run read them, which read
    the notes `seen` and then, as the newest run's ID was `run_id`, the map: no run has
    started since, and no write to what resolve reads has been noted that the run did not
    see. A forget, the other writer of both, notes one. Asked under the lock (`lock`), so
    nothing can change them before the run commits."""
    return bool(
        conn.scalar(
            sa.text(
                "select not exists (select 1 from raw.resolve_input_changes"
                "                   where change_id <> all(cast(:seen as bigint[])))"
                " and (select max(run_id) from resolve.runs) is not distinct from :run"
            ),
            {"seen": seen, "run": run_id},
        )
    )


def standardized_rows(conn: Connection) -> int:
    return int(conn.scalar(sa.text("select count(*) from resolve.standardized_records")))


def read_model(conn: Connection) -> dict | None:
    """The last finished full run: its run_id, records and parameters (the stored model)."""
    row = conn.execute(
        sa.text(
            "select run_id, records, parameters from resolve.runs"
            " where finished_at is not null and parameters->>'mode' = 'full'"
            " order by run_id desc limit 1"
        )
    ).first()
    if row is None:
        return None
    changed_since = conn.scalar(
        sa.text(
            "select coalesce(sum((parameters->>'changed_records')::bigint), 0) from resolve.runs"
            " where run_id > :r and finished_at is not null"
            " and parameters->>'mode' = 'incremental'"
        ),
        {"r": row.run_id},
    )
    return {
        "run_id": int(row.run_id),
        "records": int(row.records or 0),
        "parameters": row.parameters,
        "changed_since": int(changed_since),
    }


def last_run_parameters(conn: Connection) -> dict:
    """The parameters of the last finished run (full or incremental), {} before any."""
    return (
        conn.scalar(
            sa.text(
                "select parameters from resolve.runs where finished_at is not null"
                " order by run_id desc limit 1"
            )
        )
        or {}
    )


def input_notes(conn: Connection) -> list[int]:
    """The notes of writes to what resolve reads (migration 0019) committed so far."""
    return list(conn.scalars(sa.text("select change_id from raw.resolve_input_changes")))


def remove_input_notes(conn: Connection, seen: list[int]) -> None:
    """The notes a run read before its inputs are resolved once it has written its results."""
    conn.execute(
        sa.text("delete from raw.resolve_input_changes where change_id = any(:seen)"),
        {"seen": seen},
    )


def last_run_finished(conn: Connection) -> bool:
    """Whether the last run that started also finished (none started counts as not)."""
    return bool(
        conn.scalar(
            sa.text("select finished_at is not null from resolve.runs order by run_id desc limit 1")
        )
    )


def read_decisions(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = copy_out(
            conn,
            "select source_a, source_record_id_a, source_b, source_record_id_b, decision"
            " from resolve.review_decisions order by decided_at",
        )
    if frame.empty:
        return pd.DataFrame(
            columns=[
                "source_a",
                "source_record_id_a",
                "source_b",
                "source_record_id_b",
                "decision",
            ],
            dtype="string",
        )
    return frame


def read_forgotten(conn: Connection) -> pd.DataFrame:
    """Records erased by `dealer360 forget` (or landed suppressed) and the anonymous key
    each is pinned to; empty when the privacy tables are absent."""
    columns = ["source", "source_record_id", "anonymous_id"]
    present = conn.scalar(sa.text("select to_regclass('privacy.forgotten_records') is not null"))
    frame = (
        copy_out(conn, f"select {', '.join(columns)} from privacy.forgotten_records")
        if present
        else pd.DataFrame()
    )
    return pd.DataFrame(columns=columns, dtype="string") if frame.empty else frame


def lock(conn: Connection) -> None:
    conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": LockKey.RESOLVE})


_HIGHEST_ISSUED = """
    select coalesce(max(substring(id from '^C([0-9]+)$')::bigint), 0)
    from (
        select customer_id as id from resolve.customers
        union all select old_customer_id from resolve.customer_id_history
        union all select new_customer_id from resolve.customer_id_history
        union all select customer_id from privacy.forgotten_customers
    ) as issued
"""


def allocate_ids(conn: Connection, count: int) -> list[int]:
    """`count` new customer numbers after the highest ever issued (retired and forgotten IDs
    included, so none is given to someone else).

    Not a sequence: `nextval` is not rolled back, so a resolver killed after drawing numbers
    would leave the rerun's new customers with other IDs than an undisturbed run gives them.
    The caller holds the resolver's advisory lock, which makes max + 1 safe.
    """
    start = int(conn.scalar(sa.text(_HIGHEST_ISSUED))) + 1
    return list(range(start, start + count))


def export_links(engine: Engine, out: Path) -> int:
    """CSV `source,source_record_id,customer_id`, one row per landed person record."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    query = (
        "select source, source_record_id, customer_id from resolve.customer_source_map"
        " order by source, source_record_id"
    )
    with engine.connect() as conn, out.open("wb") as fh:
        with (
            _dbapi(conn).cursor() as cur,
            cur.copy(f"copy ({query}) to stdout (format csv, header)") as copy,
        ):
            for chunk in copy:
                fh.write(chunk)
        return int(conn.scalar(sa.text("select count(*) from resolve.customer_source_map")))
