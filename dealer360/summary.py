"""How a pipeline run is shown in the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from orchestration.runner import PipelineSummary


def render_pipeline_summary(summary: PipelineSummary, console: Console) -> None:
    _render_files(summary.files, console)

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
    resolve = summary.resolve
    if resolve.get("mode") == "unchanged":
        console.print("Identity: nothing new since the last run; every customer kept as it was.")
    elif resolve.get("mode"):
        relinked = int(resolve.get("relinked_records") or 0)
        console.print(
            f"Identity: {resolve['mode']} run ({resolve.get('reason', '')});"
            f" {relinked:,} of {int(resolve.get('records') or 0):,} records re-clustered."
        )
    if summary.marts_kept:
        console.print("Marts: nothing they read changed since they were built; kept as they are.")
    elif summary.marts_build == "incremental":
        console.print(
            "Marts: built; the incremental models rebuilt only the records and customers that"
            " changed since the last build."
        )
    elif summary.marts_build.startswith("full: "):
        console.print(f"Marts: built in full ({summary.marts_build.removeprefix('full: ')}).")
    verdict = "[green]completed[/]" if summary.succeeded else "[red]failed[/]"
    console.print(f"Pipeline {verdict} ({stages or 'no stage ran'}).")
    if summary.as_of:
        console.print(
            f"The marts show what was known on {summary.as_of}: rows dated later are left"
            " out until a run without --as-of."
        )


def _render_files(files: list[dict], console: Console, detail_limit: int = 20) -> None:
    """Every file when there are few; otherwise counts per source and status, plus each
    file a person must look at (rejected, or with quarantined rows)."""
    if not files:
        console.print("No new or changed file in the inbox.")
        return
    needs_attention = [
        f for f in files if f["status"] == "rejected" or (f["rows_quarantined"] or 0) > 0
    ]
    if len(files) > detail_limit:
        by_source = Table(title=f"{len(files)} files seen in this run", title_justify="left")
        for column in (
            "source",
            "loaded",
            "unchanged",
            "rejected",
            "rows loaded",
            "rows quarantined",
        ):
            by_source.add_column(column, justify="left" if column == "source" else "right")
        for source in sorted({f["source"] or "?" for f in files}):
            mine = [f for f in files if (f["source"] or "?") == source]
            by_source.add_row(
                source,
                *(
                    str(sum(f["status"] == s for f in mine))
                    for s in ("loaded", "unchanged", "rejected")
                ),
                f"{sum(f['rows_loaded'] or 0 for f in mine):,}",
                f"{sum(f['rows_quarantined'] or 0 for f in mine):,}",
            )
        console.print(by_source)
        files = needs_attention
        if not files:
            return
    table = Table(
        title="Files" if len(files) <= detail_limit else "Files to look at", title_justify="left"
    )
    for column in ("source", "file", "status", "rows loaded", "rows quarantined", "message"):
        table.add_column(column, justify="right" if column.startswith("rows") else "left")
    for f in files:
        style = {"rejected": "red", "unchanged": "dim"}.get(f["status"], "")
        table.add_row(
            f["source"] or "?",
            f["file_name"],
            f["status"],
            f"{f['rows_loaded'] or 0:,}",
            f"{f['rows_quarantined'] or 0:,}",
            f["message"] or "",
            style=style,
        )
    console.print(table)
