"""A day's delta: an incremental run against a full run from scratch on the same data.

    .venv/bin/python benchmarks/incremental.py --people 3000 --seeds 1 2 3
    .venv/bin/python benchmarks/incremental.py --people 30000 --seeds 42 --end-to-end

Per seed: a generated inbox is split by record date (the contract's record_date of each
person source): the newest `--delta` share of rows (1 % by default) goes to new files
beside the old ones (`<file>_delta.csv`, the next day's export). Home A lands the rest and
runs in full, then lands the delta files and runs again (incremental by default). Home B
lands everything and runs in full: what the same data gives from scratch. Reported: the
time of each run, how many records the increment re-clustered, and pairwise F1 of A and
B against the generator's truth, with the share of records whose customer differs.

Without `--end-to-end` each run is landing + resolve in one process (what the matching
costs); with it, `dealer360 run` (landing, resolve, dbt: what a nightly run costs), with
each run's stage seconds and the peak memory of its process tree and its PostgreSQL
together (PSS, as `benchmarks/end_to_end.py` samples it). `--no-scratch` leaves out home B
(at 300k people a second home needs another ~15 GB of disk and half an hour).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.end_to_end import PeakMemory  # noqa: E402
from entity_resolution.evaluation import quality  # noqa: E402
from ingest.contract import PERSON_SOURCES, SOURCES  # noqa: E402

PYTHON = sys.executable
DEALER360 = str(Path(PYTHON).with_name("dealer360"))


def _read(path: Path) -> tuple[pd.DataFrame, str] | None:
    """A CSV as text, with the encoding that reads it; None when it does not parse (a
    hostile file stays whole in the base)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
            return frame, encoding
        except (UnicodeDecodeError, pd.errors.ParserError):
            continue
    return None


def split_inbox(full: Path, base: Path, delta: Path, share: float) -> int:
    """Copy `full` to `base` without its newest `share` of person rows, which go to
    `delta` as files of their own; returns the rows moved."""
    shutil.copytree(full, base)
    dated = []
    for name in PERSON_SOURCES:
        column = SOURCES[name].record_date
        for path in sorted((base / name).glob("*.csv")):
            read = _read(path)
            if read is None or column not in read[0].columns:
                continue
            frame, encoding = read
            when = pd.to_datetime(frame[column], errors="coerce", utc=True, format="mixed")
            dated.append((path, frame, encoding, when))
    if not dated:
        return 0
    cutoff = pd.concat([w for *_, w in dated]).dropna().quantile(1 - share)
    moved = 0
    for path, frame, encoding, when in dated:
        newest = (when > cutoff).to_numpy()
        if not newest.any():
            continue
        out = delta / path.parent.name / f"{path.stem}_delta.csv"
        out.parent.mkdir(parents=True, exist_ok=True)
        frame[newest].to_csv(out, index=False, encoding=encoding)
        frame[~newest].to_csv(path, index=False, encoding=encoding)
        moved += int(newest.sum())
    return moved


def _phase(home: Path, inbox: Path, full: bool, end_to_end: bool) -> dict:
    """One run on `home` in its own process; its wall time and resolve's summary."""
    env = {**os.environ, "DEALER360_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    t = time.perf_counter()
    if end_to_end:
        command = [DEALER360, "run", "--inbox", str(inbox), *(["--full"] if full else [])]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        sampler = PeakMemory(process.pid, home)
        sampler.start()
        stdout, stderr = process.communicate()
        peak_kib = sampler.stop()
        wall = round(time.perf_counter() - t, 1)
        if process.returncode:
            raise SystemExit(f"dealer360 run failed ({process.returncode}):\n{stderr[-3000:]}")
        out = subprocess.run(
            [PYTHON, __file__, "_last-run"], env=env, check=True, capture_output=True, text=True
        ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        figures["wall"] = wall
        figures["peak_pss_mib"] = round(peak_kib / 1024)
        print(json.dumps(figures), file=sys.stderr, flush=True)
        return figures
    else:
        command = [PYTHON, __file__, "_resolve", str(inbox), *(["--full"] if full else [])]
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    figures = json.loads(out.strip().splitlines()[-1])
    figures["wall"] = round(time.perf_counter() - t, 1)
    return figures


def _map(home: Path) -> pd.DataFrame:
    env = {**os.environ, "DEALER360_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    with tempfile.NamedTemporaryFile(suffix=".csv") as f:
        subprocess.run(
            [DEALER360, "export", "links", "--out", f.name],
            env=env,
            check=True,
            capture_output=True,
        )
        return pd.read_csv(f.name, dtype=str)


def _stop(home: Path) -> None:
    env = {**os.environ, "DEALER360_HOME": str(home)}
    subprocess.run([PYTHON, __file__, "_stop"], env=env, check=False, capture_output=True)


def one_seed(args, seed: int, work: Path) -> dict:
    full_inbox, base, delta = work / "full", work / "base", work / "delta"
    subprocess.run(
        [DEALER360, "generate", "--out", str(full_inbox), "--people", str(args.people),
         "--seed", str(seed), "--mess", str(args.mess)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    moved = split_inbox(full_inbox, base, delta, args.delta)
    truth = pd.read_csv(full_inbox / "truth.csv", dtype=str)
    home_a, home_b = work / "home-a", work / "home-b"
    first = _phase(home_a, base, full=False, end_to_end=args.end_to_end)
    keys = ["source", "source_record_id"]
    before = truth.merge(_map(home_a), on=keys)
    q_first = quality(before["customer_id"].to_numpy(), before["person_id"].to_numpy())
    shutil.copytree(delta, base, dirs_exist_ok=True)  # the next day's files arrive
    increment = _phase(home_a, base, full=False, end_to_end=args.end_to_end)
    rerun = _phase(home_a, base, full=False, end_to_end=args.end_to_end)
    runs = {
        "seed": seed,
        "delta rows": moved,
        "first run s": first["wall"],
        "increment s": increment["wall"],
        "increment share": round(increment["wall"] / first["wall"], 3),
        "increment mode": increment.get("mode"),
        "changed records": increment.get("changed_records"),
        "re-clustered records": increment.get("relinked_records"),
        "rerun s": rerun["wall"],
        "rerun mode": rerun.get("mode"),
    }
    if args.end_to_end:
        runs.update(
            {
                f"{name} {what}": figures.get(key)
                for name, figures in (("first run", first), ("increment", increment))
                for what, key in (("stages s", "stages"), ("peak MiB", "peak_pss_mib"))
            }
        )
    if args.no_scratch:
        a = _map(home_a)
        _stop(home_a)
        joined = truth.merge(a, on=keys)
        q_a = quality(joined["customer_id"].to_numpy(), joined["person_id"].to_numpy())
        return {
            **runs,
            "records": len(joined),
            "F1 first run (its records)": round(q_first.f1, 4),
            "F1 incremental": round(q_a.f1, 4),
        }
    scratch = _phase(home_b, base, full=True, end_to_end=args.end_to_end)
    a, b = _map(home_a), _map(home_b)
    _stop(home_a)
    _stop(home_b)
    joined = truth.merge(a, on=keys).merge(b, on=keys, suffixes=("_a", "_b"))
    q_a = quality(joined["customer_id_a"].to_numpy(), joined["person_id"].to_numpy())
    q_b = quality(joined["customer_id_b"].to_numpy(), joined["person_id"].to_numpy())
    # Customer IDs differ between homes; compare the partitions through the pairs.
    agree = quality(joined["customer_id_a"].to_numpy(), joined["customer_id_b"].to_numpy())
    return {
        **runs,
        "records": len(joined),
        "from scratch s": scratch["wall"],
        "F1 first run (its records)": round(q_first.f1, 4),
        "F1 incremental": round(q_a.f1, 4),
        "F1 from scratch": round(q_b.f1, 4),
        "F1 difference": round(q_a.f1 - q_b.f1, 4),
        "pairwise F1 of one against the other": round(agree.f1, 4),
    }


def _resolve_here(inbox: str, full: bool) -> None:
    """(child process) land `inbox` and resolve; print resolve's summary as JSON."""
    from dealer360 import db
    from entity_resolution import resolve
    from ingest.loader import load_inbox

    engine = db.connect_checked()
    db.migrate(engine)
    load_inbox(engine, Path(inbox))
    summary = resolve(engine, full=full)
    print(json.dumps(summary.as_metadata()))


def _last_run() -> None:
    """(child process) what the last `dealer360 run` said of its resolve stage, as JSON (a
    run that found nothing new writes no resolve.runs row, so it is read from the run)."""
    import sqlalchemy as sa

    from dealer360 import db

    with db.connect_checked().connect() as conn:
        summary = conn.scalar(
            sa.text("select summary from raw.pipeline_runs order by started_at desc limit 1")
        )
    summary = summary or {}
    print(
        json.dumps(
            {
                **summary.get("resolve", {}),
                "stages": {k: round(v, 1) for k, v in (summary.get("stage_seconds") or {}).items()},
            }
        )
    )


def main() -> None:
    if sys.argv[1:2] == ["_resolve"]:
        return _resolve_here(sys.argv[2], "--full" in sys.argv[3:])
    if sys.argv[1:2] == ["_last-run"]:
        return _last_run()
    if sys.argv[1:2] == ["_stop"]:
        from dealer360 import db

        db.stop_embedded_server()
        return None
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--mess", type=float, default=1.0)
    parser.add_argument("--delta", type=float, default=0.01, help="share of rows in the delta")
    parser.add_argument("--end-to-end", action="store_true", help="time `dealer360 run`")
    parser.add_argument("--work", type=Path, help="keep the inboxes and homes here")
    parser.add_argument("--no-scratch", action="store_true", help="no home B from scratch")
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        work = (args.work or Path(tempfile.mkdtemp(prefix="incremental-"))) / f"seed-{seed}"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        rows.append(one_seed(args, seed, work))
        print(json.dumps(rows[-1]), flush=True)
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False))
    if args.no_scratch:
        return
    print(
        "F1 difference (incremental − from scratch): max |Δ| ="
        f" {np.abs(table['F1 difference']).max():.4f}"
    )


if __name__ == "__main__":
    main()
