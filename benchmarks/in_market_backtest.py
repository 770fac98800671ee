"""Backtest the in-market score: who of the customers it ranked on a past day bought next.

    .venv/bin/python benchmarks/in_market_backtest.py --people 3000 --seeds 1 2 3
    .venv/bin/python benchmarks/in_market_backtest.py --people 2000 --seeds 5 --json out.json

Per seed: generates an inbox (`dealer360 generate`) in a fresh DEALER360_HOME of its own
(embedded PostgreSQL, under benchmarks/out/, git-ignored), runs `dealer360 run --as-of D`
with D `--days-back` (180) days before the generator's last event day, reads every
customer's score and drivers from marts.in_market as built on D (a customer's score is the
best of their rooftops', 0 without a driver; the population is marts.customers on D), then
finds who bought in the `--horizon` (90) days after D from everything landed:
raw.dealer_sales rows dated in (D, D + horizon] through resolve.customer_source_map.

Reports the base rate (share of the customers known on D who bought), the top decile's rate
and its lift (top-decile rate / base rate), and per driver the rate of customers carrying it
(at any rooftop) against those who do not, with lift = rate with the driver / base rate.

Known leak: identity resolution runs over every landed record, the later ones too, so the
customers scored on D were matched with knowledge of records after D (a later deal can join
two earlier records into one customer). The marts' rules only see rows dated up to D.
And a lead's `status` is what the CRM said when it exported the file, not on D: a lead open
on D that was later won or lost lands as won or lost, so open_lead is seen only for leads
still open at export, which D (180 days back) leaves out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

BIN = Path(sys.executable).parent
OUT = Path(__file__).parent / "out"


def top_share_rate(score: pd.Series, bought: pd.Series, share: float = 0.1) -> float:
    """Purchase rate of the top `share` of customers by score.

    Scores are coarse (sums of a few points), so many customers tie at the cut: those above
    it count whole and the tied group fills the remaining places at its own rate, the
    expected rate of any random order among ties.
    """
    n = len(score)
    places = math.ceil(n * share)
    if places == 0:
        return float("nan")
    frame = pd.DataFrame({"score": score.to_numpy(), "bought": bought.to_numpy(dtype=float)})
    by_score = frame.groupby("score")["bought"].agg(["size", "sum"]).sort_index(ascending=False)
    taken, buyers = 0, 0.0
    for size, bought_here in by_score.itertuples(index=False):
        use = min(size, places - taken)
        buyers += bought_here * use / size
        taken += use
        if taken == places:
            break
    return buyers / places


def lift_table(customers: pd.DataFrame, share: float = 0.1) -> dict:
    """Base rate, top-share rate and lift, and per driver the rate with and without it.

    `customers`: one row per customer known on the scoring day with `score` (0 when no
    driver), `drivers` (a collection of driver codes) and `bought` (bool).
    """
    bought = customers["bought"].astype(bool)
    base = bought.mean() if len(customers) else float("nan")
    top = top_share_rate(customers["score"], bought, share)
    codes = sorted({code for drivers in customers["drivers"] for code in drivers})
    per_driver = {}
    for code in codes:
        has = customers["drivers"].map(lambda drivers, code=code: code in drivers).astype(bool)
        rate, rate_without = bought[has].mean(), bought[~has].mean()
        per_driver[code] = {
            "customers": int(has.sum()),
            "buyers": int(bought[has].sum()),
            "rate": rate,
            "rate_without": rate_without,
            "lift": rate / base if base else float("nan"),
            "vs_without": rate / rate_without if rate_without else float("nan"),
        }
    return {
        "customers": len(customers),
        "buyers": int(bought.sum()),
        "base_rate": base,
        "top_decile_rate": top,
        "top_decile_lift": top / base if base else float("nan"),
        "drivers": per_driver,
    }


def _scoring_day(days_back: int) -> date:
    from generator.sampling import END

    last_event = date(1970, 1, 1) + timedelta(days=END - 1)
    return last_event - timedelta(days=days_back)


SCORES = """
    select customers.customer_id,
        coalesce(max(in_market.score), 0) as score,
        coalesce(jsonb_agg(distinct codes.code) filter (where codes.code is not null), '[]')
            as drivers
    from marts.customers
    left join marts.in_market on in_market.customer_id = customers.customer_id
    left join lateral jsonb_array_elements_text(in_market.driver_codes) as codes (code) on true
    group by customers.customer_id
"""
BUYERS = """
    select distinct map.customer_id
    from raw.dealer_sales as sales
    inner join resolve.customer_source_map as map
        on map.source = 'dealer_sales' and map.source_record_id = sales.source_record_id
    where sales.deal_date ~ '^\\d{4}-\\d{2}-\\d{2}$'
        and sales.deal_date::date > :day and sales.deal_date::date <= :until
"""


def run_seed(people: int, seed: int, day: date, horizon: int) -> dict:
    import sqlalchemy as sa

    work = OUT / f"in-market-{people}-{seed}"
    shutil.rmtree(work, ignore_errors=True)
    env = {**os.environ, "DEALER360_HOME": str(work / "home")}
    env.pop("DATABASE_URL", None)
    inbox = work / "inbox"
    started = time.perf_counter()
    subprocess.run(
        [BIN / "dealer360", "generate", "--out", inbox, "--people", str(people), "--seed", str(seed)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [BIN / "dealer360", "run", "--inbox", inbox, "--as-of", day.isoformat()],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    url = subprocess.run(
        [BIN / "dealer360", "db", "url"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            scores = pd.read_sql_query(sa.text(SCORES), conn)
            until = day + timedelta(days=horizon)
            buyers = pd.read_sql_query(sa.text(BUYERS), conn, params={"day": day, "until": until})
    finally:
        engine.dispose()
        subprocess.run([BIN / "dealer360", "db", "stop"], env=env, capture_output=True)
    bought = set(buyers["customer_id"])
    scores["drivers"] = scores["drivers"].map(frozenset)
    scores["bought"] = scores["customer_id"].isin(bought)
    result = lift_table(scores)
    result |= {
        "people": people,
        "seed": seed,
        "as_of": day.isoformat(),
        "horizon_days": horizon,
        "buyers_unknown_on_day": len(bought - set(scores["customer_id"])),
        "wall_s": round(time.perf_counter() - started),
    }
    return result


def format_table(results: list[dict]) -> str:
    """One column per seed: the headline rates, then each driver's share, rate and lift."""
    rows = {
        "customers on D": [f"{r['customers']:,}" for r in results],
        "bought within horizon": [f"{r['buyers']:,}" for r in results],
        "base rate": [f"{r['base_rate']:.1%}" for r in results],
        "top-decile rate": [f"{r['top_decile_rate']:.1%}" for r in results],
        "top-decile lift": [f"{r['top_decile_lift']:.2f}" for r in results],
    }
    codes = sorted({code for r in results for code in r["drivers"]})
    for code in codes:
        cells = []
        for r in results:
            d = r["drivers"].get(code)
            cells.append(
                "-"
                if d is None
                else f"{d['customers']:,} · {d['rate']:.1%} vs {d['rate_without']:.1%} · "
                f"lift {d['lift']:.2f}"
            )
        rows[f"{code} (n · rate vs without · lift)"] = cells
    header = ["", *[f"seed {r['seed']}" for r in results]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join([label, *values]) + " |" for label, values in rows.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--days-back", type=int, default=180, help="D before the last event")
    parser.add_argument("--horizon", type=int, default=90, help="days after D that count")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    day = _scoring_day(args.days_back)
    results = []
    for seed in args.seeds:
        results.append(run_seed(args.people, seed, day, args.horizon))
        print(json.dumps(results[-1], default=float), flush=True)
    print(f"people={args.people} as_of={day} horizon={args.horizon} days")
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
