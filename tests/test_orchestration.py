"""The Dagster side: one definition of the pipeline, a sensor on the inbox, a nightly schedule."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from orchestration.automation import FULL_TAG, inbox_fingerprint, inbox_sensor
from orchestration.definitions import defs


def test_the_asset_graph_reads_inbox_to_raw_to_resolve_to_marts() -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"raw/dealer_sales", "resolve/customer_source_map", "marts/customers"} <= keys
    customers = graph.get(dg.AssetKey(["marts", "customers"]))
    upstream = set()
    frontier = set(customers.parent_keys)
    while frontier:
        key = frontier.pop()
        upstream.add(key.to_user_string())
        frontier |= set(graph.get(key).parent_keys)
    assert "resolve/customer_source_map" in upstream
    assert "raw/dealer_sales" in upstream


def test_dbt_tests_show_up_as_asset_checks() -> None:
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert "assert_lifetime_value_reconciles_to_landed_rows" in checks
    assert "quarantine_rate_is_low" in checks
    assert "no_giant_clusters" in checks


def test_the_nightly_schedule_and_the_inbox_sensor_run_the_whole_pipeline() -> None:
    schedule = defs.resolve_schedule_def("nightly_pipeline")
    assert schedule.cron_schedule == "0 2 * * 1-6"
    assert schedule.job_name == "dealer360_pipeline"
    assert defs.resolve_sensor_def("inbox_sensor").job_name == "dealer360_pipeline"
    # Sunday's slot is a full run: it learns the matching model again (FULL_TAG).
    weekly = defs.resolve_schedule_def("weekly_full_pipeline")
    assert weekly.cron_schedule == "0 2 * * 0"
    assert weekly.job_name == "dealer360_pipeline"
    assert weekly.tags == {FULL_TAG: "true"}
    assert "dealer360/full" not in schedule.tags


def test_the_sensor_launches_a_run_for_a_new_or_changed_file_and_skips_otherwise(
    tmp_path: Path, monkeypatch
) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "dealers").mkdir(parents=True)
    monkeypatch.setenv("DEALER360_INBOX", str(inbox))

    first = inbox_sensor(dg.build_sensor_context(cursor=None))
    assert isinstance(first, dg.RunRequest)  # an empty inbox is still a first state
    cursor = inbox_fingerprint(inbox)

    assert isinstance(inbox_sensor(dg.build_sensor_context(cursor=cursor)), dg.SkipReason)

    (inbox / "dealers" / "dealers.csv").write_text(
        "dealer_code,dealer_name,brands\nD1,One,Toyota\n"
    )
    new_file = inbox_sensor(dg.build_sensor_context(cursor=cursor))
    assert isinstance(new_file, dg.RunRequest)

    cursor = inbox_fingerprint(inbox)
    path = inbox / "dealers" / "dealers.csv"
    path.write_text("dealer_code,dealer_name,brands\nD1,One,Toyota|Lexus\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert isinstance(inbox_sensor(dg.build_sensor_context(cursor=cursor)), dg.RunRequest)


def test_a_missing_inbox_is_a_skip_not_a_failure(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DEALER360_INBOX", str(tmp_path / "nowhere"))
    result = inbox_sensor(dg.build_sensor_context(cursor=None))
    assert isinstance(result, dg.SkipReason)
    assert "does not exist" in str(result.skip_message)


def test_the_dbt_resource_knows_the_version_of_the_dbt_it_runs_without_starting_it() -> None:
    """The dbt resource skips dagster-dbt's `dbt --version` (a dbt start-up per build): the
    version it gives must be the one that dbt itself prints, and the attributes it overrides
    must still be dagster-dbt's (an upgrade that renamed them would bring the cost back)."""
    import re
    import subprocess

    from dagster_dbt import DbtCliResource

    from orchestration.modeling import DBT_EXECUTABLE, dbt_resource

    assert "_cli_version" in vars(DbtCliResource)
    assert callable(getattr(DbtCliResource, "_initialize_dbt_core_adapter", None))
    printed = subprocess.run(
        [DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert str(dbt_resource._cli_version) == re.search(r"(\d+\.\d+\.\d+)", printed).group(1)
    assert dbt_resource._initialize_dbt_core_adapter(["build"]) is None
