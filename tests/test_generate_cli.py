"""`dealer360 generate` tells a person what it wrote, in words and figures."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from dealer360.cli import app
from ingest.contract import SOURCES


def test_generate_prints_files_rows_and_people_per_source_and_where_the_truth_is(
    tmp_path: Path,
) -> None:
    out = tmp_path / "inbox"
    result = CliRunner().invoke(app, ["generate", "--out", str(out), "--people", "30"])
    assert result.exit_code == 0, result.output
    assert "GenerationSummary" not in result.output  # no Python repr
    lines = result.output.splitlines()
    for source in SOURCES:
        files = sorted((out / source).glob("*.csv"))
        if not files:
            continue
        rows = 0
        for file in files:
            with file.open(newline="", encoding="utf-8-sig", errors="replace") as f:
                rows += sum(1 for _ in csv.reader(f)) - 1
        line = next(line for line in lines if f" {source} " in line)
        assert f" {len(files):,} " in line and f" {rows:,} " in line, line
    assert "30 people" in result.output
    assert f"{out / 'truth.csv'}." in result.output
