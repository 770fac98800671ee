"""How a pipeline run is shown in the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from orchestration.runner import PipelineSummary


def render_pipeline_summary(summary: PipelineSummary, console: Console) -> None:
    files = Table(title="Files seen in this run", title_justify="left")
    for column in ("source", "file", "status", "rows loaded", "rows quarantined", "message"):
        files.add_column(column, justify="right" if column.startswith("rows") else "left")
    for f in summary.files:
        style = {"rejected": "red", "unchanged": "dim"}.get(f["status"], "")
        files.add_row(
            f["source"] or "?",
            f["file_name"],
            f["status"],
            f"{f['rows_loaded'] or 0:,}",
            f"{f['rows_quarantined'] or 0:,}",
            f["message"] or "",
            style=style,
        )
    if summary.files:
        console.print(files)
    else:
        console.print("No new or changed file in the inbox.")

    totals = Table(title="What the database holds now", title_justify="left")
    totals.add_column("table")
    totals.add_column("rows", justify="right")
    totals.add_column("quarantined", justify="right")
    for source, n in summary.rows.items():
        totals.add_row(f"raw.{source}", f"{n:,}", f"{summary.quarantined.get(source, 0):,}")
    for table, n in summary.marts.items():
        totals.add_row(table, f"{n:,}", "")
    console.print(totals)

    if summary.failed_checks:
        console.print("[yellow]Checks that did not pass:[/] " + "; ".join(summary.failed_checks))
    stages = ", ".join(
        f"{stage} {seconds:.1f} s" for stage, seconds in summary.stage_seconds.items()
    )
    verdict = "[green]completed[/]" if summary.succeeded else "[red]failed[/]"
    console.print(f"Pipeline {verdict} ({stages or 'no stage ran'}).")
