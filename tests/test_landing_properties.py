"""Whatever bytes arrive, landing a file never crashes and never loses count of a row."""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ingest.contract import SOURCES
from ingest.loader import load_file

SALES = SOURCES["dealer_sales"]
PROPERTY = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_names = itertools.count()

cell = st.one_of(
    st.sampled_from(
        ["", " ", "D01", "1", "2", "2024-01-02", "2023-13-45", "1HGCM82633A004352", "NEW",
         "cash", "24999.95", "60", "x'); drop table raw.files; --", '"', ",", "\r\n", "\ufeff"]
    ),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12),
)  # fmt: skip
# Mostly the required columns plus a few others, in any order; now and then one missing.
header = st.builds(
    lambda required, others, keep: [*required[:keep], *others],
    st.permutations(SALES.required),
    st.lists(st.sampled_from([*SALES.column_names, "notes", "Loyalty", ""]), max_size=4),
    st.sampled_from([len(SALES.required)] * 9 + [len(SALES.required) - 1]),
).flatmap(st.permutations)


@st.composite
def csv_files(draw) -> tuple[bytes, set[int]]:
    """A CSV file (header + rows of any width) and the numbers of its rows with a value
    (the header is row 1)."""
    names = draw(header)
    rows = draw(
        st.lists(
            st.lists(cell, min_size=max(len(names) - 1, 0), max_size=len(names) + 1),
            max_size=12,
        )
    )
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(names)
    writer.writerows(rows)
    # Python's own reader is the oracle (a lone \r in a cell also ends a record).
    records = list(csv.reader(io.StringIO(text.getvalue(), newline="")))
    return text.getvalue().encode(), {
        n for n, row in enumerate(records, start=1) if n > 1 and any(row)
    }


def land(engine, tmp_path: Path, content: bytes):
    """Load `content` as a new file into an empty raw layer (examples must not share state)."""
    with engine.begin() as conn:
        conn.execute(sa.text("truncate raw.dealer_sales, raw.files, raw.quarantine"))
    name = f"dealer_sales/{next(_names)}.csv"
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    return load_file(engine, path, "dealer_sales", tmp_path)


def assert_accounted_for(engine, result) -> None:
    with engine.connect() as conn:
        status = conn.scalar(
            sa.text("select status from raw.files where file_name = :f"), {"f": result.file_name}
        )
        quarantined = conn.scalar(
            sa.text("select count(*) from raw.quarantine where file_name = :f"),
            {"f": result.file_name},
        )
        landed = conn.scalar(
            sa.text("select count(*) from raw.dealer_sales where file_name = :f"),
            {"f": result.file_name},
        )
    assert status == result.status
    assert quarantined == result.rows_quarantined
    assert landed == result.rows_loaded
    assert result.rows_read == result.rows_loaded + result.rows_unchanged + result.rows_quarantined
    if result.status == "rejected":
        assert result.message.startswith(result.file_name + " ")
        assert result.rows_read == quarantined == landed == 0


@pytest.fixture
def inbox(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("inbox")


@PROPERTY
@given(csv_files())
def test_any_csv_loads_and_every_row_is_loaded_unchanged_or_quarantined(engine, inbox, generated):
    content, numbered_rows = generated
    result = land(engine, inbox, content)
    event(f"{result.status}, {result.rows_quarantined > 0 and 'some' or 'no'} rows quarantined")
    assert_accounted_for(engine, result)
    if result.status == "loaded":
        assert result.rows_read == len(numbered_rows)
        # Into an empty raw layer every row is new or quarantined, under its own number.
        assert numbers_landed(engine, result.file_name) == numbered_rows
    else:
        assert "missing the required" in result.message or "twice in its header" in result.message


def numbers_landed(engine, file_name: str) -> set[int]:
    with engine.connect() as conn:
        return set(
            conn.scalars(
                sa.text(
                    "select row_number from raw.dealer_sales where file_name = :f"
                    " union all select row_number from raw.quarantine where file_name = :f"
                ),
                {"f": file_name},
            )
        )


@PROPERTY
@given(st.binary(max_size=400), st.booleans())
def test_any_bytes_are_loaded_or_rejected_never_a_crash(engine, inbox, noise, with_header):
    prefix = b"dealer_code,deal_id,deal_date,vin\n" if with_header else b""
    result = land(engine, inbox, prefix + noise)
    event(result.status)
    assert_accounted_for(engine, result)
