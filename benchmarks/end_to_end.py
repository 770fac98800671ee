"""End to end: generate an inbox, then land, resolve and model it with `dealer360 run`.

Each size runs in a fresh DEALER360_HOME (its own embedded PostgreSQL), as a user would.
Prints wall seconds, seconds per stage (from raw.pipeline_runs), the peak resident memory of
the `dealer360 run` process (GNU time's maximum RSS) and the peak of everything the run costs
the machine: the proportional set size (PSS, shared pages split between the processes that
share them) of the run's process tree plus the PostgreSQL server's processes, sampled twice a
second from /proc.

    .venv/bin/python benchmarks/end_to_end.py --people 3000 30000
    .venv/bin/python benchmarks/end_to_end.py --people 300000 --workdir /work/bench-data

`--workdir` keeps the generated inboxes there (generating 300k people takes minutes, and the
same inbox should serve several runs) and leaves the last home's database in place, stopped,
for the dashboard benchmarks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:  # the process ended between listing and reading
        return 0
    match = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _tree(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def _server_pids(home: Path) -> set[int]:
    """The postmaster started for `home` (its pid is the first line of postmaster.pid) and
    its children: every backend, the checkpointer, the WAL writer."""
    pid_file = home / "pgdata" / "postmaster.pid"
    try:
        return _tree(int(pid_file.read_text().splitlines()[0]))
    except (OSError, ValueError, IndexError):
        return set()


class PeakMemory(threading.Thread):
    """Samples the PSS of a process tree plus the home's PostgreSQL until stopped."""

    def __init__(self, pid: int, home: Path) -> None:
        super().__init__(daemon=True)
        self.pid, self.home, self.peak_kib = pid, home, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.5):
            pids = _tree(self.pid) | _server_pids(self.home)
            self.peak_kib = max(self.peak_kib, sum(_pss_kib(p) for p in pids))

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak_kib


def _inbox(people: int, seed: int, workdir: Path, env: dict) -> Path:
    inbox = workdir / f"inbox-{people}-{seed}"
    if not (inbox / "truth.csv").exists():
        shutil.rmtree(inbox, ignore_errors=True)
        subprocess.run(
            [BIN / "dealer360", "generate", "--out", inbox, "--people", str(people), "--seed", str(seed)],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
    return inbox


def run_size(people: int, seed: int, workdir: Path) -> dict:
    home = workdir / f"home-{people}"
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "DEALER360_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    inbox = _inbox(people, seed, workdir, env)
    rows = sum(max(0, sum(1 for _ in p.open("rb")) - 1) for p in inbox.glob("*/*.csv"))
    started = time.perf_counter()
    process = subprocess.Popen(
        ["/usr/bin/time", "-v", BIN / "dealer360", "run", "--inbox", inbox],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    sampler = PeakMemory(process.pid, home)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    peak_total_kib = sampler.stop()
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1))
    url = subprocess.run(
        [BIN / "dealer360", "db", "url"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        summary = conn.scalar(
            sa.text("select summary from raw.pipeline_runs order by started_at desc limit 1")
        )
        customers = conn.scalar(sa.text("select count(*) from marts.customers"))
    engine.dispose()
    subprocess.run([BIN / "dealer360", "db", "stop"], env=env, capture_output=True)
    return {
        "people": people,
        "rows": rows,
        "customers": customers,
        "exit": process.returncode,
        "wall_s": round(wall, 1),
        "stages_s": {k: round(v, 1) for k, v in (summary or {}).get("stage_seconds", {}).items()},
        "peak_rss_run_mib": round(peak_kb / 1024),
        "peak_pss_total_mib": round(peak_total_kib / 1024),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[3000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, help="Keep inboxes and the last home here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="e2e-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for people in args.people:
            print(json.dumps(run_size(people, args.seed, workdir)), flush=True)


if __name__ == "__main__":
    main()
