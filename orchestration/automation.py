"""When the pipeline runs: one job for everything, a sensor on the inbox, a nightly schedule."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg

from dealer360.settings import get_settings

pipeline_job = dg.define_asset_job(
    "dealer360_pipeline",
    selection=dg.AssetSelection.all(),
    description="Land the inbox, resolve identities and build every mart.",
    # One process for the whole run: the stages run one after another anyway, and the
    # Dealer360 resource then holds the pipeline lock from the first step to the last.
    executor_def=dg.in_process_executor,
)

# A run tagged FULL_TAG = "true" re-learns the matching model and re-resolves every record
# (`dealer360 run --full`); any other run costs what changed (entity_resolution.pipeline).
FULL_TAG = "dealer360/full"

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_pipeline",
    job=pipeline_job,
    cron_schedule="0 2 * * 1-6",
    execution_timezone="America/Toronto",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Monday to Saturday at 02:00: an incremental run (what changed since the last).",
)

weekly_full_schedule = dg.ScheduleDefinition(
    name="weekly_full_pipeline",
    job=pipeline_job,
    cron_schedule="0 2 * * 0",
    execution_timezone="America/Toronto",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={FULL_TAG: "true"},
    description="Sunday at 02:00, in the nightly slot: a full run that learns the model again.",
)


def inbox_fingerprint(inbox: Path) -> str:
    """A digest of every CSV's path, size and modification time: it changes when a file does."""
    entries = sorted(
        f"{p.relative_to(inbox)}|{p.stat().st_size}|{p.stat().st_mtime_ns}"
        for p in inbox.glob("*/*")
        if p.is_file() and p.suffix.lower() == ".csv"
    )
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()


@dg.sensor(
    job=pipeline_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches the pipeline when a file in the inbox is added or changed.",
)
def inbox_sensor(context: dg.SensorEvaluationContext):
    inbox = get_settings().inbox
    if not inbox.is_dir():
        return dg.SkipReason(f"The inbox {inbox} does not exist yet.")
    fingerprint = inbox_fingerprint(inbox)
    if fingerprint == context.cursor:
        return dg.SkipReason("No new or changed file in the inbox.")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=fingerprint)
