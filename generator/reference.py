"""Reference tables the generator draws from, shipped as CSV files in `generator/data/`.

Names, streets, cities, vehicles and junk values live in data files (not literals in code)
so a reviewer can read and tune the world without touching the simulation.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).parent / "data"


def _read(name: str, numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = pd.read_csv(DATA_DIR / name, dtype=str, keep_default_na=False, encoding="utf-8")
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column])
    return frame


@dataclass(frozen=True)
class Reference:
    first_names: pd.DataFrame
    surnames: pd.DataFrame
    nicknames: dict[str, tuple[str, ...]]
    metros: pd.DataFrame
    origins: pd.DataFrame
    cities: pd.DataFrame
    streets: pd.DataFrame
    street_types: pd.DataFrame
    groups: pd.DataFrame
    makes: pd.DataFrame
    models: pd.DataFrame
    wmi: pd.DataFrame
    dealers: pd.DataFrame
    email_domains: pd.DataFrame
    junk: pd.DataFrame
    companies: pd.DataFrame
    service_jobs: pd.DataFrame
    dms: pd.DataFrame

    def junk_values(self, kind: str) -> list[str]:
        return self.junk.loc[self.junk["kind"] == kind, "value"].tolist()


@functools.cache
def load() -> Reference:
    nick = _read("nicknames.csv")
    nicknames: dict[str, list[str]] = {}
    for formal, short in zip(nick["formal"], nick["nickname"], strict=True):
        nicknames.setdefault(formal, []).append(short)
    return Reference(
        first_names=_read("first_names.csv", ("w_pre1960", "w_1960s70s", "w_1980s90s", "w_2000s")),
        surnames=_read("surnames.csv", ("weight",)),
        nicknames={k: tuple(v) for k, v in nicknames.items()},
        metros=_read("metros.csv", ("p_fr", "p_en", "p_other")),
        origins=_read("origins.csv", ("w_qc", "w_elsewhere")),
        cities=_read("cities.csv", ("weight",)),
        streets=_read("streets.csv"),
        street_types=_read("street_types.csv", ("weight",)),
        groups=_read("groups.csv", ("weight",)),
        makes=_read("makes.csv", ("tier", "weight")),
        models=_read("models.csv", ("base_price", "weight", "from_year", "to_year")),
        wmi=_read("wmi.csv", ("weight",)),
        dealers=_read("dealers.csv"),
        email_domains=_read("email_domains.csv", ("w_qc", "w_elsewhere")),
        junk=_read("junk.csv"),
        companies=_read("companies.csv", ("weight",)),
        service_jobs=_read(
            "service_jobs.csv", ("labor_lo", "labor_hi", "parts_lo", "parts_hi", "weight")
        ),
        dms=_read("dms.csv", ("weight",)),
    )
