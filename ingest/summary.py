"""What a load did, file by file and source by source: for the CLI, Dagster metadata and tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ingest.contract import SOURCES

Status = Literal["loaded", "rejected", "unchanged"]


@dataclass
class FileResult:
    """One file's outcome; rows_read = rows_loaded + rows_unchanged + rows_quarantined."""

    file_name: str  # relative to the inbox: dealer_sales/2024.csv
    source: str
    status: Status
    sha256: str
    size_bytes: int
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    rows_suppressed: int = 0  # of the rows read: a forgotten person's, landed without PII
    message: str | None = None  # for a rejected file, a sentence that starts with its name
    seconds: float = 0.0

    @property
    def rows_loaded(self) -> int:
        """Rows that changed the raw table: new source_record_ids plus updated ones."""
        return self.rows_inserted + self.rows_updated


@dataclass
class SourceTotals:
    source: str
    files_loaded: int = 0
    files_unchanged: int = 0
    files_rejected: int = 0
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    rows_suppressed: int = 0

    @property
    def rows_loaded(self) -> int:
        return self.rows_inserted + self.rows_updated

    def add(self, result: FileResult) -> None:
        setattr(self, f"files_{result.status}", getattr(self, f"files_{result.status}") + 1)
        for name in (
            "rows_read",
            "rows_inserted",
            "rows_updated",
            "rows_unchanged",
            "rows_quarantined",
            "rows_suppressed",
        ):
            setattr(self, name, getattr(self, name) + getattr(result, name))


@dataclass
class LoadSummary:
    """Everything one `load_inbox` did; `render()` is what the CLI prints."""

    inbox: Path
    files: list[FileResult] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # paths skipped, each with why
    seconds: float = 0.0

    @property
    def by_source(self) -> dict[str, SourceTotals]:
        """Totals per source, every source of the contract present, in contract order."""
        totals = {name: SourceTotals(name) for name in SOURCES}
        for result in self.files:
            totals[result.source].add(result)
        return totals

    @property
    def total(self) -> SourceTotals:
        total = SourceTotals("total")
        for result in self.files:
            total.add(result)
        return total

    @property
    def rejected(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "rejected"]

    @property
    def rows_per_second(self) -> float:
        return self.total.rows_read / self.seconds if self.seconds else 0.0

    def result(self, file_name: str) -> FileResult:
        """The outcome of one file, by its name relative to the inbox."""
        return next(f for f in self.files if f.file_name == file_name)

    def render(self) -> RenderableType:
        table = Table(
            title=f"Landed from {self.inbox}",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
        )
        table.add_column("source", no_wrap=True)
        headings = ("files", "rows\nnew", "rows\nupdated", "rows\nunchanged", "rows\nquarantined")
        for heading in headings:
            table.add_column(heading, justify="right", no_wrap=True)
        totals = [*self.by_source.values(), self.total]
        for t in totals:
            figures = (
                t.files_loaded + t.files_unchanged + t.files_rejected,
                t.rows_inserted,
                t.rows_updated,
                t.rows_unchanged,
                t.rows_quarantined,
            )
            table.add_row(
                t.source,
                *(f"{n:,}" for n in figures),
                end_section=t is totals[-2],
                style="bold" if t is totals[-1] else None,
            )
        total = self.total
        parts: list[RenderableType] = [
            table,
            Text(
                f"{len(self.files):,} files: {total.files_loaded:,} loaded,"
                f" {total.files_unchanged:,} unchanged (already loaded),"
                f" {total.files_rejected:,} rejected; {total.rows_read:,} rows read in"
                f" {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s)",
                style="dim",
            ),
        ]
        if total.rows_suppressed:
            parts.append(
                Text(
                    f"{total.rows_suppressed:,} rows of forgotten people landed without their"
                    " identifying values (suppression list)",
                    style="yellow",
                )
            )
        parts += [Text(f"rejected: {f.message}", style="red") for f in self.rejected]
        parts += [Text(f"ignored {note}", style="yellow") for note in self.ignored]
        return Group(*parts)
