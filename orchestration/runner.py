"""`dealer360 run`: materialize every asset in this process and summarize what the database holds.

The CLI and the Dagster UI share one definition of the pipeline: this module materializes the
very assets and checks `definitions.py` gathers, recording the run in Dagster's instance
(DAGSTER_HOME, default DEALER360_HOME/dagster) so it shows up in `dagster dev` too.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealer360 import db
from dealer360.errors import UserError
from dealer360.settings import get_settings

STAGES = {"land_inbox": "land", "resolve_identities": "resolve", "dbt_models": "model"}


@dataclass
class PipelineSummary:
    run_id: str
    succeeded: bool
    stage_seconds: dict[str, float] = field(default_factory=dict)
    files: list[dict] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    marts: dict[str, int] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)
    error: str | None = None


def dagster_instance() -> dg.DagsterInstance:
    home = Path(os.environ.get("DAGSTER_HOME") or get_settings().dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def _record_run(engine: Engine, run_id: str, status: str, summary: dict | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                """
                insert into raw.pipeline_runs (run_id, started_at, status)
                values (:run_id, now(), :status)
                on conflict (run_id) do update
                set status = excluded.status, finished_at = now(),
                    summary = coalesce(cast(:summary as jsonb), raw.pipeline_runs.summary)
                """
            ),
            {
                "run_id": run_id,
                "status": status,
                "summary": json.dumps(summary) if summary else None,
            },
        )


def _stage_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for step in instance.get_run_step_stats(run_id):
        if step.start_time is None or step.end_time is None:
            continue
        stage = STAGES.get(step.step_key, "check")
        seconds[stage] = seconds.get(stage, 0.0) + step.end_time - step.start_time
    return seconds


def _database_figures(engine: Engine, summary: PipelineSummary, since: datetime) -> None:
    from ingest.contract import SOURCES

    with engine.connect() as conn:
        summary.files = [
            dict(row._mapping)
            for row in conn.execute(
                sa.text(
                    "select file_name, source, status, rows_loaded, rows_quarantined, message"
                    " from raw.files where loaded_at >= :since order by source, file_name"
                ),
                {"since": since},
            )
        ]
        for name in SOURCES:
            summary.rows[name] = conn.scalar(sa.text(f"select count(*) from raw.{name}"))
        summary.quarantined = dict(
            conn.execute(
                sa.text("select source, count(*) from raw.quarantine group by source")
            ).all()
        )
        for table in (
            "resolve.customer_source_map",
            "marts.customers",
            "marts.customer_events",
            "marts.vehicle_ownership",
            "marts.brand_ladder_opportunities",
            "marts.in_market",
            "marts.campaign_audience",
        ):
            if conn.scalar(sa.text("select to_regclass(:t) is not null"), {"t": table}):
                summary.marts[table] = conn.scalar(sa.text(f"select count(*) from {table}"))


def run_pipeline(inbox: Path, *, progress: bool = False) -> PipelineSummary:
    """Land `inbox`, resolve identities and build every mart; never raises for bad input files."""
    from orchestration.definitions import ASSETS, CHECKS, RESOURCES
    from orchestration.resources import Dealer360

    inbox = inbox.expanduser()
    if not inbox.is_dir():
        raise UserError(f"The inbox {inbox} does not exist or is not a folder.")
    engine = db.connect_checked()
    db.migrate(engine)
    run_id = uuid.uuid4().hex
    started = datetime.now(UTC)
    _record_run(engine, run_id, "running")

    instance = dagster_instance()
    result = dg.materialize(
        assets=[*ASSETS, *CHECKS],
        resources={
            **RESOURCES,
            "dealer360": Dealer360(inbox=str(inbox.resolve()), progress=progress),
        },
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        tags={"dealer360/run_id": run_id, "dealer360/trigger": "cli"},
    )
    summary = PipelineSummary(run_id=run_id, succeeded=result.success)
    summary.stage_seconds = _stage_seconds(instance, result.run_id)
    summary.failed_checks = [
        f"{e.asset_key.to_user_string()}: {e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    if not result.success:
        failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        summary.error = (
            "; ".join(
                f"{e.step_key}: {e.event_specific_data.error.message.strip().splitlines()[0]}"
                for e in failures
                if e.event_specific_data and e.event_specific_data.error
            )
            or "the pipeline failed"
        )
    _database_figures(engine, summary, started)
    _record_run(
        engine,
        run_id,
        "succeeded" if summary.succeeded else "failed",
        {"stage_seconds": summary.stage_seconds, "marts": summary.marts, "error": summary.error},
    )
    return summary
