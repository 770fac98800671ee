"""How good the used-vehicle value curve is on sales it never saw (int_vehicle_values).

    .venv/bin/python benchmarks/vehicle_values.py --people 3000
    .venv/bin/python benchmarks/vehicle_values.py --people 30000 --holdout 20

Generates an inbox in a fresh DEALER360_HOME (its own embedded PostgreSQL, under
benchmarks/out/, git-ignored), runs `dealer360 run` on it, then rebuilds the valuation with
`valuation_holdout_percent` so that share of the used sales (by a hash of their record key)
is left out of the fit, and compares the curve's value of each held-out sale with its price.
Prints, per curve kind and overall: held-out sales, median and mean absolute percentage
error, the share within 10 % and 20 % of the price; and, as a baseline, the median absolute
percentage error of the make's median used price over the sales kept in the fit.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from dbt.cli.main import dbtRunner

OUT = Path(__file__).parent / "out"
DBT_PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"


def _errors(frame: pd.DataFrame) -> dict[str, float]:
    error = (frame["estimated"] - frame["price"]).abs() / frame["price"]
    return {
        "sales": len(frame),
        "median_ape": error.median(),
        "mean_ape": error.mean(),
        "within_10pct": (error <= 0.10).mean(),
        "within_20pct": (error <= 0.20).mean(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--holdout", type=int, default=20, help="percent of used sales held out")
    args = parser.parse_args()

    work = OUT / f"values-{args.people}"
    shutil.rmtree(work, ignore_errors=True)
    os.environ["DEALER360_HOME"] = str(work / "home")
    os.environ.pop("DATABASE_URL", None)
    from dealer360 import db
    from generator import generate_inbox
    from orchestration.runner import run_pipeline

    started = time.perf_counter()
    generate_inbox(work / "inbox", people=args.people, seed=args.seed)
    summary = run_pipeline(work / "inbox")
    assert summary.succeeded, summary.error
    url = db.database_url()
    os.environ.update(db.dbt_env(url))
    result = dbtRunner().invoke(
        [
            "run", "--select", "int_vehicle_values",
            "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
            "--vars", f"{{valuation_holdout_percent: {args.holdout}}}",
        ]
    )  # fmt: skip
    assert result.success, result.exception
    with db.get_engine(url).connect() as conn:
        sales = pd.read_sql_query(
            sa.text(
                "select brand, curve, is_held_out, sale_amount::float as price,"
                " estimated_value_amount::float as estimated"
                " from intermediate.int_vehicle_values where subject_kind = 'used_sale'"
            ),
            conn,
        )
    db.stop_embedded_server()
    held_out = sales[sales["is_held_out"] & sales["estimated"].notna()]
    medians = sales[~sales["is_held_out"]].groupby("brand")["price"].median()
    baseline = held_out.assign(estimated=held_out["brand"].map(medians)).dropna()
    rows = {"all": _errors(held_out), "baseline: make median": _errors(baseline)}
    for curve, frame in held_out.groupby("curve"):
        rows[f"curve {curve}"] = _errors(frame)
    print(
        f"people={args.people} seed={args.seed} used_sales={len(sales)} "
        f"held_out={args.holdout}% wall={time.perf_counter() - started:.0f}s"
    )
    print(pd.DataFrame(rows).T.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
