"""The row rules of the landing contract, checked over whole columns at once.

Every value is trimmed (`contract.BLANKS`) and an empty one becomes null; then each
column is checked by its kind and a row that breaks a rule gets a reason a person
understands, e.g. `deal_date '2023-13-45' is not a date (expected YYYY-MM-DD)` (several
problems in a row are joined with '; '). The checks are Arrow compute and NumPy over a
batch; Python only writes the message of a row that fails.

Dates must be ISO `YYYY-MM-DD` and real calendar days: `03/04/2021` is refused because
it is the 3rd of April on one side of the border and the 4th of March on the other.
Timestamps are ISO 8601 (`2024-03-05T14:30:00`, seconds, fraction and offset optional;
a date alone means midnight). Numbers use a dot and no thousands separator; whole
numbers have at most 9 digits so that they fit an integer column downstream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.contract import BLANKS, Column, Kind, Source

_DATE = r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})$"
_TIMESTAMP = (
    r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
    r"(?:[Tt ](?P<hh>\d{2}):(?P<mm>\d{2})(?::(?P<ss>\d{2})(?:\.\d+)?)?"
    r"(?:[Zz]|[+-](?P<oh>\d{2})(?::?(?P<om>\d{2}))?)?)?$"
)
_PATTERNS = {
    Kind.DECIMAL: r"^[+-]?(\d+(\.\d*)?|\.\d+)$",
    Kind.INT: r"^[+-]?\d{1,9}$",
}
_EXPECTED = {
    Kind.DATE: "is not a date (expected YYYY-MM-DD)",
    Kind.TIMESTAMP: "is not a timestamp (expected ISO 8601, e.g. 2024-03-05T14:30:00)",
    Kind.DECIMAL: "is not a number (expected digits with a dot, e.g. 24999.95)",
    Kind.INT: "is not a whole number of at most 9 digits",
}
_SHOWN_CHARACTERS = 60
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@dataclass
class Checked:
    """A batch's values as they land, and per row why it cannot (None when it can)."""

    values: dict[str, pa.Array]  # contract column → stored text (null when empty or absent)
    reasons: list[str | None]

    @property
    def failed(self) -> np.ndarray:
        return np.array([r is not None for r in self.reasons], dtype=bool)


def landed(cells: pa.Array) -> pa.Array:
    """Cells as they land: blanks trimmed from both ends, an empty cell null."""
    trimmed = pc.utf8_trim(cells, characters=BLANKS)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def check(source: Source, cells: dict[str, pa.Array], rows: int) -> Checked:
    """Check one batch: `cells` holds the file's cells of each contract column it has."""
    absent = pa.nulls(rows, pa.string())
    values: dict[str, pa.Array] = {}
    problems: dict[int, list[str]] = {}
    for column in source.columns:
        sent = landed(cells[column.name]) if column.name in cells else absent
        values[column.name], wrong = _check_column(column, sent)
        for i in np.flatnonzero(wrong).tolist():
            problems.setdefault(i, []).append(_message(column, sent[i].as_py()))
    reasons: list[str | None] = [None] * rows
    for i, messages in problems.items():
        reasons[i] = "; ".join(messages)
    return Checked(values, reasons)


def _check_column(column: Column, value: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The stored value and a mask of the rows where it breaks the column's rule."""
    present = _mask(pc.is_valid(value))
    if column.kind is Kind.ENUM:
        spellings = column.spellings()
        key = pc.replace_substring_regex(pc.utf8_lower(value), r"[ -]", "_")
        index = pc.index_in(key, value_set=pa.array(list(spellings), pa.string()))
        value = pc.take(pa.array(list(spellings.values()), pa.string()), index)
        wrong = present & ~_mask(pc.is_valid(value))
    elif column.kind in _PATTERNS:
        wrong = present & ~_mask(pc.match_substring_regex(value, _PATTERNS[column.kind]))
    elif column.kind is Kind.DATE:
        wrong = present & ~_calendar(value, _DATE)
    elif column.kind is Kind.TIMESTAMP:
        wrong = present & ~_calendar(value, _TIMESTAMP)
    else:
        wrong = np.zeros(len(value), dtype=bool)
    if column.required:
        wrong |= ~present
    return value, wrong


def _calendar(value: pa.Array, pattern: str) -> np.ndarray:
    """Rows that match `pattern` and name a real day (and time of day, and offset)."""
    parts = pc.extract_regex(value, pattern)
    matched = _mask(pc.is_valid(parts))
    number = {name: _integers(parts.field(name)) for name in (f.name for f in parts.type)}
    y, m, d = number["y"], number["m"], number["d"]
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_days = _DAYS_IN_MONTH[np.clip(m, 0, 12)] + (leap & (m == 2))
    ok = matched & (y >= 1) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= month_days)
    if "hh" in number:
        ok &= (number["hh"] <= 23) & (number["mm"] <= 59) & (number["ss"] <= 59)
        ok &= (number["oh"] <= 15) & (number["om"] <= 59)
    return ok


def _integers(digits: pa.Array) -> np.ndarray:
    """Digit strings as integers; an empty or missing part (an optional group) is 0."""
    filled = pc.if_else(pc.equal(pc.fill_null(digits, ""), ""), "0", pc.fill_null(digits, "0"))
    return pc.cast(filled, pa.int64()).to_numpy(zero_copy_only=False)


def _mask(flags: pa.Array) -> np.ndarray:
    return pc.fill_null(flags, False).to_numpy(zero_copy_only=False).astype(bool)


def _message(column: Column, sent: str | None) -> str:
    if sent is None:
        return f"{column.name} is missing (required)"
    shown = sent if len(sent) <= _SHOWN_CHARACTERS else sent[:_SHOWN_CHARACTERS] + "…"
    if column.kind is Kind.ENUM:
        return f"{column.name} '{shown}' is not one of {', '.join(column.allowed)}"
    return f"{column.name} '{shown}' {_EXPECTED[column.kind]}"
