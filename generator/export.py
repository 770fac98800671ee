"""Writing the inbox: one CSV per export file, the odd re-export, optional broken rows, truth.

Files differ the way real exports do: column order, extra columns, line endings, a BOM.
Rows that break the contract (`bad_rows`) keep their natural key so the truth file can
still name them; the loader is expected to quarantine them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from generator.sampling import chance, choice
from ingest.contract import SOURCES

BAD_DATES = ("2023-13-45", "03/04/2021", "31-12-2020", "2019-02-30", "N/D")
BAD_NUMBERS = ("12 500,00 $", "N/A", "abc", "-", "deux mille")
# Columns a broken row may damage per source: (required column to blank, date, number).
DAMAGE = {
    "dealer_sales": (
        ("deal_date", "vin"),
        ("deal_date",),
        ("sale_price", "term_months", "amount_financed"),
    ),
    "service_orders": (
        ("open_date", "vin"),
        ("open_date",),
        ("mileage", "labor_amount", "total_amount"),
    ),
    "oem_registrations": (("registration_date", "vin", "brand"), ("registration_date",), ()),
    "crm_leads": (("created_at",), ("created_at",), ("cost_amount",)),
    "oem_recalls": (("issued_date", "vin"), ("issued_date",), ()),
}
EXTRAS = {
    "dealers": ("website",),
    "dealer_sales": ("salesperson", "stock_number"),
    "service_orders": ("advisor", "technician"),
    "oem_registrations": ("selling_dealer", "model"),
    "crm_leads": ("campaign", "assigned_to"),
    "oem_recalls": ("model", "model_year"),
}


def break_rows(
    rng: np.random.Generator, source: str, frame: pd.DataFrame, rate: float
) -> tuple[pd.DataFrame, int]:
    """Damage a share of rows the way the contract says must go to quarantine."""
    if rate <= 0 or source not in DAMAGE:
        return frame, 0
    frame = frame.copy()
    hit = np.flatnonzero(chance(rng, len(frame), rate))
    blanks, dates, numbers = DAMAGE[source]
    kinds = [("blank", c) for c in blanks] + [("date", c) for c in dates]
    kinds += [("number", c) for c in numbers]
    pick = rng.integers(0, len(kinds), len(hit))
    for k, (kind, column) in enumerate(kinds):
        rows = hit[pick == k]
        if kind == "blank":
            value = np.full(len(rows), "", dtype=object)
        elif kind == "date":
            value = choice(rng, BAD_DATES, len(rows))
            if column == "created_at":
                value = value + "T10:00:00"
        else:
            value = choice(rng, BAD_NUMBERS, len(rows))
        frame.iloc[rows, frame.columns.get_loc(column)] = value
    return frame, len(hit)


class InboxWriter:
    """Writes one source at a time (so only one rendered source is in memory), then the truth."""

    def __init__(
        self, rng: np.random.Generator, out_dir: Path, *, bad_rows: float, reexports: bool
    ):
        self.rng = rng
        self.out_dir = out_dir
        self.bad_rows = bad_rows
        self.reexports = reexports
        self.rows: dict[str, int] = {}
        self.records: dict[str, int] = {}
        self.files: dict[str, int] = {}
        self.broken: dict[str, int] = {}
        self._truth: list[pd.DataFrame] = []
        out_dir.mkdir(parents=True, exist_ok=True)
        for source in SOURCES:  # a previous world in the same folder would mix with this one
            folder = out_dir / source
            folder.mkdir(exist_ok=True)
            for old in sorted(folder.glob("*.csv")):
                old.unlink()

    def dealers(self, frame: pd.DataFrame) -> None:
        _write_csv(
            self.out_dir / "dealers" / "dealers.csv", _as_columns(frame), crlf=False, bom=False
        )
        self.rows["dealers"] = self.records["dealers"] = len(frame)
        self.files["dealers"] = 1

    def source(self, source: str, frame: pd.DataFrame, style: pd.DataFrame) -> None:
        """Write a rendered source (or a part of one: parts must not share files)."""
        if SOURCES[source].is_person_source:
            self._truth.append(
                pd.DataFrame(
                    {
                        "source": source,
                        "source_record_id": frame["_srid"],
                        "person_id": frame["_person"],
                    }
                )
            )
        frame, broken = break_rows(self.rng, source, frame, self.bad_rows)
        for counter, value in ((self.records, len(frame)), (self.broken, broken)):
            counter[source] = counter.get(source, 0) + value
        self.rows.setdefault(source, 0)
        self.files.setdefault(source, 0)
        by_file = _FileSlices(frame)
        for name, rows in by_file:
            _write_csv(
                self.out_dir / source / name,
                by_file.columns(rows, _file_columns(source, style.loc[name])),
                crlf=bool(style.at[name, "crlf"]),
                bom=bool(style.at[name, "bom"]),
            )
            self.rows[source] += len(rows)
            self.files[source] += 1
        if self.reexports and source == "dealer_sales":
            self.rows[source] += _reexport(self.rng, self.out_dir / source, by_file, style)
            self.files[source] += 1

    def people(self, entities: pd.DataFrame) -> None:
        """`truth_people.csv`: who each truth person_id is (household, role, business owner)."""
        ids = entities["person_id"].to_numpy()
        owner = entities["owner_eid"].to_numpy()
        hid = entities["hid"].to_numpy()
        frame = pd.DataFrame(
            {
                "person_id": ids,
                "kind": entities["kind"].to_numpy(),
                "household_id": np.where(hid >= 0, [f"H{h + 1:05d}" for h in hid], ""),
                "role": entities["role"].to_numpy(),
                "owner_person_id": np.where(owner >= 0, ids[np.maximum(owner, 0)], ""),
            }
        ).sort_values("person_id", kind="stable")
        _write_csv(self.out_dir / "truth_people.csv", _as_columns(frame), crlf=False, bom=False)

    def families(self, rates: dict[str, str]) -> None:
        """`truth_families.csv`: the family rates this world was drawn with (people.Families)."""
        columns = {
            "rate": np.array(list(rates), dtype=object),
            "value": np.array(list(rates.values()), dtype=object),
        }
        _write_csv(self.out_dir / "truth_families.csv", columns, crlf=False, bom=False)

    def truth(self) -> None:
        """`truth.csv`: one line per person record, the person (or business) it belongs to."""
        truth = pd.concat(self._truth, ignore_index=True)
        truth = truth.sort_values(["source", "source_record_id"], kind="stable")
        _write_csv(self.out_dir / "truth.csv", _as_columns(truth), crlf=False, bom=False)


def _file_columns(source: str, style: pd.Series) -> list[str]:
    """The contract's columns plus this system's extras, in this system's order."""
    extras = EXTRAS[source]
    chosen = [extras[0]] if style["extra_a"] else []
    chosen += [extras[1]] if style["extra_b"] and len(extras) > 1 else []
    columns = list(SOURCES[source].column_names) + chosen
    order = np.random.default_rng(int(style["order_seed"])).permutation(len(columns))
    return [columns[i] for i in order]


class _FileSlices:
    """Rows of a rendered source grouped by target file, without a pandas copy per file."""

    def __init__(self, frame: pd.DataFrame):
        files = frame["_file"].astype("category")
        codes = files.cat.codes.to_numpy()
        self.order = np.argsort(codes, kind="stable")
        self.names = list(files.cat.categories)
        self.bounds = np.searchsorted(codes[self.order], np.arange(len(self.names) + 1))
        self.frame = frame

    def __iter__(self):
        for k, name in enumerate(self.names):
            rows = self.order[self.bounds[k] : self.bounds[k + 1]]
            if len(rows):
                yield name, rows

    def columns(self, rows: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        return {c: self.frame[c].to_numpy()[rows] for c in names}


def _reexport(
    rng: np.random.Generator, folder: Path, by_file: _FileSlices, style: pd.DataFrame
) -> int:
    """One DMS sends the tail of a deals file again under another name (same rows, same values)."""
    candidates = [(name, rows) for name, rows in by_file if len(rows) >= 10]
    if not candidates:
        return 0
    name, rows = candidates[int(rng.integers(0, len(candidates)))]
    tail = rows[int(len(rows) * rng.uniform(0.5, 0.75)) :]
    stem = name.removesuffix(".csv").rsplit("_", 1)[0]
    _write_csv(
        folder / f"{stem}_reexport.csv",
        by_file.columns(tail, _file_columns("dealer_sales", style.loc[name])),
        crlf=bool(style.at[name, "crlf"]),
        bom=bool(style.at[name, "bom"]),
    )
    return len(tail)


def _write_csv(path: Path, columns: dict[str, np.ndarray], *, crlf: bool, bom: bool) -> None:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n" if crlf else "\n")
        writer.writerow(columns)
        writer.writerows(zip(*columns.values(), strict=True))


def _as_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {c: frame[c].to_numpy() for c in frame.columns}
