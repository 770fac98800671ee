"""Manufacturer recall campaigns and the repair orders that performed them.

Each brand issues a few campaigns over the window; a campaign covers one model over a
span of model years, and of those VINs the share built at the affected plant. A covered
vehicle that comes in for service after the campaign is issued usually has it done on
that visit (at whichever rooftop the owner went to); now and then a repair order carries
the campaign before its issue date (a technical bulletin performed ahead of the recall).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from generator.sampling import END, START, YEAR, chance, choice, year_of
from generator.vehicles import Catalog

CAMPAIGNS_PER_BRAND = (2, 5)
ISSUES = (
    "Front passenger airbag inflator may rupture",
    "Fuel pump may fail, causing the engine to stall",
    "Rear-view camera image may not display",
    "Brake booster vacuum hose may crack",
    "Seat belt pretensioner may not deploy",
    "Steering column bolt may loosen",
    "Instrument panel may go blank: software update",
    "Low-pressure fuel line may leak",
    "Rear suspension toe link may fracture",
    "Hood latch may open while driving",
)
# Share of covered vehicles that have the recall done at their first visit after the issue.
DONE_AT_NEXT_VISIT = 0.6
DONE_EARLY = 0.02
_COLUMNS = ("campaign_id", "vin", "model", "model_year", "issued", "description", "remedy")


def build_recalls(
    rng: np.random.Generator, cat: Catalog, acq: pd.DataFrame, service: pd.DataFrame
) -> pd.DataFrame:
    """One row per (campaign, VIN) covered; sets `recall` (a campaign_id or "") on `service`."""
    vehicles = acq.drop_duplicates("vin")[["vin", "make_i", "model", "model_year"]]
    frames = []
    for make_i, mine in vehicles.groupby("make_i", sort=True):
        k = int(rng.integers(CAMPAIGNS_PER_BRAND[0], CAMPAIGNS_PER_BRAND[1] + 1))
        models = mine["model"].unique()
        issued = np.sort(rng.integers(START + int(YEAR), END - 30, k))
        for j, day in enumerate(issued.tolist()):
            model = models[int(rng.integers(0, len(models)))]
            first_year = min(year_of(np.array([day]))[0], int(mine["model_year"].max()))
            first_year -= int(rng.integers(0, 6))
            years = (first_year, first_year + int(rng.integers(0, 3)))
            covered = mine[
                (mine["model"] == model) & mine["model_year"].between(*years)
            ].reset_index(drop=True)
            covered = covered[chance(rng, len(covered), rng.uniform(0.5, 1.0))]
            if covered.empty:
                continue
            yy = year_of(np.array([day]))[0] % 100
            frames.append(
                pd.DataFrame(
                    {
                        "make_i": make_i,
                        "campaign_id": f"{yy:02d}V-{int(rng.integers(100, 999))}{j}",
                        "vin": covered["vin"].to_numpy(),
                        "model": model,
                        "model_year": covered["model_year"].to_numpy(),
                        "issued": day,
                        "description": choice(rng, ISSUES, 1)[0],
                        "remedy": choice(rng, ["Y", "N", ""], 1, [0.8, 0.12, 0.08])[0],
                    }
                )
            )
    recalls = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["make_i"])
    recalls = recalls.reindex(columns=[*_COLUMNS, "make_i"])
    recalls["make"] = cat.makes["make"].to_numpy()[recalls["make_i"].to_numpy(np.int64)]
    service["recall"] = _performed(rng, recalls, service)
    return recalls


def _performed(
    rng: np.random.Generator, recalls: pd.DataFrame, service: pd.DataFrame
) -> np.ndarray:
    """The campaign_id each repair order performed ("" for most)."""
    out = np.full(len(service), "", dtype=object)
    ro = pd.DataFrame(
        {"row": np.arange(len(service)), "vin": service["vin"], "date": service["date"]}
    )
    visits = ro.merge(recalls[["campaign_id", "vin", "issued"]], on="vin")
    if visits.empty:
        return out
    visits = visits.sort_values(["campaign_id", "vin", "date", "row"], kind="stable")
    after = visits[visits["date"].to_numpy() >= visits["issued"].to_numpy()]
    first = after.drop_duplicates(["campaign_id", "vin"])
    first = first[chance(rng, len(first), DONE_AT_NEXT_VISIT)]
    before = visits[visits["date"].to_numpy() < visits["issued"].to_numpy()]
    early = before.drop_duplicates(["campaign_id", "vin"], keep="last")
    early = early[chance(rng, len(early), DONE_EARLY)]
    done = pd.concat([early, first]).drop_duplicates(["campaign_id", "vin"])
    done = done.drop_duplicates("row")
    out[done["row"].to_numpy()] = done["campaign_id"].to_numpy()
    return out
