"""End to end: generate an inbox, then land, resolve and model it with `dealer360 run`.

Each size runs in a fresh DEALER360_HOME (its own embedded PostgreSQL), as a user would.
Prints wall seconds, seconds per stage (from raw.pipeline_runs) and the peak resident memory
of the `dealer360 run` process (GNU time's maximum RSS; PostgreSQL's own processes are apart).

    .venv/bin/python benchmarks/end_to_end.py --people 3000 30000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def run_size(people: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"e2e-{people}-") as tmp:
        env = {**os.environ, "DEALER360_HOME": str(Path(tmp) / "home")}
        env.pop("DATABASE_URL", None)
        inbox = Path(tmp) / "inbox"
        subprocess.run(
            [BIN / "dealer360", "generate", "--out", inbox, "--people", str(people), "--seed", str(seed)],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        rows = sum(max(0, sum(1 for _ in p.open("rb")) - 1) for p in inbox.glob("*/*.csv"))
        started = time.perf_counter()
        result = subprocess.run(
            ["/usr/bin/time", "-v", BIN / "dealer360", "run", "--inbox", inbox],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
        peak_kb = int(
            re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)
        )
        url = subprocess.run(
            [BIN / "dealer360", "db", "url"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        import sqlalchemy as sa

        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            summary = conn.scalar(
                sa.text("select summary from raw.pipeline_runs order by started_at desc limit 1")
            )
        engine.dispose()
        subprocess.run([BIN / "dealer360", "db", "stop"], env=env, capture_output=True)
        return {
            "people": people,
            "rows": rows,
            "exit": result.returncode,
            "wall_s": round(wall, 1),
            "stages_s": {
                k: round(v, 1) for k, v in (summary or {}).get("stage_seconds", {}).items()
            },
            "peak_rss_mib": round(peak_kb / 1024),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[3000])
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    for people in args.people:
        print(json.dumps(run_size(people, args.seed)), flush=True)


if __name__ == "__main__":
    main()
