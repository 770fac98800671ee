"""A load killed half-way (kill -9) leaves nothing half-done, and running it again converges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from dealer360 import db
from ingest.contract import SOURCES
from ingest.loader import load_inbox

VIN = "1HGCM82633A004352"
BIG_ROWS = 200_000
LOAD = "import sys; from pathlib import Path; from dealer360.db import get_engine; from ingest.loader import load_inbox; load_inbox(get_engine(), Path(sys.argv[1]))"


def write_inbox(inbox: Path) -> None:
    """A small file of each of two sources, then a big sales file modified last."""
    (inbox / "dealers").mkdir(parents=True)
    (inbox / "dealer_sales").mkdir()
    (inbox / "dealers" / "d.csv").write_text("dealer_code,dealer_name,brands\nD01,Alpha,Honda\n")
    small = inbox / "dealer_sales" / "a.csv"
    small.write_text(
        f"dealer_code,deal_id,deal_date,first_name,vin\nD01,1,2024-01-02,Ann,{VIN}\nD01,X,bad,Bob,{VIN}\n"
    )
    big = inbox / "dealer_sales" / "b.csv"
    with big.open("w") as out:
        out.write(
            "dealer_code,deal_id,deal_date,first_name,last_name,email,phone,city,vin,sale_price\n"
        )
        for i in range(BIG_ROWS):
            date = "2024-13-01" if i % 1000 == 7 else f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
            out.write(
                f"D{i % 40:02d},{i},{date},Jean{i},Tremblay,jean{i}@example.com,"
                f"514-555-{i % 10000:04d},Montréal,{VIN},{i % 50000}.{i % 100:02d}\n"
            )
    for i, path in enumerate([inbox / "dealers" / "d.csv", small, big]):
        os.utime(path, (1_000 + i, 1_000 + i))


def landed(engine) -> dict[str, list[tuple]]:
    """Every raw table without its timestamps (they differ from one load to the next)."""
    contents = {}
    with engine.connect() as conn:
        for table in [*SOURCES, "files", "quarantine"]:
            columns = conn.scalars(
                sa.text(
                    "select column_name from information_schema.columns"
                    " where table_schema = 'raw' and table_name = :t"
                    " and data_type not like 'timestamp%' order by ordinal_position"
                ),
                {"t": table},
            ).all()
            listed = ", ".join(columns)
            contents[table] = [
                tuple(row)
                for row in conn.execute(sa.text(f"select {listed} from raw.{table} order by 1, 2"))
            ]
    return contents


def copied_so_far(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            sa.text(
                "select coalesce(max(tuples_processed), 0) from pg_stat_progress_copy"
                " where datname = current_database()"
            )
        )


@pytest.fixture
def undisturbed_engine(template_url):
    """A second fresh database, for the same inbox loaded without interruption."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = db.create_database(template_url, name, template=template_url.database)
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()
    db.drop_database(template_url, name)


@pytest.mark.slow
def test_a_load_killed_mid_copy_leaves_nothing_half_done_and_a_rerun_converges(
    engine, undisturbed_engine, tmp_path
):
    inbox = tmp_path / "inbox"
    write_inbox(inbox)
    loader = subprocess.Popen([sys.executable, "-c", LOAD, str(inbox)], env=os.environ.copy())
    deadline = time.monotonic() + 120
    while copied_so_far(engine) < 50_000:
        assert loader.poll() is None, "the load finished before it could be killed"
        assert time.monotonic() < deadline, "the big file never started copying"
        time.sleep(0.02)
    loader.send_signal(signal.SIGKILL)
    loader.wait()

    after_kill = landed(engine)
    # The files committed before the kill are whole; the big one left no trace.
    assert [row[0] for row in after_kill["files"]] == ["dealer_sales/a.csv", "dealers/d.csv"]
    assert [row[0] for row in after_kill["dealer_sales"]] == ["D01:1"]
    assert [row[:2] for row in after_kill["quarantine"]] == [("dealer_sales", "dealer_sales/a.csv")]

    rerun = load_inbox(engine, inbox)
    load_inbox(undisturbed_engine, inbox)

    assert [(f.file_name, f.status) for f in rerun.files] == [
        ("dealers/d.csv", "unchanged"),
        ("dealer_sales/a.csv", "unchanged"),
        ("dealer_sales/b.csv", "loaded"),
    ]
    assert rerun.result("dealer_sales/b.csv").rows_quarantined == BIG_ROWS // 1000
    assert landed(engine) == landed(undisturbed_engine)
