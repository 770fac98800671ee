"""The Spark engine against the in-process one: the same customers, and the time and memory
of resolve on `local[1]` and `local[2]` beside in-process.

    .venv/bin/python benchmarks/spark_scaling.py --people 3000 --seeds 1 2 3 --febrl
    .venv/bin/python benchmarks/spark_scaling.py --people 30000 --seeds 42

Per (people, seed): a generated inbox is landed once into a database of one embedded
server (`--work`/home); each engine then resolves a copy of that database in full, in a
process of its own: `in-process`, or a Spark session on the master given (`local[1]`,
`local[2]`, …) with `--spark-conf` (default spark.driver.memory=2g: in local mode the
driver's JVM is also the executor, so that is the cap on Spark's heap). Reported per run:
the session's start, resolve's time and steps, the peak RSS of the Python process, of the
JVM and Python workers under it, and of the whole tree (sampled every 0.2 s), and whether
resolve.customer_source_map, match_evidence and review_queue are the in-process run's bytes
(md5 over each table's rows in a fixed order); each Spark run's row also carries the
backend's own log ("spark log": blocking, comparing, each connected-components call with its
rounds and seconds). `--febrl` also links FEBRL3 and FEBRL4 on
each Spark master and compares pairs, levels, clusters and probabilities with in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PYTHON = sys.executable
DEALER360 = str(Path(PYTHON).with_name("dealer360"))

# What the dashboard and exports read of resolve.*, each in a total order.
TABLES = {
    "resolve.customer_source_map": "source, source_record_id, customer_id, match_probability",
    "resolve.match_evidence": "source_a, source_record_id_a, source_b, source_record_id_b,"
    " customer_id, match_probability, match_weight, evidence::text",
    "resolve.review_queue": "source_a, source_record_id_a, source_b, source_record_id_b,"
    " customer_id_a, customer_id_b, match_probability, match_weight, evidence::text",
}


class PeakRss:
    """Peak RSS of this process, of its descendants (Spark's JVM and its Python workers) and
    of both together, sampled every 0.2 s on a thread."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.peak = {"python": 0, "children": 0, "total": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

        mine = self.me.memory_info().rss
        children = 0
        for child in self.me.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # gone between listing and reading
                children += child.memory_info().rss
        for key, value in (("python", mine), ("children", children), ("total", mine + children)):
            self.peak[key] = max(self.peak[key], value)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> PeakRss:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def gib(self) -> dict[str, float]:
        return {f"peak RSS {k} GiB": round(v / 2**30, 2) for k, v in self.peak.items()}


class _SparkLog(logging.Handler):
    """The Spark backend's own timings (blocking, comparing, each components call)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "DEALER360_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    return env


def _child(home: Path, *args: str) -> dict:
    """Run a step in a process of its own; its stderr (Spark's log among it) goes to a file
    beside the home, whose last lines are shown when the step fails."""
    log = home.parent / (re.sub(r"[^\w.-]+", "", "-".join(args[:3])) + ".stderr")
    with log.open("w") as err:
        done = subprocess.run(
            [PYTHON, __file__, *args], env=_env(home), stdout=subprocess.PIPE, stderr=err, text=True
        )
    if done.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:])
        raise SystemExit(f"{' '.join(args)} failed (exit {done.returncode}); {log}:\n{tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _land_here(inbox: str, name: str) -> None:
    """(child) land `inbox` into a new database `name` on the home's server."""
    from dealer360 import db
    from ingest.loader import load_inbox

    url = db.create_database(db.database_url(), name)
    engine = db.get_engine(url)
    db.migrate(engine)
    t = time.perf_counter()
    load_inbox(engine, Path(inbox))
    engine.dispose()
    print(json.dumps({"landing s": round(time.perf_counter() - t, 1)}))


def _table_hashes(engine) -> dict[str, str]:
    import sqlalchemy as sa

    hashes = {}
    with engine.connect() as conn:
        for table, columns in TABLES.items():
            hashes[table] = conn.scalar(
                sa.text(
                    f"select md5(string_agg(md5(row({columns})::text), '' order by {columns}))"
                    f" from {table}"
                )
            )
    return hashes


def _resolve_here(landed: str, where: str, conf: list[str]) -> None:
    """(child) resolve a copy of database `landed` in full on `where`; print the figures."""
    from dealer360 import db
    from entity_resolution import resolve
    from entity_resolution.engine import IN_PROCESS
    from entity_resolution.spark import spark_backend

    spark_log = _SparkLog()
    logging.getLogger("entity_resolution.spark").addHandler(spark_log)
    logging.getLogger("entity_resolution.spark").setLevel(logging.INFO)
    server = db.database_url()
    name = f"r_{uuid.uuid4().hex[:12]}"
    engine = db.get_engine(db.create_database(server, name, template=landed))
    figures: dict = {"engine": where, "load before": round(os.getloadavg()[0], 2)}
    settings = dict(item.split("=", 1) for item in conf)
    try:
        with PeakRss() as rss:
            t = time.perf_counter()
            with (
                contextlib.nullcontext(IN_PROCESS)
                if where == "in-process"
                else spark_backend(where, settings)
            ) as backend:
                figures["session start s"] = round(time.perf_counter() - t, 1)
                t = time.perf_counter()
                summary = resolve(engine, backend=backend, full=True)
                figures["resolve s"] = round(time.perf_counter() - t, 1)
        figures |= rss.gib()
        figures["load after"] = round(os.getloadavg()[0], 2)
        figures |= {
            "records": summary.records,
            "customers": summary.customers,
            "candidate pairs": sum(summary.pairs_per_blocking_rule.values()),
            "steps": summary.timings,
            "tables": _table_hashes(engine),
            "spark log": spark_log.lines,
        }
    finally:
        engine.dispose()
        db.drop_database(server, name)
    print(json.dumps(figures, default=str))


def _febrl_here(master: str, conf: list[str]) -> None:
    """(child) FEBRL3 and FEBRL4 linked in process and on `master`: the same results?"""
    import numpy as np

    from entity_resolution.engine import link
    from entity_resolution.evaluation import febrl
    from entity_resolution.spark import spark_backend

    rows = []
    with spark_backend(master, dict(item.split("=", 1) for item in conf)) as backend:
        for which in ("febrl3", "febrl4"):
            records, settings = febrl(which)
            t = time.perf_counter()
            expected = link(records, settings)
            t_in = time.perf_counter() - t
            t = time.perf_counter()
            got = link(records, settings, backend=backend)
            t_spark = time.perf_counter() - t
            same = all(
                np.array_equal(a, b)
                for a, b in [
                    (got.candidates.left, expected.candidates.left),
                    (got.candidates.right, expected.candidates.right),
                    (got.compared.levels, expected.compared.levels),
                    (got.record_cluster, expected.record_cluster),
                    (got.record_probability, expected.record_probability),
                    (got.review, expected.review),
                ]
            )
            rows.append(
                {
                    "data": which,
                    "master": master,
                    "records": len(records),
                    "pairs": len(expected.candidates.left),
                    "in-process link s": round(t_in, 1),
                    "spark link s": round(t_spark, 1),
                    "identical": same,
                }
            )
    print(json.dumps(rows))


def one_inbox(args, people: int, seed: int, home: Path) -> list[dict]:
    inbox = args.work / f"inbox-{people}-{seed}"
    if not inbox.exists():
        subprocess.run(
            [DEALER360, "generate", "--out", str(inbox), "--people", str(people),
             "--seed", str(seed)],
            check=True,
            capture_output=True,
        )  # fmt: skip
    landed = f"landed_{people}_{seed}_{uuid.uuid4().hex[:6]}"
    _child(home, "_land", str(inbox), landed)
    rows = []
    for where in args.engines:
        row = {
            "people": people,
            "seed": seed,
            **_child(home, "_resolve", landed, where, *args.spark_conf),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    reference = next((r["tables"] for r in rows if r["engine"] == "in-process"), None)
    for row in rows:
        row["same tables as in-process"] = (
            None if reference is None else row.pop("tables") == reference
        )
    subprocess.run(
        [PYTHON, __file__, "_drop", landed], env=_env(home), check=True, capture_output=True
    )
    return rows


def main() -> None:
    if sys.argv[1:2] == ["_land"]:
        return _land_here(sys.argv[2], sys.argv[3])
    if sys.argv[1:2] == ["_resolve"]:
        return _resolve_here(sys.argv[2], sys.argv[3], sys.argv[4:])
    if sys.argv[1:2] == ["_febrl"]:
        return _febrl_here(sys.argv[2], sys.argv[3:])
    if sys.argv[1:2] == ["_drop"]:
        from dealer360 import db

        return db.drop_database(db.database_url(), sys.argv[2])
    if sys.argv[1:2] == ["_stop"]:
        from dealer360 import db

        db.stop_embedded_server()
        return None
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[3000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--engines", nargs="+", default=["in-process", "local[1]", "local[2]"],
        help="in-process and Spark masters",
    )  # fmt: skip
    parser.add_argument(
        "--spark-conf", nargs="*", default=["spark.driver.memory=2g"], help="Spark settings k=v"
    )
    parser.add_argument("--febrl", action="store_true", help="also FEBRL3/4 on each master")
    parser.add_argument("--work", type=Path, help="inboxes and the database home (kept)")
    args = parser.parse_args()
    args.work = args.work or Path(tempfile.mkdtemp(prefix="spark-scaling-"))
    home = args.work / "home"
    rows = []
    try:
        for people in args.people:
            for seed in args.seeds:
                rows += one_inbox(args, people, seed, home)
        febrl_rows = []
        if args.febrl:
            for master in [e for e in args.engines if e != "in-process"]:
                febrl_rows += _child(home, "_febrl", master, *args.spark_conf)
    finally:
        subprocess.run([PYTHON, __file__, "_stop"], env=_env(home), check=False)
    table = pd.DataFrame(rows).drop(columns=["steps", "spark log"])
    print(table.to_markdown(index=False))
    if febrl_rows:
        print(pd.DataFrame(febrl_rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
