"""How fast does an inbox land, and in how much memory?

    .venv/bin/python benchmarks/landing_speed.py --people 30000
    .venv/bin/python benchmarks/landing_speed.py --inbox path/to/inbox --workers 2

Writes a sample inbox with the generator (in a child process, so its memory does not count;
kept in benchmarks/out/ and reused), loads it into a fresh, migrated database on the
server in use (DATABASE_URL, or the embedded one), then loads it again (every file
unchanged). Prints rows per second, CPU seconds (this process, and the database backends
of the benchmark) and this process's peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dealer360 import db  # noqa: E402
from ingest.loader import load_inbox  # noqa: E402

console = Console()


def sample_inbox(people: int, seed: int) -> Path:
    inbox = ROOT / "benchmarks" / "out" / f"inbox-{people}-people-seed-{seed}"
    done = inbox / ".complete"
    if not done.exists():
        console.print(f"writing a sample inbox of {people:,} people to {inbox} …")
        code = (
            "import sys; from pathlib import Path; from generator import generate_inbox;"
            "generate_inbox(Path(sys.argv[1]), people=int(sys.argv[2]), seed=int(sys.argv[3]))"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(inbox), str(people), str(seed)], check=True, cwd=ROOT
        )
        done.touch()
    return inbox


def backend_cpu_seconds(monitor: sa.Engine) -> float | None:
    """CPU time of the server processes serving this database, when they run on this machine.

    `monitor` must not share the loader's pool, or it would hide one of its connections."""
    with monitor.connect() as conn:
        pids = conn.scalars(
            sa.text(
                "select pid from pg_stat_activity where datname = current_database()"
                " and pid <> pg_backend_pid()"
            )
        ).all()
    total = 0.0
    try:
        for pid in pids:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    except psutil.Error:
        return None
    return total


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_load(engine: sa.Engine, monitor: sa.Engine, inbox: Path, workers: int | None) -> dict:
    server_before = backend_cpu_seconds(monitor) or 0.0
    cpu_before = time.process_time()
    started = time.perf_counter()
    summary = load_inbox(engine, inbox, workers=workers)
    wall = time.perf_counter() - started
    server_after = backend_cpu_seconds(monitor)
    return {
        "summary": summary,
        "wall": wall,
        "client_cpu": time.process_time() - cpu_before,
        "server_cpu": None if server_after is None else server_after - server_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--inbox", type=Path, help="an existing inbox instead of a generated one")
    parser.add_argument("--workers", type=int, help="files staged side by side (default: CPUs + 1)")
    args = parser.parse_args()

    inbox = args.inbox or sample_inbox(args.people, args.seed)
    server = db.database_url().set(database="postgres")
    name = f"landing_bench_{uuid.uuid4().hex[:8]}"
    url = db.create_database(server, name)
    engine = sa.create_engine(url, pool_size=8)
    monitor = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        db.migrate(engine)
        import pyarrow.compute  # noqa: F401  (imported before timing: a one-off cost)

        baseline = peak_rss_mb()
        first = timed_load(engine, monitor, inbox, args.workers)
        peak = peak_rss_mb()
        again = timed_load(engine, monitor, inbox, args.workers)
        with engine.connect() as conn:
            landed = conn.scalar(
                sa.text(
                    "select (select count(*) from raw.dealers) + (select count(*) from raw.dealer_sales)"
                    " + (select count(*) from raw.service_orders)"
                    " + (select count(*) from raw.oem_registrations) + (select count(*) from raw.crm_leads)"
                )
            )
    finally:
        engine.dispose()
        monitor.dispose()
        db.drop_database(server, name)

    summary = first["summary"]
    console.print(summary.render())
    rows = summary.total.rows_read
    size = sum(f.size_bytes for f in summary.files) / 1e6
    table = Table(title="landing speed", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row(
        "machine", f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}"
    )
    table.add_row("inbox", f"{inbox} ({len(summary.files)} files, {size:,.1f} MB)")
    table.add_row("rows read / landed", f"{rows:,} / {landed:,}")
    table.add_row("first load", f"{first['wall']:.2f} s")
    table.add_row("rows per second", f"{rows / first['wall']:,.0f}")
    table.add_row("CPU: this process", f"{first['client_cpu']:.2f} s")
    server_cpu = first["server_cpu"]
    table.add_row("CPU: database backends", "n/a" if server_cpu is None else f"{server_cpu:.2f} s")
    table.add_row("peak memory (RSS)", f"{peak:,.0f} MB ({peak - baseline:+,.0f} MB while loading)")
    table.add_row("second load (all unchanged)", f"{again['wall']:.2f} s")
    console.print(table)


if __name__ == "__main__":
    main()
