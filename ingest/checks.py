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

from ingest.arrays import ascii_codes
from ingest.contract import BLANKS, Column, Kind, Source

# The patterns hold the ranges of months, days, hours, minutes, seconds and offsets;
# what a pattern cannot say (30 February, 29 February out of a leap year) is left to
# `_real_days`.
_DAY = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_DATE = rf"^{_DAY}$"
_TIMESTAMP = rf"^{_DAY}([Tt ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?([Zz]|[+-](0\d|1[0-5])(:?[0-5]\d)?)?)?$"
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
    """A batch's values as they land, and why the rows that cannot land cannot."""

    values: dict[str, pa.Array]  # contract column → stored text (null when empty or absent)
    failing: np.ndarray  # one boolean per row
    reasons: dict[int, str]  # row index → reason, for the failing rows


def landed(cells: pa.Array) -> pa.Array:
    """Cells as they land: blanks trimmed from both ends, an empty cell null."""
    trimmed = pc.utf8_trim(cells, characters=BLANKS)
    present = pc.greater(pc.binary_length(trimmed), 0)
    if trimmed.null_count or trimmed.offset or present.offset:
        return pc.if_else(present, trimmed, pa.scalar(None, pa.string()))
    # The same strings with the empty ones marked null: no copy of the text.
    return pa.Array.from_buffers(
        pa.string(), len(trimmed), [present.buffers()[1], *trimmed.buffers()[1:]]
    )


def check(source: Source, sent: dict[str, pa.Array], rows: int) -> Checked:
    """Check one batch: `sent` holds, as landed, each contract column the file has.

    A column the file lacks is null throughout (the header check made sure it is not
    a required one)."""
    values: dict[str, pa.Array] = {}
    problems: dict[int, list[str]] = {}
    for column in source.columns:
        if column.name not in sent:
            values[column.name] = pa.nulls(rows, pa.string())
            continue
        value = sent[column.name]
        values[column.name], wrong = _check_column(column, value)
        if wrong is not None:
            for i in np.flatnonzero(wrong).tolist():
                problems.setdefault(i, []).append(_message(column, value[i].as_py()))
    failing = np.zeros(rows, dtype=bool)
    failing[list(problems)] = True
    return Checked(values, failing, {i: "; ".join(m) for i, m in problems.items()})


def _check_column(column: Column, value: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """The stored value and a mask of the rows where it breaks the column's rule (None
    when no row can)."""
    if column.kind is Kind.ENUM:
        spellings = column.spellings()
        # contract.enum_match_key, over a whole column
        key = pc.replace_substring_regex(pc.utf8_lower(value), r"[ -]", "_")
        index = pc.index_in(key, value_set=pa.array(list(spellings), pa.string()))
        stored = pc.take(pa.array(list(spellings.values()), pa.string()), index)
        ok = stored.is_valid()
    elif column.kind in _PATTERNS:
        stored, ok = value, pc.match_substring_regex(value, _PATTERNS[column.kind])
    elif column.kind is Kind.DATE:
        stored, ok = value, _real_days(value, _DATE)
    elif column.kind is Kind.TIMESTAMP:
        stored, ok = value, _real_days(value, _TIMESTAMP)
    elif column.required:
        stored, ok = value, None
    else:
        return value, None
    present = _mask(value.is_valid())
    wrong = np.zeros(len(value), dtype=bool) if ok is None else present & ~_mask(ok)
    if column.required:
        wrong |= ~present
    return stored, wrong


def _real_days(value: pa.Array, pattern: str) -> pa.Array:
    """Which values match `pattern` and start with a day the calendar has."""
    matches = pc.fill_null(pc.match_substring_regex(value, pattern), False)
    days = pc.utf8_slice_codeunits(value.filter(matches), 0, 10)  # YYYY-MM-DD
    digits = ascii_codes(days, 10).astype(np.int64) - ord("0")
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month = digits[:, 5] * 10 + digits[:, 6]
    day = digits[:, 8] * 10 + digits[:, 9]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    real = (year >= 1) & (day <= _DAYS_IN_MONTH[month] + (leap & (month == 2)))
    ok = np.zeros(len(value), dtype=bool)
    ok[_mask(matches)] = real
    return pa.array(ok)


def _mask(flags: pa.Array) -> np.ndarray:
    if flags.null_count:
        flags = pc.fill_null(flags, False)
    return flags.to_numpy(zero_copy_only=False)


def _message(column: Column, sent: str | None) -> str:
    if sent is None:
        return f"{column.name} is missing (required)"
    shown = sent if len(sent) <= _SHOWN_CHARACTERS else sent[:_SHOWN_CHARACTERS] + "…"
    if column.kind is Kind.ENUM:
        return f"{column.name} '{shown}' is not one of {', '.join(column.allowed)}"
    return f"{column.name} '{shown}' {_EXPECTED[column.kind]}"
