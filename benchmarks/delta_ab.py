"""A day's delta, two versions of the code on the same bytes: A/B of an increment.

    .venv/bin/python benchmarks/delta_ab.py --a /path/to/checkout-a --b . --people 30000

Each checkout needs its own `make install` (its `.venv`). A generated inbox (`--people`,
`--seed`) is split as `benchmarks/incremental.py` splits it: the newest `--delta` of the
person rows go to files of their own. Home 0 is the rest landed and run by A (the first
run, full). Then, alternating as `--runs` says (default A B A B), each run is `dealer360
run` of that checkout on a fresh copy of home 0 with the delta files added: the increment.
Per run: its wall time, the pipeline's stages, resolve's steps and re-clustered records
(`resolve.runs.summary`), an md5 of `resolve.customer_source_map`, pairwise F1 against the
generator's truth and the review queue's size. Nothing else should run beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.incremental import split_inbox  # noqa: E402

_FIGURES = """
import json, sys
import pandas as pd, sqlalchemy as sa
from dealer360 import db
from entity_resolution.evaluation import quality
engine = db.get_engine()
with engine.connect() as conn:
    summary = conn.execute(sa.text(
        "select summary from resolve.runs order by run_id desc limit 1")).scalar()
    md5 = conn.execute(sa.text(
        "select md5(string_agg(source || '|' || source_record_id || '|' || customer_id"
        " || '|' || match_probability::text, ',' order by source, source_record_id))"
        " from resolve.customer_source_map")).scalar()
    links = pd.read_sql(
        "select source, source_record_id, customer_id from resolve.customer_source_map", conn)
    review = conn.execute(sa.text("select count(*) from resolve.review_queue")).scalar()
truth = pd.read_csv(sys.argv[1], dtype=str).merge(links, on=["source", "source_record_id"])
f1 = quality(truth["customer_id"].to_numpy(), truth["person_id"].to_numpy()).f1
db.stop_embedded_server()
print(json.dumps({"re-clustered": summary.get("relinked_records"),
                  "steps": summary.get("timings"), "map md5": md5[:8],
                  "F1": round(f1, 4), "review queue": review}))
"""


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "DEALER360_HOME": str(home)}
    env.pop("DATABASE_URL", None)
    return env


def _stop(python: Path, home: Path) -> None:
    subprocess.run(
        [python, "-c", "from dealer360 import db; db.stop_embedded_server()"],
        env=_env(home),
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="checkout A (with its .venv)")
    parser.add_argument("--b", type=Path, required=True, help="checkout B (with its .venv)")
    parser.add_argument("--people", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--delta", type=float, default=0.01, help="share of rows in the delta")
    parser.add_argument("--runs", default="A B A B", help="the order of the runs")
    parser.add_argument("--work", type=Path, required=True, help="inboxes and homes (kept)")
    args = parser.parse_args()
    bin_of = {
        side: (path.resolve() / ".venv" / "bin") for side, path in (("A", args.a), ("B", args.b))
    }
    work = args.work
    full, base, delta, inbox = work / "full", work / "base", work / "delta", work / "inbox"
    home0 = work / "home0"
    if not home0.exists():
        subprocess.run(
            [bin_of["A"] / "dealer360", "generate", "--out", full, "--people",
             str(args.people), "--seed", str(args.seed)],
            check=True, capture_output=True,
        )  # fmt: skip
        split_inbox(full, base, delta, args.delta)
        subprocess.run(
            [bin_of["A"] / "dealer360", "run", "--inbox", base],
            env=_env(home0), check=True, capture_output=True,
        )  # fmt: skip
        _stop(bin_of["A"] / "python", home0)
        shutil.copytree(base, inbox)
        shutil.copytree(delta, inbox, dirs_exist_ok=True)
    rows = []
    for n, side in enumerate(args.runs.split(), start=1):
        home = work / f"home-{side}{n}"
        shutil.rmtree(home, ignore_errors=True)
        # cp -a: the server's files keep their owner (the embedded server's own user)
        subprocess.run(["cp", "-a", home0, home], check=True)
        load = os.getloadavg()
        t = time.perf_counter()
        out = subprocess.run(
            [bin_of[side] / "dealer360", "run", "--inbox", inbox],
            env=_env(home), check=True, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.perf_counter() - t
        figures = subprocess.run(
            [bin_of[side] / "python", "-c", _FIGURES, full / "truth.csv"],
            env=_env(home), check=True, capture_output=True, text=True,
        )  # fmt: skip
        row = {
            "run": f"{side}{n}",
            "load": " ".join(f"{x:.2f}" for x in load),
            "wall s": round(wall, 1),
            "stages": out.stdout.strip().splitlines()[-1],
            **json.loads(figures.stdout.strip().splitlines()[-1]),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
        shutil.rmtree(home)
    print(pd.DataFrame(rows).drop(columns=["steps"]).to_markdown(index=False))


if __name__ == "__main__":
    main()
