"""Every dashboard page as a person sees it, on a large database: served by `dealer360
dashboard`, opened in headless Chromium, timed from navigation to a settled page (title drawn,
no placeholder or spinner left, every chart drawn), checked for Streamlit exception boxes, and
photographed into benchmarks/out/dashboard_pages/<label>/.

    DEALER360_HOME=/work/bench-data/home-30000 .venv/bin/python benchmarks/dashboard_pages.py --label 30k

The database is the one `dealer360 db url` names for that environment (the embedded server of
DEALER360_HOME, started if needed, or DATABASE_URL). Pages: search (a real customer's name,
misspelled, then their phone typed another way), the profile of the customer with the most
records and of a random one (every tab opened), opportunities for the busiest rooftop, brand
ladder, identity review, data health. Exits 1 if any page shows an error.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from served_dashboard import served

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out" / "dashboard_pages"
CHROMIUM = "/usr/bin/chromium"
TABS = ("Garage", "Lifetime value", "Opportunities", "Why one person")


def _settle(page, heading: str) -> None:
    page.locator("h1", has_text=heading).first.wait_for()
    quiet = 0
    while quiet < 3:
        page.wait_for_timeout(200)
        busy = page.locator('[data-testid="stSkeleton"], [data-testid="stSpinner"]').count()
        quiet = 0 if busy else quiet + 1
    for chart in page.locator('[data-testid="stPlotlyChart"]:visible').all():
        chart.locator(".main-svg").first.wait_for()


def _errors(page) -> list[str]:
    return [e.inner_text()[:300] for e in page.locator('[data-testid="stException"]').all()]


def _subjects(engine: sa.Engine, seed: int) -> dict:
    with engine.connect() as conn:
        busiest = conn.execute(
            sa.text(
                "select customer_id, coalesce(last_name, company_name) as heading "
                "from marts.customers order by source_record_count desc, customer_id limit 1"
            )
        ).one()
        named = conn.execute(
            sa.text(
                "select customer_id, first_name, last_name, phone from marts.customers "
                "where last_name is not null and first_name is not null and phone is not null "
                "order by customer_id"
            )
        ).all()
        dealer = conn.scalar(
            sa.text("select dealer_code from marts.in_market group by 1 order by count(*) desc")
        )
        customers = conn.scalar(sa.text("select count(*) from marts.customers"))
    chosen = random.Random(seed).choice(named)
    digits = "".join(c for c in chosen.phone if c.isdigit())[-10:]
    return {
        "customers": customers,
        "busiest": busiest,
        "random": chosen,
        "misspelled": f"{chosen.first_name} {chosen.last_name[:-1]}".lower(),
        "phone": f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
        "dealer": dealer,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="Folder name for the screenshots.")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    url = subprocess.run(
        [sys.executable, "-m", "dealer360.cli", "db", "url"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    subjects = _subjects(engine, args.seed)
    engine.dispose()
    out = OUT / args.label
    out.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    with served() as (base, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 2200})
        page = context.new_page()
        page.set_default_timeout(120_000)

        def visit(name: str, path: str, heading: str, then=None) -> None:
            started = time.perf_counter()
            page.goto(path)
            _settle(page, heading)
            seconds = time.perf_counter() - started
            if then:
                then()
            errors = _errors(page)
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            results.append({"page": name, "seconds": round(seconds, 2), "errors": errors})
            print(json.dumps(results[-1]), flush=True)

        def search_for(text: str, expect: str) -> callable:
            def go() -> None:
                started = time.perf_counter()
                box = page.get_by_placeholder("Marie Côté", exact=False)
                box.fill(text)
                box.press("Enter")
                page.locator('[data-testid="stPageLink"] a', has_text=expect).first.wait_for()
                results.append(
                    {"page": f"search results for {text!r}",
                     "seconds": round(time.perf_counter() - started, 2), "errors": []}
                )  # fmt: skip
                print(json.dumps(results[-1]), flush=True)

            return go

        chosen = subjects["random"]
        visit("search-name", "/", "Find a customer",
              search_for(subjects["misspelled"], chosen.last_name))  # fmt: skip
        visit("search-phone", "/", "Find a customer",
              search_for(subjects["phone"], chosen.last_name))  # fmt: skip

        def open_tabs() -> None:
            for tab in TABS:
                page.get_by_role("tab", name=tab).click()
                page.wait_for_timeout(300)

        for name, customer in (("profile-busiest", subjects["busiest"]),
                               ("profile-random", chosen)):  # fmt: skip
            visit(name, f"/profile?customer_id={customer.customer_id}", "", open_tabs)
        visit("opportunities", f"/opportunities?dealer={subjects['dealer']}", "Opportunities")
        visit("brand-ladder", "/brand-ladder", "Brand ladder")
        visit("review", "/review", "Identity review")
        visit("health", "/health", "Data health")
        browser.close()
    failed = [r for r in results if r["errors"]]
    print(
        json.dumps(
            {"customers": subjects["customers"], "pages": len(results), "with_errors": len(failed)}
        )
    )
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
