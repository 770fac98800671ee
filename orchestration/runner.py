"""`dealer360 run`: materialize every asset in this process and summarize what the database holds.

The CLI and the Dagster UI share one definition of the pipeline: this module runs the very job
(`dealer360_pipeline`) `definitions.py` gathers, recording the run in Dagster's instance
(DAGSTER_HOME, default DEALER360_HOME/dagster) so it shows up in `dagster dev` too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealer360 import db
from dealer360.errors import UserError
from dealer360.settings import Matching, get_matching, get_settings
from ingest.contract import SOURCES
from orchestration import builds

STAGES = {"land_inbox": "land", "resolve_identities": "resolve", "dbt_models": "model"}
INTERRUPTED = (
    "the run was interrupted before it finished (its process was killed or lost the database)"
)


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
    as_of: str = ""  # the day the marts were built as known on; empty for today
    # What the resolve stage did: its mode (full, incremental, unchanged), why, and counts.
    resolve: dict = field(default_factory=dict)
    # The model stage found nothing dbt reads changed since the last build (orchestration.builds).
    marts_kept: bool = False
    # How the model stage built them: "incremental", "full: <why>", or empty when not built.
    marts_build: str = ""


def dagster_instance() -> dg.DagsterInstance:
    home = Path(os.environ.get("DAGSTER_HOME") or get_settings().dagster_home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # One run at a time from the run queue (`dagster dev`, the daemon); the pipeline
        # lock (orchestration.resources) also serializes runs started elsewhere.
        config.write_text(
            "telemetry:\n  enabled: false\nconcurrency:\n  runs:\n    max_concurrent_runs: 1\n"
        )
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


def _console_level() -> str:
    """Dagster's console log: quiet unless `--verbose`. A failed step is summarized in one
    line (PipelineSummary.error) and kept whole, traceback included, in Dagster's run
    storage; printing its traceback too would bury that line (a lost database fails every
    open connection, each with a traceback)."""
    return "INFO" if logging.getLogger().isEnabledFor(logging.INFO) else "CRITICAL"


@contextlib.contextmanager
def _run_lock(engine: Engine, run_id: str) -> Iterator[None]:
    """Hold this run's lock for as long as it lives: PostgreSQL drops a session's locks when
    its client dies, so a 'running' row whose lock is free belongs to a dead process."""
    conn = engine.connect()
    try:
        conn.execute(
            sa.text("select pg_advisory_lock(:k, hashtext(:r))"),
            {"k": db.LockKey.PIPELINE_RUN, "r": run_id},
        )
        conn.commit()
        yield
    finally:
        try:
            conn.execute(
                sa.text("select pg_advisory_unlock(:k, hashtext(:r))"),
                {"k": db.LockKey.PIPELINE_RUN, "r": run_id},
            )
            conn.commit()
        except sa.exc.DBAPIError:
            conn.invalidate()  # the database went away, and the lock with it
        conn.close()


def _mark_interrupted_runs(engine: Engine) -> list[str]:
    """Record as failed the runs still 'running' whose process is gone (kill -9, a crash, a
    lost database), so the run history never shows a dead run as in progress forever."""
    interrupted = []
    with engine.connect() as conn:
        running = conn.scalars(
            sa.text("select run_id from raw.pipeline_runs where status = 'running'")
        ).all()
        for run_id in running:
            lock = {"k": db.LockKey.PIPELINE_RUN, "r": run_id}
            if not conn.scalar(sa.text("select pg_try_advisory_lock(:k, hashtext(:r))"), lock):
                continue  # alive: its process still holds the lock
            conn.execute(
                sa.text(
                    "update raw.pipeline_runs set status = 'failed', finished_at = now(),"
                    " summary = summary || jsonb_build_object('error', cast(:e as text))"
                    " where run_id = :r and status = 'running'"
                ),
                {"r": run_id, "e": INTERRUPTED},
            )
            conn.execute(sa.text("select pg_advisory_unlock(:k, hashtext(:r))"), lock)
            interrupted.append(run_id)
        conn.commit()
    return interrupted


def _stage_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    seconds: dict[str, float] = {}
    for step in instance.get_run_step_stats(run_id):
        if step.start_time is None or step.end_time is None:
            continue
        stage = STAGES.get(step.step_key, "check")
        seconds[stage] = seconds.get(stage, 0.0) + step.end_time - step.start_time
    return seconds


def _database_figures(engine: Engine, summary: PipelineSummary, since: datetime) -> None:
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


def _resolve_figures(result: dg.ExecuteInProcessResult) -> dict:
    """The resolve stage's mode, reason and counts, from its materialization's metadata."""
    for materialization in result.asset_materializations_for_node("resolve_identities")[:1]:
        metadata = materialization.metadata
        return {
            name: metadata[name].value
            for name in ("mode", "reason", "changed_records", "relinked_records", "records")
            if name in metadata
        }
    return {}


def _marts_kept(result: dg.ExecuteInProcessResult) -> bool:
    """Whether the model stage kept the marts as they were instead of building them: every
    model and seed it materialized says so (an incremental build keeps only the seeds)."""
    materialized = result.asset_materializations_for_node("dbt_models")
    return bool(materialized) and all(
        (kept := m.metadata.get("dealer360/kept")) is not None and kept.value for m in materialized
    )


def _marts_build(result: dg.ExecuteInProcessResult) -> str:
    """How the model stage built the marts ("incremental", "full: <why>"); empty when it
    built none (kept, or failed before a model was built)."""
    for m in result.asset_materializations_for_node("dbt_models"):
        build = m.metadata.get(builds.BUILD_KEY)
        if build is not None:
            return str(build.value)
    return ""


def _failure_sentence(result: dg.ExecuteInProcessResult) -> str:
    """Why the run failed, one sentence per failed stage, each naming the log to open: a stage
    that explains itself (dbt names its own log) is quoted; any other failure is kept whole,
    traceback included, in DEALER360_HOME/logs/last-failed-run.log."""
    log_path = get_settings().home / "logs" / "last-failed-run.log"
    sentences, details = [], []
    for event in result.all_events:
        data = event.event_specific_data
        if event.event_type_value != "STEP_FAILURE" or data is None:
            continue
        if data.user_failure_data and data.user_failure_data.description:
            sentences.append(data.user_failure_data.description)
            continue
        stage = STAGES.get(event.step_key, event.step_key)
        error = data.error
        while error and error.cls_name == "DagsterExecutionStepExecutionError" and error.cause:
            error = error.cause  # Dagster's wrapper around the stage's own exception
        if error is None:
            what = "no message"
            details.append(f"{event.step_key}: {event.message}")
        else:
            # "package.module.SomeError: what went wrong" → "SomeError: what went wrong"
            line = error.message.strip().splitlines()[0]
            where, _, rest = line.partition(": ")
            cls_name = error.cls_name or ""
            what = f"{cls_name}: {rest}" if cls_name and where.endswith(cls_name) else line
            details.append(f"{event.step_key}\n{data.error.to_string()}")
        sentences.append(f"the {stage} stage failed ({what}); its log is {log_path}.")
    if not sentences:
        sentences.append(f"the pipeline failed; its log is {log_path}.")
        details += [e.message or "" for e in result.all_events if e.is_failure] or ["no message"]
    if details:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("\n\n".join(details) + "\n")
    return " ".join(sentences)


def run_pipeline(
    inbox: Path,
    *,
    progress: bool = False,
    as_of: str = "",
    matching: Matching | None = None,
    full: bool = False,
) -> PipelineSummary:
    """Land `inbox`, resolve identities (on `matching`'s engine, else the environment's; all
    of them with `full`, else what changed) and build every mart (as known on `as_of` when
    it is given); never raises for bad input files."""
    from orchestration.automation import FULL_TAG, pipeline_job
    from orchestration.definitions import ASSETS, CHECKS, RESOURCES
    from orchestration.resources import Dealer360, parse_as_of

    if as_of:
        as_of = parse_as_of(as_of).isoformat()
    matching = matching or get_matching()
    inbox = inbox.expanduser()
    if not inbox.is_dir():
        raise UserError(f"The inbox {inbox} does not exist or is not a folder.")
    engine = db.connect_checked()
    db.migrate(engine)
    run_id = uuid.uuid4().hex
    started = datetime.now(UTC)
    _mark_interrupted_runs(engine)
    try:
        with _run_lock(engine, run_id):
            _record_run(engine, run_id, "running")

            instance = dagster_instance()
            # The job `definitions.py` schedules, with this inbox: the run is recorded under
            # its name, as a scheduled or sensor-launched one is.
            job = dg.Definitions(
                assets=ASSETS,
                asset_checks=CHECKS,
                jobs=[pipeline_job],
                resources={
                    **RESOURCES,
                    "dealer360": Dealer360(
                        inbox=str(inbox.resolve()),
                        progress=progress,
                        as_of=as_of,
                        resolve_engine=matching.engine,
                        spark_master=matching.spark_master if matching.engine == "spark" else "",
                    ),
                },
            ).resolve_job_def(pipeline_job.name)
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": _console_level()}}}},
                tags={
                    "dealer360/run_id": run_id,
                    "dealer360/trigger": "cli",
                    **({FULL_TAG: "true"} if full else {}),
                },
            )
            summary = PipelineSummary(run_id=run_id, succeeded=result.success, as_of=as_of)
            summary.resolve = _resolve_figures(result)
            summary.marts_kept = _marts_kept(result)
            summary.marts_build = "" if summary.marts_kept else _marts_build(result)
            summary.stage_seconds = _stage_seconds(instance, result.run_id)
            summary.failed_checks = [
                f"{e.asset_key.to_user_string()}: {e.check_name}"
                for e in result.get_asset_check_evaluations()
                if not e.passed
            ]
            if not result.success:
                summary.error = _failure_sentence(result)
            _database_figures(engine, summary, started)
            _record_run(
                engine,
                run_id,
                "succeeded" if summary.succeeded else "failed",
                {
                    "stage_seconds": summary.stage_seconds,
                    "marts": summary.marts,
                    "error": summary.error,
                    "as_of": as_of or None,
                    "resolve": summary.resolve or None,
                    "marts_kept": summary.marts_kept,
                    "marts_build": summary.marts_build or None,
                },
            )
            _mark_interrupted_runs(engine)  # those whose sessions outlived them a moment
    except sa.exc.DBAPIError:
        db.connect_checked(engine.url)  # the database went away mid-run: one sentence
        raise
    return summary
