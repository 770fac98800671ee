"""Landing an inbox into the raw schema: every CSV file of every source, one transaction each.

A file lands whole or not at all. Its bytes are checked first (UTF-8, not a spreadsheet,
not empty); then its rows stream through Arrow's CSV reader and the contract's checks
in batches, into a temporary table by COPY, and a few set-based statements
(`ingest.merge`) quarantine the rows that break the contract and insert or update the
others; the file's bookkeeping row in raw.files is written in the same transaction. A
process killed half-way leaves no trace of the file, and the next run loads it again.

Loading is idempotent. A file whose bytes (SHA-256) were already loaded is `unchanged`
and changes no row (under another name, raw.files gains a row saying so). A row already
landed with the same values (row_hash) changes nothing either, whichever file brings
it; a row whose source_record_id is landed with other values is updated to the newer
file's values.

A row of a forgotten person (`dealer360 forget`: its source_record_id was theirs, or it
carries an identifier on the suppression list) lands without its identifying values,
which are removed in the staging table before anything is written (see dealer360.suppression).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
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

from dealer360.db import LockKey
from dealer360.errors import UserError
from dealer360.suppression import Suppression, kept_columns, load_suppression, suppression_version
from ingest import merge
from ingest.contract import PERSON_SOURCES, SOURCES, Source
from ingest.files import Inspection, discover, inspect_bytes
from ingest.parse import BadFile, Layout, batches, read_header, read_layout
from ingest.summary import FileResult, LoadSummary

log = logging.getLogger(__name__)

_READ_BUFFER = 1 << 20


def load_inbox(
    engine: Engine,
    inbox: Path,
    *,
    progress: bool = False,
    workers: int | None = None,
    log_progress: Callable[[str], None] | None = None,
) -> LoadSummary:
    """Land every CSV file of the inbox's source folders and say what happened.

    Which file is "newer": the files of a source change the raw layer one by one in
    order of (modification time, then path relative to the inbox), and when two files
    carry the same source_record_id with different values, the one applied later wins.
    So within a load the file modified later wins, and across loads the later load wins.

    Up to `workers` files (default: one more than the CPUs) are read and staged side by
    side, each on its own connection, while the files before them are being applied.

    Bad files are not exceptions: they are recorded in raw.files as rejected and listed
    in the summary. A missing inbox is a `UserError`.

    `progress` draws a bar on the terminal; `log_progress` hears a line at each tenth of
    the inbox's bytes read (Dagster's run log).
    """
    started = perf_counter()
    inbox = Path(inbox)
    files, ignored = discover(inbox)
    summary = LoadSummary(inbox=inbox, ignored=ignored)
    turns: dict[str, _Turns] = defaultdict(_Turns)
    workers = max(1, min(workers or (os.cpu_count() or 1) + 1, len(files)))
    with (
        _progress_bar(progress, sum(f.size for f in files), log_progress) as advance,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="landing") as pool,
    ):
        # The pool starts tasks in the order they are submitted, so the file whose turn
        # it is has always started: no task waits for one still queued.
        loads = [
            pool.submit(_load, engine, f.path, f.source, f.file_name, advance, turns[f.source.name])
            for f in files
        ]
        summary.files = [load.result() for load in loads]
    summary.seconds = perf_counter() - started
    return summary


def load_file(
    engine: Engine,
    path: Path,
    source: str | Source,
    inbox_root: Path,
    *,
    on_bytes: Callable[[int], None] | None = None,
) -> FileResult:
    """Land one file of `source` in its own transaction; `on_bytes` hears of bytes read."""
    path = Path(path)
    file_name = _relative_name(path, Path(inbox_root))
    return _load(engine, path, _source(source), file_name, on_bytes, _Turns())


class _Turns:
    """The order in which the files of one source change the raw layer.

    Each file takes a ticket when it is queued; it may read and stage its rows at any
    time, but it applies them only once every file with an earlier ticket is done.
    """

    def __init__(self) -> None:
        self._issued = 0
        self._done: set[int] = set()
        self._first_not_done = 0
        self._changed = threading.Condition()

    def take(self) -> int:
        with self._changed:
            self._issued += 1
            return self._issued - 1

    def wait(self, ticket: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._first_not_done >= ticket)

    def done(self, ticket: int) -> None:
        with self._changed:
            self._done.add(ticket)
            while self._first_not_done in self._done:
                self._first_not_done += 1
            self._changed.notify_all()


def _load(
    engine: Engine,
    path: Path,
    source: Source,
    file_name: str,
    on_bytes: Callable[[int], None] | None,
    turns: _Turns,
) -> FileResult:
    started = perf_counter()
    ticket = turns.take()
    try:
        result = _land(engine, path, source, file_name, on_bytes, lambda: turns.wait(ticket))
    finally:
        turns.done(ticket)
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
    engine: Engine,
    path: Path,
    source: Source,
    file_name: str,
    on_bytes: Callable[[int], None] | None,
    my_turn: Callable[[], None],
) -> FileResult:
    """Stage the file, then, in its turn and under the source's lock, apply it."""
    inspection = inspect_bytes(path)
    with _connection(engine) as pg:
        if inspection.problem:
            _tell(on_bytes, inspection.size)
            my_turn()
            return _reject(pg, source, file_name, inspection, inspection.problem)
        result = FileResult(file_name, source.name, "loaded", inspection.sha256, inspection.size)
        try:
            with psycopg.ClientCursor(pg) as cur:
                layout = None
                suppression = load_suppression(cur)
                if _file_with_same_bytes(cur, source, file_name, inspection.sha256) != file_name:
                    layout, result.rows_read = _stage(
                        cur, path, source, inspection.sha256, on_bytes, suppression
                    )
                my_turn()
                _lock(cur, source)
                same_bytes = _file_with_same_bytes(cur, source, file_name, inspection.sha256)
                if same_bytes is not None:
                    _unchanged(cur, result, same_bytes)
                    _tell(on_bytes, inspection.size if layout is None else 0)
                else:
                    reported = layout is not None
                    if reported and _list_changed(cur, suppression):
                        # someone was forgotten meanwhile: check the rows against the new list
                        cur.execute(f"drop table {merge.STAGE}")
                        layout = None
                    if layout is None:  # its bytes were replaced in raw.files meanwhile
                        suppression = load_suppression(cur)
                        layout, result.rows_read = _stage(
                            cur,
                            path,
                            source,
                            inspection.sha256,
                            None if reported else on_bytes,
                            suppression,
                        )
                    _merge(cur, layout, result)
                    _record(cur, result)
            pg.commit()
            return result
        except (BadFile, UnicodeDecodeError, csv.Error, pa.ArrowInvalid) as exc:
            pg.rollback()
            my_turn()
            return _reject(pg, source, file_name, inspection, _problem(exc))
        except BaseException:
            pg.rollback()
            raise


def _unchanged(cur: psycopg.Cursor, result: FileResult, same_bytes: str) -> None:
    """A file whose bytes are already loaded: nothing to do, or only to say so under its name."""
    result.status = "unchanged"
    result.rows_read = 0
    if same_bytes != result.file_name:
        result.message = f"{result.file_name} has the same bytes as {same_bytes}, already loaded"
        cur.execute("delete from raw.quarantine where file_name = %s", (result.file_name,))
        _record(cur, result)


def _list_changed(cur: psycopg.Cursor, suppression: Suppression | None) -> bool:
    """Whether the suppression list changed since the file was staged."""
    return suppression_version(cur) != (suppression.version if suppression else (0, ""))


def _stage(
    cur: psycopg.Cursor,
    path: Path,
    source: Source,
    sha256: str,
    on_bytes: Callable[[int], None] | None,
    suppression: Suppression | None = None,
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
                copy.write(merge.stage_rows(batch, layout, suppression))
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


def _merge(cur: psycopg.ClientCursor, layout: Layout, result: FileResult) -> None:
    """Quarantine, update and insert the staged rows, counting each in `result`."""
    params = {
        "source": result.source,
        "file_name": result.file_name,
        "names": list(layout.names),
        "extra_names": [layout.names[i] for i in layout.extras],
        "kept": kept_columns(result.source) if result.source in PERSON_SOURCES else [],
    }
    statements = merge.merge_statements(layout)
    counts = dict(zip(statements, _run(cur, statements.values(), params), strict=True))
    result.rows_quarantined = counts["quarantine"]
    result.rows_updated = counts["update"]
    result.rows_inserted = counts["insert"]
    result.rows_suppressed = counts["suppress"]
    if result.rows_suppressed:
        result.message = (
            f"{result.rows_suppressed:,} rows of forgotten people landed without their"
            " identifying values"
        )
    result.rows_unchanged = result.rows_read - result.rows_quarantined - result.rows_loaded


def _run(cur: psycopg.ClientCursor, statements: Iterable[str], params: dict) -> list[int]:
    """Run statements in one round trip (parameters bound by psycopg); their rowcounts."""
    cur.execute(";\n".join(cur.mogrify(statement, params) for statement in statements))
    counts = [cur.rowcount]
    while cur.nextset():
        counts.append(cur.rowcount)
    return counts


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
        "select pg_advisory_xact_lock(%s, %s)", (LockKey.LANDING, list(SOURCES).index(source.name))
    )


def _record(cur: psycopg.Cursor, result: FileResult) -> None:
    cur.execute(
        """
        insert into raw.files (
            file_name, source, sha256, size_bytes, status, rows_read, rows_loaded,
            rows_inserted, rows_updated, rows_unchanged, rows_quarantined, rows_suppressed,
            message, loaded_at
        )
        values (
            %(file_name)s, %(source)s, %(sha256)s, %(size_bytes)s, %(status)s, %(rows_read)s,
            %(rows_loaded)s, %(rows_inserted)s, %(rows_updated)s, %(rows_unchanged)s,
            %(rows_quarantined)s, %(rows_suppressed)s, %(message)s, now()
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
            rows_suppressed = excluded.rows_suppressed,
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
            "rows_suppressed": result.rows_suppressed,
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
def _progress_bar(
    enabled: bool, total_bytes: int, log_progress: Callable[[str], None] | None
) -> Iterator[Callable[[int], None] | None]:
    """Yields `advance(bytes)` (called from the loading threads) when anyone listens."""
    if not enabled and log_progress is None:
        yield None
        return
    columns = (
        TextColumn("landing"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    bar = Progress(*columns, transient=True) if enabled else None
    task = bar.add_task("landing", total=total_bytes) if bar else None
    counted = threading.Lock()
    done = 0
    logged_tenth = 0

    def advance(n: int) -> None:
        nonlocal done, logged_tenth
        if bar is not None:
            bar.advance(task, n)
        if log_progress is None:
            return
        with counted:
            done += n
            tenth = done * 10 // max(total_bytes, 1)
            if tenth <= logged_tenth:
                return
            logged_tenth = tenth
        log_progress(f"landing: {done / 1e6:,.1f} of {total_bytes / 1e6:,.1f} MB read")

    with bar or nullcontext():
        yield advance
