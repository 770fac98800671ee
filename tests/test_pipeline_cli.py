"""`dealer360 run` on a hostile inbox: no traceback, exit 0, and exactly what was rejected is reported;
on a failing stage: one sentence that names the log to open."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import URL

from generator import generate_inbox
from tests.test_leads import INBOX as LEADS_INBOX

# Long enough that an 80-column table would cut it: a log or a pipe must keep it whole.
LONG_NAME = "crm_leads/export_from_the_dealer_crm_for_the_quarter_ending_2024_12_31_latin1.csv"


def _run(inbox: Path, url: URL, home: Path, *options: str) -> subprocess.CompletedProcess:
    """`dealer360 run` with its output to pipes, as in a log or a CI job (COLUMNS as a shell
    that exports it would leave it), and a DEALER360_HOME of its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "DATABASE_URL")}
    env |= {
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "DEALER360_HOME": str(home),
        "COLUMNS": "80",
    }
    return subprocess.run(
        [sys.executable, "-m", "dealer360.cli", "run", "--inbox", str(inbox), *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _dagster_runs(home: Path) -> list[dg.DagsterRun]:
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    try:
        return list(instance.get_runs())
    finally:
        instance.dispose()


def _hostile_inbox(root: Path) -> Path:
    inbox = root / "inbox"
    generate_inbox(inbox, people=60, seed=11, bad_rows=0.02)
    (inbox / LONG_NAME).write_bytes(
        "dealer_code,lead_id,created_at,first_name\nQA,1,2025-01-02T10:00:00,Amélie\n".encode(
            "latin-1"
        )
    )
    (inbox / "dealer_sales" / "spreadsheet.csv").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    (inbox / "service_orders" / "empty.csv").write_bytes(b"")
    (inbox / "oem_registrations" / "no_vin.csv").write_text(
        "brand,registration_id,registration_date\nToyota,R1,2024-01-01\n"
    )
    return inbox


def test_a_hostile_inbox_never_crashes_run_and_every_rejected_file_is_named(tmp_path, database_url):
    inbox = _hostile_inbox(tmp_path)
    result = _run(inbox, database_url, tmp_path / "home")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    for name in (LONG_NAME, "spreadsheet.csv", "empty.csv", "no_vin.csv"):
        assert name in output, f"{name} is not named whole in the summary"
    assert "Pipeline completed" in output

    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rejected = set(
            conn.scalars(sa.text("select file_name from raw.files where status = 'rejected'"))
        )
        quarantined = conn.scalar(sa.text("select count(*) from raw.quarantine"))
        customers = conn.scalar(sa.text("select count(*) from marts.customers"))
    engine.dispose()
    assert rejected == {
        LONG_NAME,
        "dealer_sales/spreadsheet.csv",
        "service_orders/empty.csv",
        "oem_registrations/no_vin.csv",
    }
    assert quarantined > 0  # the generator's contract-breaking rows
    assert customers > 0  # and the good rows still made it all the way to the marts
    assert [run.job_name for run in _dagster_runs(tmp_path / "home")] == ["dealer360_pipeline"]
    # Long stages say how far they are in Dagster's run log (the CLI draws it as a bar).
    lines = _run_log(tmp_path / "home")
    landed = [line for line in lines if line.startswith("landing: ")]
    assert len(landed) >= 2 and landed[-1].split(" of ")[0] == "landing: " + (
        landed[-1].split(" of ")[1].removesuffix(" MB read")
    ), landed  # tenths of the bytes, the last one all of them
    assert any(line.startswith("resolving: 4 of 4 done") for line in lines), lines
    modelled = [line for line in lines if line.startswith("modelling: ")]
    assert len(modelled) >= 10 and modelled[0].startswith("modelling: 1 of "), modelled


def _run_log(home: Path) -> list[str]:
    """The messages the one run's steps wrote to Dagster's log."""
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    try:
        (run,) = instance.get_runs()
        return [e.user_message for e in instance.all_logs(run.run_id) if e.user_message]
    finally:
        instance.dispose()


def test_a_failed_dbt_build_is_one_sentence_naming_its_log(tmp_path, database_url):
    inbox = tmp_path / "inbox"
    generate_inbox(inbox, people=20, seed=5)
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        # The database refuses one staging view, as it would a model with a broken query.
        conn.execute(
            sa.text(
                """
                create function public.refuse_crm_leads() returns event_trigger
                language plpgsql as $$
                begin
                    if exists (select 1 from pg_event_trigger_ddl_commands()
                               where object_identity like 'staging.stg_raw__crm_leads%') then
                        raise exception 'the test refuses this view';
                    end if;
                end $$;
                create event trigger refuse_crm_leads on ddl_command_end
                execute function public.refuse_crm_leads();
                """
            )
        )
    engine.dispose()

    result = _run(inbox, database_url, tmp_path / "home")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = re.findall(r"^error: .*", result.stderr, flags=re.MULTILINE)
    assert len(errors) == 1, result.stderr
    log = tmp_path / "home" / "logs" / "dbt-last-run.log"
    assert errors[0].endswith(f"; its log is {log}."), errors[0]
    assert "model staging.stg_raw__crm_leads: the test refuses this view" in errors[0]
    assert "the test refuses this view" in log.read_text()


def test_a_stage_that_crashes_is_one_sentence_and_its_traceback_is_in_the_named_log(
    tmp_path, monkeypatch
):
    from orchestration.runner import _failure_sentence

    @dg.asset(name="land_inbox")
    def crashing_landing() -> None:
        raise ValueError("the inbox exploded")

    monkeypatch.setenv("DEALER360_HOME", str(tmp_path))
    result = dg.materialize([crashing_landing], raise_on_error=False)
    sentence = _failure_sentence(result)
    log = tmp_path / "logs" / "last-failed-run.log"
    assert sentence == (
        f"the land stage failed (ValueError: the inbox exploded); its log is {log}."
    )
    assert 'raise ValueError("the inbox exploded")' in log.read_text()  # the traceback


def test_as_of_builds_the_marts_as_known_that_day_a_plain_run_restores_today_and_keeps_them_until_new_input(
    tmp_path, database_url
):
    inbox = tmp_path / "inbox"
    for source, text in LEADS_INBOX.items():
        (inbox / source).mkdir(parents=True)
        (inbox / source / f"{source}.csv").write_text(text, encoding="utf-8")
    engine = sa.create_engine(database_url)

    def known() -> tuple[set[str], set[str], str]:
        with engine.connect() as conn:
            events = set(conn.scalars(sa.text("select event_id from marts.customer_events")))
            leads = set(conn.scalars(sa.text("select source_record_id from marts.lead_outcomes")))
            as_of = str(
                conn.scalar(sa.text("select max(as_of_date) from marts.contact_permissions"))
            )
        return events, leads, as_of

    result = _run(inbox, database_url, tmp_path / "home", "--as-of", "2026-04-01")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "what was known on 2026-04-01" in output
    assert "Identity: full run (no model has been learnt yet)" in output
    assert "Marts: built in full (the marts are built as known on 2026-04-01)" in output
    events, leads, as_of = known()
    # S200 (3 March) happened; S100 (10 April) and Daniel's registration (August) had not.
    assert "dealer_sales:D02:S200" in events
    assert not any(e.endswith(("D01:S100", "HON-0500")) for e in events), events
    assert leads == {"D01:L100", "D02:L101", "D01:L200", "D01:L300"}
    assert as_of == "2026-04-01"  # Bruno's sale of 3 March implies consent that day

    # --as-of leaves identities alone (every landed record is resolved either way), so the
    # plain run finds nothing new to resolve unless asked for a full run.
    result = _run(inbox, database_url, tmp_path / "home", "--full")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Identity: full run (a full run was asked for)" in result.stdout
    events, leads, as_of = known()
    assert "dealer_sales:D01:S100" in events
    assert "D01:L600" in leads

    # Nothing dbt reads changed since: the marts are kept as they are, not built again.
    result = _run(inbox, database_url, tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Marts: nothing they read changed since they were built" in result.stdout
    assert known() == (events, leads, as_of)

    # A new file is new input: the next run builds the marts again and shows it.
    (inbox / "crm_leads" / "next_day.csv").write_text(
        LEADS_INBOX["crm_leads"].splitlines()[0]
        + "\nD01,L900,2026-05-01T10:00:00-04:00,web,Gisèle,Roy,gisele.roy@videotron.ca,"
        "514-555-9090,Toyota,RAV4,open,,\n",
        encoding="utf-8",
    )
    result = _run(inbox, database_url, tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Marts: nothing they read changed" not in result.stdout
    assert "the incremental models rebuilt only the records and customers" in result.stdout
    assert "D01:L900" in known()[1]


def test_a_bad_as_of_date_is_one_sentence_and_lands_nothing(tmp_path, database_url):
    inbox = tmp_path / "inbox"
    generate_inbox(inbox, people=5, seed=3)
    for value, words in (("2026-13-01", "YYYY-MM-DD"), ("2999-01-01", "after today")):
        result = _run(inbox, database_url, tmp_path / "home", "--as-of", value)
        assert result.returncode == 1
        assert "Traceback" not in result.stdout + result.stderr
        errors = re.findall(r"^error: .*", result.stderr, flags=re.MULTILINE)
        assert len(errors) == 1 and words in errors[0], result.stderr
    with sa.create_engine(database_url).connect() as conn:
        assert conn.scalar(sa.text("select count(*) from raw.files")) == 0
