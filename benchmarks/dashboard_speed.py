"""How fast the dashboard's queries answer on a realistic database: p50/p95 per query.

    .venv/bin/python benchmarks/dashboard_speed.py --people 30000          # build, then time
    .venv/bin/python benchmarks/dashboard_speed.py --people 30000 --reuse  # time the last build

Each size gets its own embedded database under benchmarks/out/dashboard_speed/<people>/
(DEALER360_HOME), built by `run_pipeline` from a generated inbox exactly as `dealer360 run`
does; `--reuse` skips the build. Every function of `dashboard.queries` that a page calls is
timed without the Streamlit cache (each call is a real round trip), on customers, names,
phones, e-mails and VINs sampled from the database; a misspelled name is searched the way
people type it (one letter dropped, accents removed). Targets: every profile panel under
200 ms p95, search under 300 ms p95.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out" / "dashboard_speed"

PROFILE_PANELS = (
    "customer",
    "household",
    "events",
    "garage",
    "value_by_dealer_brand",
    "opportunities",
    "identity",
)


def build(people: int, seed: int) -> None:
    from generator import generate_inbox
    from orchestration.runner import run_pipeline

    inbox = OUT / str(people) / "inbox"
    if not (inbox / "truth.csv").exists():
        started = time.perf_counter()
        generate_inbox(inbox, people=people, seed=seed, progress=True)
        print(f"generated {people:,} people in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    summary = run_pipeline(inbox, progress=True)
    if not summary.succeeded:
        raise SystemExit(f"the pipeline failed: {summary.error}")
    print(f"pipeline in {time.perf_counter() - started:.0f} s: {summary.stage_seconds}")
    print(f"tables: {summary.marts}")


def _misspell(name: str, rng: random.Random) -> str:
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
    ).lower()
    if len(plain) > 4:
        drop = rng.randrange(1, len(plain) - 1)
        plain = plain[:drop] + plain[drop + 1 :]
    return plain


def samples(count: int, seed: int) -> dict[str, list]:
    """Customers, search texts and dealers to time the queries on."""
    import sqlalchemy as sa

    from dashboard.connection import engine

    rng = random.Random(seed)
    with engine().connect() as conn:
        customers = list(
            conn.scalars(
                sa.text("select customer_id from marts.customers order by random() limit :n"),
                {"n": count},
            )
        )
        # The busiest profiles are the slowest: time the largest customers too.
        customers += list(
            conn.scalars(
                sa.text(
                    "select customer_id from marts.customers"
                    " order by source_record_count desc limit :n"
                ),
                {"n": max(1, count // 10)},
            )
        )
        people = conn.execute(
            sa.text(
                "select first_name, last_name, phone, email from marts.customers"
                " where first_name is not null and last_name is not null"
                " order by random() limit :n"
            ),
            {"n": count},
        ).all()
        vins = list(
            conn.scalars(
                sa.text("select vin from marts.vehicle_ownership order by random() limit :n"),
                {"n": count},
            )
        )
        dealers = list(
            conn.scalars(
                sa.text("select dealer_code from marts.in_market group by 1 order by count(*) desc")
            )
        )
        groups = list(
            conn.scalars(
                sa.text("select distinct from_manufacturer_group from marts.brand_ladder_moves")
            )
        )
        targets = list(
            conn.scalars(
                sa.text("select distinct target_brand from marts.brand_ladder_opportunities")
            )
        )
    phones = [p.phone for p in people if p.phone]
    return {
        "customers": customers,
        "names": [_misspell(f"{p.first_name} {p.last_name}", rng) for p in people],
        "last_names": [p.last_name for p in people],
        "phones": [f"({p[2:5]}) {p[5:8]}-{p[8:]}" for p in phones],
        "emails": [p.email.upper() for p in people if p.email],
        "vins": [v.lower() for v in vins],
        "dealers": dealers,
        "groups": [g for g in groups if g],
        "targets": targets,
    }


def timed(function: Callable, arguments: list[tuple]) -> list[float]:
    """Milliseconds per call, bypassing the Streamlit cache."""
    raw = getattr(function, "__wrapped__", function)
    raw(*arguments[0])  # warm the connection pool and the plan cache
    times = []
    for args in arguments:
        started = time.perf_counter()
        raw(*args)
        times.append((time.perf_counter() - started) * 1000)
    return times


def report(name: str, times: list[float], target: float | None) -> bool:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    verdict = "" if target is None else ("  ok" if p95 < target else f"  OVER {target:.0f} ms")
    print(
        f"{name:<34} n={len(times):>4}  p50 {statistics.median(times):7.1f} ms"
        f"  p95 {p95:7.1f} ms  max {ordered[-1]:7.1f} ms{verdict}"
    )
    return target is None or p95 < target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="time the database built before")
    options = parser.parse_args()

    os.environ.setdefault("DEALER360_HOME", str(OUT / str(options.people) / "home"))
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # no "no runtime" warnings
    if not options.reuse:
        build(options.people, options.seed)

    import sqlalchemy as sa

    from dashboard import lookup, queries
    from dealer360 import db

    with db.get_engine().connect() as conn:
        counts = conn.execute(
            sa.text(
                "select (select count(*) from marts.customers),"
                " (select count(*) from marts.customer_events),"
                " (select count(*) from resolve.customer_source_map)"
            )
        ).one()
    print(
        f"\n{options.people:,} generated people → {counts[0]:,} customers, "
        f"{counts[1]:,} events, {counts[2]:,} person records\n"
    )
    picked = samples(options.samples, options.seed)
    passed = True

    print("Profile page (one query per panel; target p95 < 200 ms)")
    profile_times = [0.0] * len(picked["customers"])
    for panel in PROFILE_PANELS:
        times = timed(getattr(queries, panel), [(c,) for c in picked["customers"]])
        profile_times = [a + b for a, b in zip(profile_times, times, strict=True)]
        passed &= report(f"  {panel}", times, 200)
    report("  whole profile (sum of panels)", profile_times, None)

    print("\nFind a customer (target p95 < 300 ms)")
    for label, texts in (
        ("misspelled full name", picked["names"]),
        ("last name alone", picked["last_names"]),
        ("phone (514) 555-0199 style", picked["phones"]),
        ("e-mail in capitals", picked["emails"]),
        ("VIN in lower case", picked["vins"]),
    ):
        parsed = [lookup.parse(text) for text in texts]
        passed &= report(
            f"  {label}",
            timed(queries.search_customers, [(p.kind, p.value) for p in parsed]),
            300,
        )

    print("\nOther pages (no target; cached for a minute)")
    dealers = picked["dealers"][:20] or [None]
    report("  in_market (per dealer)", timed(queries.in_market, [(d,) for d in dealers]), None)
    report(
        "  audience (per dealer)",
        timed(queries.audience, [(d, None, 0, ()) for d in dealers]),
        None,
    )
    if picked["groups"]:
        report(
            "  ladder_flows", timed(queries.ladder_flows, [(g,) for g in picked["groups"]]), None
        )
        report(
            "  ladder_conversion",
            timed(queries.ladder_conversion, [(g,) for g in picked["groups"]]),
            None,
        )
    if picked["targets"]:
        report(
            "  ladder_upsell", timed(queries.ladder_upsell, [(t,) for t in picked["targets"]]), None
        )
    report("  review_pairs", timed(queries.review_pairs, [()] * 5), None)
    report("  review_summary", timed(queries.review_summary, [()] * 5), None)
    report("  cluster_sizes", timed(queries.cluster_sizes, [()] * 5), None)
    print("\nall targets met" if passed else "\nsome targets missed")


if __name__ == "__main__":
    main()
