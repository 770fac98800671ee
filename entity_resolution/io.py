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

from entity_resolution.records import PERSON_SOURCES, raw_columns

_ADVISORY_LOCK = 360_360_004  # one resolver at a time per database


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
    buffer.seek(0)
    table = pa_csv.read_csv(
        buffer,
        convert_options=pa_csv.ConvertOptions(
            column_types={},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            auto_dict_encode=False,
        ),
        read_options=pa_csv.ReadOptions(autogenerate_column_names=False),
    )
    table = table.cast(pa.schema([pa.field(name, pa.string()) for name in table.column_names]))
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)


def copy_in(conn: Connection, table: str, frame: pd.DataFrame, columns_sql: str) -> None:
    """Create temporary `table` (dropped at commit) and COPY `frame` into it."""
    conn.exec_driver_sql(f"create temporary table {table} ({columns_sql}) on commit drop")
    copy_into(conn, table, frame)


def copy_into(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """COPY `frame` (its column names are the table's) into an existing table."""
    buffer = io.BytesIO()
    # Arrow's CSV writer: nulls as empty cells (COPY's NULL), empty text quoted.
    pa_csv.write_csv(
        pa.Table.from_pandas(frame, preserve_index=False),
        buffer,
        pa_csv.WriteOptions(include_header=False),
    )
    data = buffer.getvalue()
    cols = ", ".join(frame.columns)
    with (
        _dbapi(conn).cursor() as cur,
        cur.copy(f"copy {table} ({cols}) from stdin (format csv, null '')") as copy,
    ):
        copy.write(data)


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


def _select(table: str, wanted: Iterable[str], present: set[str]) -> str:
    cols = [c for c in wanted if c in present]
    return f"select {', '.join(cols)} from raw.{table}"


def read_raw(engine: Engine) -> tuple[dict[str, pd.DataFrame], pd.DataFrame | None]:
    """The landed person tables (only the columns matching needs) and the dealers list."""
    raw: dict[str, pd.DataFrame] = {}
    with engine.connect() as conn:
        present = _existing_columns(conn, "raw")
        for source in PERSON_SOURCES:
            if source in present:
                raw[source] = copy_out(conn, _select(source, raw_columns(source), present[source]))
        dealers = None
        if "dealers" in present:
            dealers = copy_out(
                conn, _select("dealers", ("dealer_code", "phone"), present["dealers"])
            )
    return raw, dealers


def read_previous_map(conn: Connection) -> pd.DataFrame:
    frame = copy_out(
        conn,
        "select source, source_record_id, customer_id, match_probability"
        " from resolve.customer_source_map",
    )
    if frame.empty:
        return pd.DataFrame(
            columns=["source", "source_record_id", "customer_id", "match_probability"],
            dtype="string",
        )
    return frame


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


def lock(conn: Connection) -> None:
    conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})


def allocate_ids(conn: Connection, count: int) -> list[int]:
    if count == 0:
        return []
    rows = conn.execute(
        sa.text("select nextval('resolve.customer_number_seq') from generate_series(1, :n)"),
        {"n": count},
    )
    return [int(r[0]) for r in rows]


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
