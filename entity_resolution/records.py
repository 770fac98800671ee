"""Dealer exports → one frame of standardized person records, the engine's input.

Each source's columns are renamed to one vocabulary, everything is standardized in one
pass (distinct values are shared across sources), values that are not a person's own
(the dealership's phone, a stock e-mail typed for hundreds of customers) are removed,
and each VIN is replaced by its ownership period so it only links one owner's records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from entity_resolution import standardize as std
from entity_resolution.ownership import epoch_numbers
from entity_resolution.settings import PrepSettings
from ingest.contract import PERSON_SOURCES, SOURCES, Kind, Source

__all__ = ["PERSON_SOURCES", "person_columns", "person_records", "raw_columns"]


def _person_fields(source: Source) -> dict[str, str]:
    """Our name → the source's raw column; a VIN's validity flag rides beside it
    (`vin_valid` → `is_vin_valid`)."""
    fields: dict[str, str] = {}
    for column in source.person_columns:
        fields[column.person] = column.name
        if column.kind is Kind.VIN:
            fields[f"{column.person}_valid"] = column.vin_flag
    return fields


# source → (record date column, {our name: raw column}), from the landing contract
_SOURCE_COLUMNS: dict[str, tuple[str, dict[str, str]]] = {
    name: (SOURCES[name].record_date, _person_fields(SOURCES[name])) for name in PERSON_SOURCES
}
_VIN_ROLE = {
    "dealer_sales": "sale",
    "service_orders": "service",
    "oem_registrations": "registration",
    "crm_leads": "lead",
}
_RAW_FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "company",
    "email",
    "phone",
    "street",
    "city",
    "postal_code",
    "birth_date",
    "vin",
    "vin_valid",
    "trade_vin",
    "trade_vin_valid",
)


def person_columns(source: str) -> dict[str, str]:
    """Our name → the source's raw column, for the fields that identify a person."""
    return dict(_SOURCE_COLUMNS[source][1])


def raw_columns(source: str) -> list[str]:
    """The raw columns matching reads from a source table."""
    date_column, columns = _SOURCE_COLUMNS[source]
    return ["source_record_id", "dealer_code", date_column, *columns.values()]


def _unify(raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    frames = []
    for source in PERSON_SOURCES:
        table = raw.get(source)
        if table is None or table.empty:
            continue
        date_column, columns = _SOURCE_COLUMNS[source]
        frame = pd.DataFrame(
            {
                "source": source,
                "source_record_id": table["source_record_id"].astype("string"),
                "dealer_code": table.get("dealer_code", pd.Series(pd.NA, index=table.index)),
                "date": table[date_column],
            }
        )
        for ours in _RAW_FIELDS:
            theirs = columns.get(ours)
            frame[ours] = table[theirs] if theirs in table.columns else pd.NA
        frames.append(frame.astype("string"))
    if not frames:
        return pd.DataFrame(
            columns=["source", "source_record_id", "dealer_code", "date", *_RAW_FIELDS]
        )
    return pd.concat(frames, ignore_index=True)


def _vin(values: pd.Series, valid: pd.Series) -> pd.Series:
    """ingest's validity flag when it has one, else the same validation done here."""
    return std.standardize_vin(values, valid)


def person_records(
    raw: dict[str, pd.DataFrame],
    dealers: pd.DataFrame | None,
    prep: PrepSettings,
) -> pd.DataFrame:
    """Standardized person records from the raw tables (source name → frame)."""
    recs = _unify(raw)
    email = std.standardize_email(recs["email"])
    company = _companies(recs, email)
    names = std.standardize_names(recs["first_name"], recs["last_name"], recs["full_name"])
    # A firm is identified by its name; the contact typed beside it (owner, manager,
    # whoever came in) changes and must not tie the firm to that person's own records.
    names = names.mask(company.notna())
    postal = std.standardize_postal(recs["postal_code"])
    out = pd.DataFrame(
        {
            "source": recs["source"],
            "source_record_id": recs["source_record_id"],
            "dealer_code": recs["dealer_code"],
            "date": std.standardize_date(recs["date"]),
            **{c: names[c] for c in names.columns},
            "company": company,
            "birth_date": std.standardize_date(recs["birth_date"]),
            "phone": std.standardize_phone(recs["phone"]),
            "email": email,
            "street": std.standardize_street(recs["street"]),
            "city": std.fold(recs["city"]),
            "postal_code": postal["postal_code"],
            "fsa": postal["fsa"],
            "vin": _vin(recs["vin"], recs["vin_valid"]),
            "trade_vin": _vin(recs["trade_vin"], recs["trade_vin_valid"]),
        }
    )
    _drop_impersonal_values(out, dealers, prep)
    out[["street_number", "street_name"]] = std.split_street(out["street"])
    _add_ownership_periods(out, prep)
    _add_blocking_keys(out)
    return out


def _companies(recs: pd.DataFrame, email: pd.Series) -> pd.Series:
    """The firm a record is for: the deal's company name, a customer name that is a
    firm's (`TOITURES HADDAD INC`, `Campbell Logistics / Mark` on a repair order, a
    registration whose owner surname is a company), or an e-mail at a firm's domain
    (a lead from `bureau@plomberieroy.ca` is the firm's, whoever signed it)."""
    company = std.standardize_company(recs["company"])
    known = set(company.dropna())
    name_text = std.map_values(recs["full_name"], lambda v: v.split("/", 1)[0])
    name_text = name_text.fillna(recs["last_name"].where(recs["first_name"].isna()))
    candidate = std.standardize_company(name_text)
    company = company.fillna(candidate.where(std.is_business_name(candidate, known)))
    return company.fillna(_company_of_domain(email, company)).astype("string")


def _company_of_domain(email: pd.Series, company: pd.Series) -> pd.Series:
    """The firm owning each e-mail's domain, where the data shows one.

    A domain is a firm's when most records using it are that firm's: a web-mail domain
    (gmail.com) is used by thousands of people and never qualifies, whatever a few firms
    do with it.
    """
    domain = std.map_values(email, lambda v: v.split("@", 1)[1] if "@" in v else None)
    frame = pd.DataFrame({"domain": domain, "company": company}).dropna(subset=["domain"])
    stats = frame.groupby("domain").agg(
        records=("company", "size"), firm_records=("company", "count")
    )
    firm_domains = stats.index[
        (stats["firm_records"] >= 2) & (stats["firm_records"] * 2 > stats["records"])
    ]
    counts = (
        frame[frame["domain"].isin(firm_domains)]
        .dropna(subset=["company"])
        .value_counts(["domain", "company"])
        .reset_index()
        .sort_values(["domain", "count", "company"], ascending=[True, False, True])
    )
    owners = counts.drop_duplicates("domain").set_index("domain")["company"]
    return domain.map(owners).astype("string")


def _drop_impersonal_values(
    recs: pd.DataFrame, dealers: pd.DataFrame | None, prep: PrepSettings
) -> None:
    """Blank the dealership's own phones and any contact shared by too many people."""
    people = std.name_signature(recs["first_name_key"], recs["last_name"])
    rooftop = set()
    if dealers is not None and "phone" in dealers.columns:
        rooftop = set(std.standardize_phone(dealers["phone"]).dropna())
    recs["phone"] = std.drop_values(
        recs["phone"],
        rooftop | std.shared_values(recs["phone"], people, prep.max_people_per_value),
    )
    recs["email"] = std.drop_values(
        recs["email"], std.shared_values(recs["email"], people, prep.max_people_per_value)
    )
    address = np.where(
        recs["street"].isna(), -1, std.distinct_rows(recs["street"], recs["postal_code"])
    )
    shared = std.shared_codes(address, people, prep.max_people_per_value)
    recs["street"] = recs["street"].mask(np.append(shared, False)[address])


def _add_ownership_periods(recs: pd.DataFrame, prep: PrepSettings) -> None:
    role = recs["source"].map(_VIN_ROLE)
    # The ISO dates parsed once per distinct date, not once per record and VIN.
    codes, uniq = pd.factorize(recs["date"], use_na_sentinel=True)
    parsed = pd.to_datetime(pd.Series(uniq, dtype="string"), format="%Y-%m-%d").to_numpy()
    date = np.append(parsed, np.datetime64("NaT", "ns"))[codes]
    n = len(recs)
    # Each VIN as an integer code while grouping, sorting and joining; its text comes back
    # once per ownership period, in the key.
    vin, vins = std.distinct(pd.concat([recs["vin"], recs["trade_vin"]], ignore_index=True))
    has = np.flatnonzero(vin >= 0)
    roles = np.concatenate([role.to_numpy(dtype=object), np.full(n, "trade_in", dtype=object)])
    events = pd.DataFrame(
        {"vin": vin[has], "date": np.concatenate([date, date])[has], "role": roles[has]}
    )
    number = np.full(2 * n, -1, dtype=np.int64)
    number[has] = epoch_numbers(events, prep.ownership_window_days)
    known = number >= 0
    period = np.full(2 * n, -1, dtype=np.int64)
    period[known] = pd.factorize(vin[known] * (number.max(initial=0) + 1) + number[known])[0]
    row = std.representatives(period[known])
    first = np.flatnonzero(known)[row]
    labels = [f"{vins[vin[k]]}#{number[k]}" for k in first]
    keys = std.spread(period, labels, pd.RangeIndex(2 * n))
    recs["vin_epoch"] = keys.iloc[:n].to_numpy()
    recs["trade_epoch"] = keys.iloc[n:].to_numpy()


def _add_blocking_keys(recs: pd.DataFrame) -> None:
    recs["name_tokens"] = std.map_pairs(
        recs["first_name"],
        recs["last_name"],
        lambda first, last: " ".join(sorted(f"{first} {last}".split())) or None,
    )
    recs["phone_tail"] = std.map_values(recs["phone"], lambda v: v[-7:])
    recs["email_user"] = std.map_values(recs["email"], lambda v: v.split("@", 1)[0])
