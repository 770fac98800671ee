"""Reading one CSV file as a stream of record batches, with its header matched to the contract.

Arrow's CSV reader does the parsing (quoted commas and newlines, CRLF, long values) in
blocks, so memory stays flat in the size of the file and no Python runs per row. Only
the header and the rows whose number of fields does not match it are handled in Python.

Row numbers count the header as row 1, so the first data row is row 2: the number a
spreadsheet shows, and the line a text editor shows unless an earlier value spans lines.
Blank lines and rows of empty cells (`,,,`) keep their number but are skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ingest.contract import BLANKS, Source

# Arrow parses a block at a time; one row (a record with a 100 kB note is fine) must fit.
BLOCK_BYTES = 2 << 20
_FIELD_LIMIT = BLOCK_BYTES


class BadFile(Exception):
    """The file cannot be loaded; the message completes the sentence "<file> ..."."""


@dataclass(frozen=True)
class Layout:
    """Where each contract column sits in this file's rows, and what else the file carries."""

    source: Source
    names: tuple[str, ...]  # the header as sent (trimmed); an unnamed column is column_<n>
    positions: dict[str, int]  # contract column → index in a row

    @property
    def width(self) -> int:
        return len(self.names)

    @property
    def extras(self) -> tuple[int, ...]:
        """Indexes of the columns the contract does not name."""
        named = set(self.positions.values())
        return tuple(i for i in range(self.width) if i not in named)


@dataclass
class Batch:
    numbers: np.ndarray  # row number of each row
    # Every cell as sent, column after column: one array, so that a step done to every
    # cell is one Arrow call, not one per column.
    flat: pa.Array
    width: int
    malformed: list[tuple[int, str, dict[str, str]]]  # (row number, reason, raw values)

    def __len__(self) -> int:
        return len(self.numbers)

    def columns(self, flat: pa.Array) -> list[pa.Array]:
        """An array laid out as `flat`, cut into its columns (no copy)."""
        rows = len(self.numbers)
        return [flat.slice(i * rows, rows) for i in range(self.width)]


def read_layout(header: list[str], source: Source) -> Layout:
    """Match a header to the contract: names compared case-insensitively, order free."""
    if not any(name.strip(BLANKS) for name in header):
        raise BadFile("has no header row (its first line is empty)")
    names = tuple(name.strip(BLANKS) or f"column_{i}" for i, name in enumerate(header, start=1))
    positions: dict[str, int] = {}
    seen: set[str] = set()
    for i, name in enumerate(names):
        key = name.lower()
        if key in seen:
            raise BadFile(f"has the column {name!r} twice in its header")
        seen.add(key)
        if key in source.column_names:
            positions[key] = i
    missing = [c for c in source.required if c not in positions]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise BadFile(
            f"is missing the required column{plural} {', '.join(missing)} in its header"
            + _separator_hint(header)
        )
    return Layout(source=source, names=names, positions=positions)


def _separator_hint(header: list[str]) -> str:
    if len(header) == 1:
        for separator, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if separator in header[0]:
                return f" (its header is one column: is it separated by {label}, not commas?)"
    return ""


def read_header(head: BinaryIO) -> list[str]:
    """The first record of the file (a UTF-8 byte-order mark dropped)."""
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    text = io.TextIOWrapper(head, encoding="utf-8-sig", newline="")
    header = next(csv.reader(text), None)
    text.detach()
    if header is None:
        raise BadFile("has no header row")
    return header


def batches(stream: BinaryIO, layout: Layout) -> Iterator[Batch]:
    """The data rows of `stream` (positioned at the start of the file) in batches."""
    # Rows Arrow sets aside because their number of fields is wrong, by row number;
    # None for one without a single value (skipped like a blank line, but numbered).
    malformed: dict[int, tuple[str, dict[str, str]] | None] = {}

    def set_aside(row) -> str:
        if row.number is None:  # Arrow knows it when reading serially, as here
            raise BadFile(
                f"has a row with {row.actual_columns} fields where the header has {row.expected_columns}"
            )
        values = next(csv.reader(io.StringIO(row.text)), [])
        count = len(values)
        reason = f"row has {count} field{'s' if count != 1 else ''}, the header has {layout.width}"
        malformed[row.number] = (reason, raw_values(values, layout)) if any(values) else None
        return "skip"

    def take_aside(numbers: Iterable[int]) -> list[tuple[int, str, dict[str, str]]]:
        taken = [(n, malformed.pop(n)) for n in sorted(numbers)]
        return [(n, *row) for n, row in taken if row is not None]

    columns = [f"c{i}" for i in range(1, layout.width + 1)]
    reader = pa_csv.open_csv(
        stream,
        read_options=pa_csv.ReadOptions(
            use_threads=False, block_size=BLOCK_BYTES, skip_rows=1, column_names=columns
        ),
        parse_options=pa_csv.ParseOptions(
            newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=set_aside
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types={c: pa.string() for c in columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    next_number = 2
    for record_batch in _record_batches(reader):
        numbers = _row_numbers(next_number, record_batch.num_rows, malformed)
        next_number = int(numbers[-1]) + 1 if len(numbers) else next_number
        aside = take_aside(n for n in malformed if n < next_number)
        flat = pa.concat_arrays(record_batch.columns)
        lengths = pc.binary_length(flat).to_numpy().reshape(layout.width, -1)
        keep = lengths.sum(axis=0) > 0  # a blank line reads as a row of empty cells
        if not keep.all():
            flat = flat.filter(np.tile(keep, layout.width))
            numbers = numbers[keep]
        yield Batch(numbers, flat, layout.width, aside)
    if malformed:
        empty = pa.array([], pa.string())
        yield Batch(np.zeros(0, dtype=np.int64), empty, layout.width, take_aside(list(malformed)))


def _record_batches(reader: pa_csv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
    try:
        yield from reader
    except pa.ArrowInvalid as exc:
        raise BadFile(f"could not be read as CSV ({exc})") from None


def _row_numbers(first: int, count: int, set_aside: dict[int, object]) -> np.ndarray:
    """The numbers of `count` rows read from row `first` on, skipping the rows set aside."""
    end = first + count
    while True:
        skipped = [n for n in set_aside if first <= n < end]
        if end - first - len(skipped) == count:
            break
        end = first + count + len(skipped)
    numbers = np.arange(first, end, dtype=np.int64)
    return np.setdiff1d(numbers, skipped, assume_unique=True) if skipped else numbers


def raw_values(row: list[str], layout: Layout) -> dict[str, str]:
    """A row as header name → value; fields beyond the header are named column_<n>."""
    return {
        (layout.names[i] if i < layout.width else f"column_{i + 1}"): value
        for i, value in enumerate(row)
    }
