"""Who owned a VIN when: ownership periods ("epochs") from sales, registrations and trade-ins.

A VIN is evidence that two records are one person only while one person owned it. Every
sale of the VIN, every owner registration (new owner or transfer) and every trade-in of
it (a sale whose trade_in_vin is the VIN) marks a change of hands. Changes closer than
`window_days` are one change (the deal and its OEM registration a few days later), so
the epoch of a record is the number of changes on or before its date. A trade-in record
belongs to the epoch that the trade-in closes: its customer was the owner until then.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CHANGE_ROLES = ("sale", "registration", "trade_in")


def ownership_changes(events: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """One row per (vin, change) with its first date and its ordinal (1, 2, …) per VIN.

    `events`: columns vin, date (ISO text or datetime), role (one of CHANGE_ROLES).
    """
    changes = events.loc[events["role"].isin(CHANGE_ROLES), ["vin", "date"]].dropna()
    changes = changes.assign(date=pd.to_datetime(changes["date"])).drop_duplicates()
    changes = changes.sort_values(["vin", "date"], kind="stable").reset_index(drop=True)
    gap = changes.groupby("vin")["date"].diff().dt.days
    starts = changes[gap.isna() | (gap > window_days)].copy()
    starts["epoch"] = starts.groupby("vin").cumcount() + 1
    return starts.reset_index(drop=True)


def epochs(records: pd.DataFrame, window_days: int) -> pd.Series:
    """Ownership epoch key `VIN#n` per record (<NA> without a VIN or a date).

    `records`: columns vin, date, role. Roles in CHANGE_ROLES define the changes; every
    record (service orders, leads…) is then placed in the period its date falls in.
    """
    number = epoch_numbers(records, window_days)
    known = np.flatnonzero(number >= 0)
    result = np.empty(len(records), dtype=object)
    result[:] = pd.NA
    vins = records["vin"].to_numpy(dtype=object)
    result[known] = [f"{vins[k]}#{number[k]}" for k in known]
    return pd.Series(result, index=records.index, dtype="string")


def epoch_numbers(records: pd.DataFrame, window_days: int) -> np.ndarray:
    """The `n` of `epochs`' `VIN#n` per record, -1 without a VIN or a date. The VIN may be
    any key (an integer code per VIN is the cheapest to group, sort and join on)."""
    out = np.full(len(records), -1, dtype=np.int64)
    known = records["vin"].notna() & records["date"].notna()
    if not known.any():
        return out
    starts = ownership_changes(records[known], window_days)
    recs = records.loc[known, ["vin", "date", "role"]].copy()
    recs["date"] = pd.to_datetime(recs["date"])
    recs["_row"] = np.flatnonzero(known.to_numpy())
    recs = recs.sort_values("date", kind="stable")
    placed = pd.merge_asof(
        recs,
        starts.sort_values("date", kind="stable"),
        on="date",
        by="vin",
        direction="backward",
    )
    epoch = placed["epoch"].fillna(0).astype(np.int64)
    epoch = epoch - (placed["role"] == "trade_in").astype(np.int64)
    out[placed["_row"].to_numpy()] = epoch.clip(lower=0).to_numpy()
    return out
