"""The dealer group: which rooftops exist in this world, their phones and their DMS history."""

from __future__ import annotations

import numpy as np
import pandas as pd

from generator.people import PhoneBook
from generator.reference import Reference
from generator.sampling import chance, days

MIN_ROOFTOPS, MAX_ROOFTOPS = 12, 20


def pick_dealers(rng: np.random.Generator, ref: Reference, phones: PhoneBook) -> pd.DataFrame:
    """12-20 rooftops, whole manufacturer groups at a time so brand ladders exist in-house."""
    template = ref.dealers
    groups = list(dict.fromkeys(template["group"]))
    target = int(rng.integers(MIN_ROOFTOPS, MAX_ROOFTOPS + 1))
    chosen: list[int] = []
    for g in rng.permutation(groups):
        if len(chosen) >= target:
            break
        chosen += template.index[template["group"] == g].tolist()
    dealers = template.loc[chosen[:MAX_ROOFTOPS]].copy()
    dealers = dealers.sort_values("dealer_code", kind="stable").reset_index(drop=True)
    n = len(dealers)

    cities = ref.cities.set_index("city")
    area = cities["area_codes"].reindex(dealers["city"]).str.split("|").str[0].to_numpy()
    dealers["phone"] = phones.new(area.astype(np.int64))
    # Each rooftop ran one DMS, and most switched once: the export style changes with it.
    dms = ref.dms
    p = dms["weight"].to_numpy(float) / dms["weight"].sum()
    first = rng.choice(len(dms), size=n, p=p)
    second = (first + rng.integers(1, len(dms), size=n)) % len(dms)
    switches = chance(rng, n, 0.7)
    dealers["dms_before"] = dms["dms"].to_numpy()[first]
    dealers["dms_after"] = np.where(switches, dms["dms"].to_numpy()[second], dealers["dms_before"])
    switch_year = rng.integers(2012, 2023, size=n)
    dealers["dms_switch"] = np.where(
        switches, [days(f"{y}-01-01") for y in switch_year], days("2100-01-01")
    )
    dealers["makes"] = dealers["brands"].str.split("|")
    return dealers
