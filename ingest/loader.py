"""Landing an inbox into the raw schema: every CSV file of every source, one transaction each.

A file lands whole or not at all. Its bytes are checked first (UTF-8, not a spreadsheet,
not empty); then its rows stream through Arrow's CSV reader and the contract's checks
in batches, into a temporary table by COPY, and a few set-based statements
(`ingest.merge`) quarantine the rows that break the contract and insert or update the
others; the file's bookkeeping row in raw.files is written in the same transaction. A
process killed half-way leaves no trace of the file, and the next run loads it again.

Loading is idempotent. A file whose bytes (SHA-256) were already loaded, under its name
or another, is `unchanged` and touches nothing. A row already landed with the same
values (row_hash) changes nothing either, whichever file brings it; a row whose
source_record_id is landed with other values is updated to the newer file's values.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter

import psycopg
import pyarrow as pa
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy.engine import Engine

from dealer360.errors import UserError
from ingest import merge
from ingest.contract import SOURCES, Source
from ingest.files import InboxFile, Inspection, discover, inspect_bytes
from ingest.parse import BadFile, Layout, batches, read_header, read_layout
from ingest.summary import FileResult, LoadSummary

log = logging.getLogger(__name__)

# Each file's transaction takes this advisory lock, with the source as second key: two
# loads running at once take turns file by file on a source instead of racing on its rows.
_LOCK_KEY = 360_360
_READ_BUFFER = 1 << 20


def load_inbox(
    engine: Engine, inbox: Path, *, progress: bool = False, workers: int | None = None
) -> LoadSummary:
    """Land every CSV file of the inbox's source folders and say what happened.

    Which file is "newer": the files of a source are loaded one by one in order of
    (modification time, then path relative to the inbox), and when two files carry the
    same source_record_id with different values, the file loaded later wins. So within
    a load the file modified later wins, and across loads the later load wins.

    Sources do not share rows, so up to `workers` of them (default: one per CPU) load
    side by side, each on its own connection.

    Bad files are not exceptions: they are recorded in raw.files as rejected and listed
    in the summary. A missing inbox is a `UserError`.
    """
    started = perf_counter()
    inbox = Path(inbox)
    files, ignored = discover(inbox)
    summary = LoadSummary(inbox=inbox, ignored=ignored)
    per_source: dict[str, list[InboxFile]] = defaultdict(list)
    for found in files:
        per_source[found.source.name].append(found)
    workers = max(1, min(workers or os.cpu_count() or 1, len(per_source)))
    with (
        _progress_bar(progress, sum(f.size for f in files)) as advance,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="landing") as pool,
    ):
        loads = [
            pool.submit(_load_in_order, engine, queue, inbox, advance)
            for queue in per_source.values()
        ]
        results = {r.file_name: r for load in loads for r in load.result()}
    summary.files = [results[f.file_name] for f in files]
    summary.seconds = perf_counter() - started
    return summary


def _load_in_order(
    engine: Engine, files: list[InboxFile], inbox: Path, on_bytes: Callable[[int], None] | None
) -> list[FileResult]:
    return [load_file(engine, f.path, f.source, inbox, on_bytes=on_bytes) for f in files]


def load_file(
    engine: Engine,
    path: Path,
    source: str | Source,
    inbox_root: Path,
    *,
    on_bytes: Callable[[int], None] | None = None,
) -> FileResult:
    """Land one file of `source` in its own transaction; `on_bytes` hears of bytes read."""
    source = _source(source)
    path = Path(path)
    file_name = _relative_name(path, Path(inbox_root))
    started = perf_counter()
    inspection = inspect_bytes(path)
    with _connection(engine) as pg:
        if inspection.problem:
            result = _reject(pg, source, file_name, inspection, inspection.problem)
            _tell(on_bytes, inspection.size)
        else:
            result = _land(pg, path, source, file_name, inspection, on_bytes)
    result.seconds = perf_counter() - started
    log.info(
        "%s: %s, %d rows read, %d new, %d updated, %d unchanged, %d quarantined",
        file_name,
        result.status,
        result.rows_read,
        result.rows_inserted,
        result.rows_updated,
        result.rows_unchanged,
        result.rows_quarantined,
    )
    return result


def _land(
    pg: psycopg.Connection,
    path: Path,
    source: Source,
    file_name: str,
    inspection: Inspection,
    on_bytes: Callable[[int], None] | None,
) -> FileResult:
    result = FileResult(file_name, source.name, "loaded", inspection.sha256, inspection.size)
    try:
        with pg.cursor() as cur:
            _lock(cur, source)
            same_bytes = _file_with_same_bytes(cur, source, file_name, inspection.sha256)
            if same_bytes is not None:
                result.status = "unchanged"
                if same_bytes != file_name:
                    result.message = (
                        f"{file_name} has the same bytes as {same_bytes}, already loaded"
                    )
                    cur.execute("delete from raw.quarantine where file_name = %s", (file_name,))
                    _record(cur, result)
                pg.commit()
                _tell(on_bytes, inspection.size)
                return result
            layout, result.rows_read = _stage(cur, path, source, inspection.sha256, on_bytes)
            _merge(cur, layout, result)
            _record(cur, result)
        pg.commit()
        return result
    except (BadFile, UnicodeDecodeError, csv.Error, pa.ArrowInvalid) as exc:
        pg.rollback()
        return _reject(pg, source, file_name, inspection, _problem(exc))
    except BaseException:
        pg.rollback()
        raise


def _stage(
    cur: psycopg.Cursor,
    path: Path,
    source: Source,
    sha256: str,
    on_bytes: Callable[[int], None] | None,
) -> tuple[Layout, int]:
    """COPY the file's rows, checked, into the staging table; returns its layout and rows read."""
    with path.open("rb") as handle:
        layout = read_layout(read_header(handle), source)
        handle.seek(0)
        hashing = _HashingReader(handle)
        stream = io.BufferedReader(hashing, buffer_size=_READ_BUFFER)
        cur.execute(merge.create_stage_sql(layout))
        rows = reported = 0
        with cur.copy(merge.copy_sql(layout)) as copy:
            for batch in batches(stream, layout):
                copy.write(merge.stage_rows(batch, layout))
                rows += len(batch) + len(batch.malformed)
                _tell(on_bytes, hashing.position - reported)
                reported = hashing.position
        while stream.read(_READ_BUFFER):
            pass
        _tell(on_bytes, hashing.position - reported)
    if hashing.digest.hexdigest() != sha256:
        raise BadFile(
            "changed while it was being loaded (is it still being written?);"
            " it will be loaded on the next run"
        )
    return layout, rows


def _merge(cur: psycopg.Cursor, layout: Layout, result: FileResult) -> None:
    """Quarantine, update and insert the staged rows, counting each in `result`."""
    params = {
        "source": result.source,
        "file_name": result.file_name,
        "names": list(layout.names),
        "extra_names": [layout.names[i] for i in layout.extras],
    }
    statements = merge.merge_statements(layout)
    cur.execute("delete from raw.quarantine where file_name = %s", (result.file_name,))
    cur.execute(statements["settings"])
    cur.execute(statements["supersede"], params)
    cur.execute(statements["quarantine"], params)
    result.rows_quarantined = cur.rowcount
    cur.execute(statements["update"], params)
    result.rows_updated = cur.rowcount
    cur.execute(statements["insert"], params)
    result.rows_inserted = cur.rowcount
    result.rows_unchanged = result.rows_read - result.rows_quarantined - result.rows_loaded


class _HashingReader(io.RawIOBase):
    """A binary file that hashes what is read through it, to prove the bytes loaded are
    the bytes inspected."""

    def __init__(self, handle: io.BufferedReader):
        self._handle = handle
        self.digest = hashlib.sha256()
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._handle.readinto(buffer)
        self.digest.update(memoryview(buffer)[:n])
        self.position += n
        return n


def _problem(exc: Exception) -> str:
    if isinstance(exc, BadFile):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return "is not UTF-8 text; export it again as CSV UTF-8"
    return f"is not readable as CSV ({exc})"


def _file_with_same_bytes(
    cur: psycopg.Cursor, source: Source, file_name: str, sha256: str
) -> str | None:
    """The loaded file with these bytes, this one first: loading them again would change nothing."""
    cur.execute(
        "select file_name from raw.files"
        " where source = %s and sha256 = %s and status = 'loaded'"
        " order by file_name = %s desc, file_name limit 1",
        (source.name, sha256, file_name),
    )
    row = cur.fetchone()
    return row[0] if row else None


def _reject(
    pg: psycopg.Connection, source: Source, file_name: str, inspection: Inspection, problem: str
) -> FileResult:
    """Record a refused file; the rows an earlier version of it landed stay."""
    result = FileResult(
        file_name, source.name, "rejected", inspection.sha256, inspection.size,
        message=f"{file_name} {problem}",
    )  # fmt: skip
    with pg.cursor() as cur:
        _lock(cur, source)
        cur.execute("select status from raw.files where file_name = %s", (file_name,))
        previous = cur.fetchone()
        if previous and previous[0] == "loaded":
            result.message += "; the rows its earlier version landed stay loaded"
        _record(cur, result)
    pg.commit()
    return result


def _lock(cur: psycopg.Cursor, source: Source) -> None:
    cur.execute(
        "select pg_advisory_xact_lock(%s, %s)", (_LOCK_KEY, list(SOURCES).index(source.name))
    )


def _record(cur: psycopg.Cursor, result: FileResult) -> None:
    cur.execute(
        """
        insert into raw.files (
            file_name, source, sha256, size_bytes, status, rows_read, rows_loaded,
            rows_inserted, rows_updated, rows_unchanged, rows_quarantined, message, loaded_at
        )
        values (
            %(file_name)s, %(source)s, %(sha256)s, %(size_bytes)s, %(status)s, %(rows_read)s,
            %(rows_loaded)s, %(rows_inserted)s, %(rows_updated)s, %(rows_unchanged)s,
            %(rows_quarantined)s, %(message)s, now()
        )
        on conflict (file_name) do update set
            source = excluded.source,
            sha256 = excluded.sha256,
            size_bytes = excluded.size_bytes,
            status = excluded.status,
            rows_read = excluded.rows_read,
            rows_loaded = excluded.rows_loaded,
            rows_inserted = excluded.rows_inserted,
            rows_updated = excluded.rows_updated,
            rows_unchanged = excluded.rows_unchanged,
            rows_quarantined = excluded.rows_quarantined,
            message = excluded.message,
            loaded_at = excluded.loaded_at
        """,
        {
            "file_name": result.file_name,
            "source": result.source,
            "sha256": result.sha256,
            "size_bytes": result.size_bytes,
            "status": result.status,
            "rows_read": result.rows_read,
            "rows_loaded": result.rows_loaded,
            "rows_inserted": result.rows_inserted,
            "rows_updated": result.rows_updated,
            "rows_unchanged": result.rows_unchanged,
            "rows_quarantined": result.rows_quarantined,
            "message": result.message,
        },
    )


def _source(source: str | Source) -> Source:
    if isinstance(source, Source):
        return source
    if source not in SOURCES:
        raise UserError(
            f"{source!r} is not a source of the landing contract ({', '.join(SOURCES)})."
        )
    return SOURCES[source]


def _relative_name(path: Path, inbox_root: Path) -> str:
    try:
        return path.resolve().relative_to(inbox_root.resolve()).as_posix()
    except ValueError:
        raise UserError(f"{path} is not inside the inbox {inbox_root}.") from None


@contextmanager
def _connection(engine: Engine) -> Iterator[psycopg.Connection]:
    """The engine's psycopg connection itself: COPY needs the driver, not SQLAlchemy."""
    pooled = engine.raw_connection()
    try:
        yield pooled.driver_connection
    finally:
        pooled.close()


def _tell(on_bytes: Callable[[int], None] | None, n: int) -> None:
    if on_bytes is not None and n:
        on_bytes(n)


@contextmanager
def _progress_bar(enabled: bool, total_bytes: int) -> Iterator[Callable[[int], None] | None]:
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("landing"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("landing", total=total_bytes)
        yield lambda n: bar.advance(task, n)
