"""Health checks on what resolve() wrote, for Dagster asset checks: (passed, metadata)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ingest.contract import PERSON_SOURCES

CheckResult = tuple[bool, dict]


def check_cluster_sizes(engine: Engine, max_records: int = 1000) -> CheckResult:
    """No customer swallows an implausible number of records (a sign of chaining)."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                """
                with sizes as (
                    select customer_id, count(*) as n
                    from resolve.customer_source_map group by customer_id
                )
                select coalesce(max(n), 0), coalesce(avg(n), 0),
                       coalesce(percentile_cont(0.99) within group (order by n), 0),
                       count(*) filter (where n > :limit), count(*)
                from sizes
                """
            ),
            {"limit": max_records},
        ).one()
    largest, mean, p99, over, customers = row
    return int(over) == 0, {
        "customers": int(customers),
        "largest_customer_records": int(largest),
        "mean_records_per_customer": round(float(mean), 2),
        "p99_records_per_customer": float(p99),
        "customers_over_limit": int(over),
        "limit": max_records,
    }


def share_linked(engine: Engine) -> CheckResult:
    """Every landed person record has a customer; reports how much linking happened."""
    with engine.connect() as conn:
        present = set(
            conn.scalars(
                sa.text(
                    "select table_name from information_schema.tables where table_schema = 'raw'"
                )
            )
        )
        landed = sum(
            int(conn.scalar(sa.text(f"select count(*) from raw.{s}")))
            for s in PERSON_SOURCES
            if s in present
        )
        mapped, multi_record, multi_source, customers = conn.execute(
            sa.text(
                """
                with c as (
                    -- min <> max, not count(distinct source) > 1: the same answer, and
                    -- PostgreSQL can hash it instead of sorting the map (14 → 3.5 s at 300k)
                    select customer_id, count(*) as n, min(source) <> max(source) as several
                    from resolve.customer_source_map group by customer_id
                )
                select coalesce(sum(n), 0), coalesce(sum(n) filter (where n > 1), 0),
                       count(*) filter (where several), count(*)
                from c
                """
            )
        ).one()
    mapped = int(mapped)
    return mapped == landed, {
        "landed_person_records": landed,
        "mapped_records": mapped,
        "share_of_records_linked_to_another": round(int(multi_record) / mapped, 4)
        if mapped
        else 0.0,
        "share_of_customers_in_several_sources": round(int(multi_source) / int(customers), 4)
        if customers
        else 0.0,
    }


def id_stability(engine: Engine, minimum: float = 0.99) -> CheckResult:
    """Records that had a customer ID before the last run kept it (≥ `minimum`)."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "select run_id, records_before, records_kept_id from resolve.runs"
                " where finished_at is not null order by run_id desc limit 1"
            )
        ).one_or_none()
    if row is None or not row.records_before:
        return True, {"records_before": 0, "stability": 1.0}
    stability = row.records_kept_id / row.records_before
    return stability >= minimum, {
        "run_id": row.run_id,
        "records_before": row.records_before,
        "records_kept_id": row.records_kept_id,
        "stability": round(stability, 6),
        "minimum": minimum,
    }
