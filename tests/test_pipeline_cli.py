"""`dealer360 run` on a hostile inbox: no traceback, exit 0, and exactly what was rejected is reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from generator import generate_inbox


def _hostile_inbox(root: Path) -> Path:
    inbox = root / "inbox"
    generate_inbox(inbox, people=60, seed=11, bad_rows=0.02)
    (inbox / "crm_leads" / "latin1_export.csv").write_bytes(
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
    env = {**os.environ, "DATABASE_URL": database_url.render_as_string(hide_password=False)}
    result = subprocess.run(
        [sys.executable, "-m", "dealer360.cli", "run", "--inbox", str(inbox)],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output
    for name in ("latin1_export.csv", "spreadsheet.csv", "empty.csv", "no_vin.csv"):
        assert name in output, f"{name} is not named in the summary"
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
        "crm_leads/latin1_export.csv",
        "dealer_sales/spreadsheet.csv",
        "service_orders/empty.csv",
        "oem_registrations/no_vin.csv",
    }
    assert quarantined > 0  # the generator's contract-breaking rows
    assert customers > 0  # and the good rows still made it all the way to the marts
