"""What the systems saw of each lifetime: deals, repair orders, OEM registrations, leads.

Rows here are still clean truth (an owner `eid`, a date, a dealer, a vehicle); `render`
turns them into what a clerk typed. Natural keys (deal_id, ro_number, registration_id,
lead_id) are numbered here, per dealer or per brand, in date order as a DMS would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from generator.people import People
from generator.reference import Reference
from generator.sampling import END, START, YEAR, Lookup, chance, choice, year_of
from generator.vehicles import MODEL_YEARS, Catalog, delivered

LEAD_SOURCES = (["web", "phone", "walk_in", "third_party"], [0.45, 0.2, 0.25, 0.1])
JOB_KINDS = ("maintenance", "repair", "warranty", "internal")


def build_events(
    rng: np.random.Generator, ref: Reference, people: People, cat: Catalog, acq: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """Clean event rows per landing source (dealer_sales, service_orders, ...)."""
    sales = _sales(acq)
    service = _service(rng, ref, people, cat, acq, sales)
    registrations = _registrations(rng, people, cat, acq)
    leads = _leads(rng, people, cat, acq, sales)
    seen = np.zeros(people.n, dtype=bool)
    for frame in (sales, service, registrations, leads):
        seen[frame["eid"].to_numpy()] = True
    # Everyone in the truth file shows up somewhere: the silent ones at least asked once.
    silent = np.flatnonzero(~seen)
    if len(silent):
        leads = pd.concat([leads, _shopper_leads(rng, people, cat, silent)], ignore_index=True)
    drawn = choice(rng, LEAD_SOURCES[0], len(leads), LEAD_SOURCES[1])
    preset = leads["source"].fillna("").to_numpy()
    leads["source"] = np.where(preset != "", preset, drawn).astype(object)
    _number(rng, ref, cat, sales, service, registrations, leads)
    return {
        "dealer_sales": sales,
        "service_orders": service,
        "oem_registrations": registrations,
        "crm_leads": leads,
    }


def _sales(acq: pd.DataFrame) -> pd.DataFrame:
    date = acq["date"].to_numpy()
    mask = (acq["dealer"].to_numpy() >= 0) & (acq["origin"].to_numpy() != "private")
    mask &= (date >= START) & (date < END)
    return acq[mask].reset_index(drop=True)


def _odometer(
    rng: np.random.Generator, km_per_year: np.ndarray, model_year: np.ndarray, on: np.ndarray
) -> np.ndarray:
    """Kilometres on a given day: each VIN keeps its yearly distance across owners."""
    years = np.maximum(on - delivered(model_year), 0) / YEAR
    noise = rng.integers(0, 400, len(on))
    return (years * km_per_year).astype(np.int64) + 5 + noise


def _service(
    rng: np.random.Generator,
    ref: Reference,
    people: People,
    cat: Catalog,
    acq: pd.DataFrame,
    sales: pd.DataFrame,
) -> pd.DataFrame:
    """Repair orders over each ownership period; the owner on the visit date owns the RO."""
    end = acq["end"].to_numpy()
    date = acq["date"].to_numpy()
    per = acq[(end > START) & (date < END)].reset_index(drop=True)
    n = len(per)
    start = np.maximum(per["date"].to_numpy(), START)
    stop = np.minimum(per["end"].to_numpy(), END - 1)
    eid = per["eid"].to_numpy()
    make = per["make_i"].to_numpy()
    bought_at = per["dealer"].to_numpy()
    metro = people.metro_at(eid, start)
    n_makes = len(cat.makes)
    home = np.where(
        (bought_at >= 0) & cat.sells[np.maximum(bought_at, 0), make],
        bought_at,
        cat.dealer_for.sample(rng, metro * n_makes + make).astype(np.int64),
    )
    near = np.array([0.35, 0.12, 0.02, 0.0])[cat.distance_class(home, metro)]
    loyal = rng.random(n) < np.where((home == bought_at) & (home >= 0), 0.75, near)
    is_bus = people.entities["is_business"].to_numpy()[eid]
    # Maintenance comes by distance: about one visit per 8,000-17,000 km driven.
    km_per_year = per["km_per_year"].to_numpy()
    rate = km_per_year / rng.uniform(8000, 17000, n)
    rate *= np.where(per["tier"].to_numpy() >= 1, 1.15, 1.0)
    rate *= np.where(is_bus, 1.3, 1.0)
    visits = rng.poisson(np.where(loyal, (stop - start) / YEAR * rate, 0))
    rep = np.repeat(np.arange(n), visits)
    on = start[rep] + (rng.random(len(rep)) * (stop - start)[rep]).astype(np.int64)
    model_year = per["model_year"].to_numpy()[rep]
    age = (on - delivered(model_year)) / YEAR
    # Old cars drift to independent garages; people who moved away stop coming.
    keep = ~((age > 9) & chance(rng, len(rep), 0.7)) & (age <= 15)
    away = ~cat.metro_has_dealer[people.metro_at(eid[rep], on)]
    keep &= ~(away & chance(rng, len(rep), 0.85))
    warranty = ((age < 3) & chance(rng, len(rep), 0.22)) | chance(rng, len(rep), 0.02)
    ro = pd.DataFrame(
        {
            "eid": eid[rep],
            "date": on,
            "dealer": home[rep],
            "vin": per["vin"].to_numpy()[rep],
            "make_i": make[rep],
            "model_year": model_year,
            "tier": per["tier"].to_numpy()[rep],
            "km_per_year": km_per_year[rep],
            "pay_type": np.array(["customer", "warranty"], dtype=object)[warranty.astype(int)],
        }
    )[keep]

    # Dealer-paid work right after a sale: pre-delivery inspection, promised accessories.
    pdi = sales[chance(rng, len(sales), 0.08)]
    internal = pd.DataFrame(
        {
            "eid": pdi["eid"].to_numpy(),
            "date": np.minimum(pdi["date"].to_numpy() + rng.integers(0, 21, len(pdi)), END - 1),
            "dealer": pdi["dealer"].to_numpy(),
            "vin": pdi["vin"].to_numpy(),
            "make_i": pdi["make_i"].to_numpy(),
            "model_year": pdi["model_year"].to_numpy(),
            "tier": pdi["tier"].to_numpy(),
            "km_per_year": pdi["km_per_year"].to_numpy(),
            "pay_type": "internal",
        }
    )
    ro = pd.concat([ro, internal], ignore_index=True)
    k = len(ro)
    ro["mileage"] = _odometer(
        rng, ro["km_per_year"].to_numpy(), ro["model_year"].to_numpy(), ro["date"].to_numpy()
    )

    jobs = ref.service_jobs
    kinds = [jobs.index[jobs["kind"] == kd] for kd in JOB_KINDS]
    job_of = Lookup([(ix, jobs.loc[ix, "weight"]) for ix in kinds])
    pay = ro["pay_type"].to_numpy()
    # Worn cars need repairs, not just maintenance: 12 % of visits new, ~36 % at 200,000 km.
    worn = rng.random(k) < np.minimum(0.12 + 0.12 * ro["mileage"].to_numpy() / 100_000, 0.5)
    kind = np.select([pay == "warranty", pay == "internal", worn], [2, 3, 1], 0)
    job = job_of.sample(rng, kind).astype(np.int64)
    scale = 1.03 ** (year_of(ro["date"].to_numpy()) - 2024) * np.where(
        ro["tier"].to_numpy() >= 1, 1.35, 1.0
    )

    def cents(lo: str, hi: str) -> np.ndarray:
        low, high = jobs[lo].to_numpy(float)[job], jobs[hi].to_numpy(float)[job]
        return np.round(rng.uniform(low, high) * scale * 100).astype(np.int64)

    ro["labor_cents"] = cents("labor_lo", "labor_hi")
    ro["parts_cents"] = cents("parts_lo", "parts_hi")
    ro["job"] = job
    region = cat.dealers["region"].to_numpy()[ro["dealer"].to_numpy()]
    ro["french"] = rng.random(k) < np.where(region == "QC", 0.85, 0.08)
    return ro.sort_values(["date", "eid"], kind="stable").reset_index(drop=True)


def _registrations(
    rng: np.random.Generator, people: People, cat: Catalog, acq: pd.DataFrame
) -> pd.DataFrame:
    """Manufacturer warranty/owner registrations: every new sale, some changes of hands."""
    n = len(acq)
    date = acq["date"].to_numpy()
    origin = acq["origin"].to_numpy()
    condition = acq["condition"].to_numpy()
    oem = cat.sold[acq["make_i"].to_numpy()] & (date >= START) & (date < END)
    new_owner = oem & (origin == "chain") & (condition == "new") & chance(rng, n, 0.96)
    cpo = condition == "cpo"
    p_transfer = np.select(
        [origin == "resale", origin == "private", condition != "new"],
        [np.where(cpo, 0.85, 0.4), np.full(n, 0.35), np.where(cpo, 0.85, 0.3)],
        0.0,
    )
    transfer = oem & ~new_owner & (rng.random(n) < p_transfer)
    reg = acq[new_owner | transfer].copy()
    reg["event"] = np.where(new_owner, "new_owner", "transfer")[new_owner | transfer]
    lag = np.where(
        reg["event"].to_numpy() == "new_owner",
        rng.integers(0, 11, len(reg)),
        rng.integers(0, 31, len(reg)),
    )
    reg["date"] = np.minimum(reg["date"].to_numpy() + lag, END - 1)

    # Consent: a standing preference per person, changed by some, re-clicked at random by a few.
    ent_n = people.n
    is_bus = people.entities["is_business"].to_numpy()
    u = rng.random(ent_n)
    base = np.where(
        u < np.where(is_bus, 0.3, 0.45), "Y", np.where(u < np.where(is_bus, 0.6, 0.7), "N", "")
    )
    flipped = np.where(base == "Y", "N", np.where(base == "N", "Y", choice(rng, ["Y", "N"], ent_n)))
    flips_on = np.where(chance(rng, ent_n, 0.12), rng.integers(START, END, ent_n), END + 1)
    e = reg["eid"].to_numpy()
    consent = np.where(reg["date"].to_numpy() >= flips_on[e], flipped[e], base[e])
    whim = chance(rng, len(reg), 0.05)
    consent = np.where(whim, choice(rng, ["Y", "N", ""], len(reg)), consent)
    reg["consent"] = consent.astype(object)
    return reg.sort_values(["date", "eid"], kind="stable").reset_index(drop=True)


def _leads(
    rng: np.random.Generator, people: People, cat: Catalog, acq: pd.DataFrame, sales: pd.DataFrame
) -> pd.DataFrame:
    n_dealers = len(cat.dealers)
    parts = []

    # Most deals start as a lead in the CRM (and the CRM is not always updated).
    won = sales[chance(rng, len(sales), 0.45)]
    k = len(won)
    created = won["date"].to_numpy() - rng.integers(1, 46, k)
    status = choice(rng, ["won", "lost", "open"], k, [0.9, 0.06, 0.04])
    model = won["model"].to_numpy().copy()
    other = chance(rng, k, 0.15)
    model[other] = _random_model(rng, cat, won["make_i"].to_numpy()[other], created[other])
    model[chance(rng, k, 0.1)] = ""
    # Third-party sites sell one inquiry to several dealers: about one won lead in eight came
    # from such a site, which sent the same shopper to one or two other rooftops of the group
    # within two days; those rooftops mark it lost while the shopper buys at the first.
    multi = chance(rng, k, 0.12)
    source = np.where(multi, "third_party", "").astype(object)
    parts.append(
        _lead_frame(won["eid"], created, won["dealer"], won["make"], model, status, source)
    )
    rep = np.repeat(np.flatnonzero(multi), 1 + rng.integers(0, 2, int(multi.sum())))
    first = won["dealer"].to_numpy()[rep]
    pick = rng.random((len(rep), n_dealers)) * cat.sells[:, won["make_i"].to_numpy()[rep]].T
    pick[np.arange(len(rep)), first] = -1.0  # another rooftop than the one that sold
    parts.append(
        _lead_frame(
            won["eid"].to_numpy()[rep],
            created[rep] + rng.integers(-2, 3, len(rep)),
            pick.argmax(axis=1),
            won["make"].to_numpy()[rep],
            model[rep],
            "lost",
            "third_party",
        )
    )

    # Late closers: about one deal in twenty-five was asked about 121 to 240 days before it,
    # past the 120-day window, so the lead itself counts as lost (the CRM gave up on it too).
    slow = sales[chance(rng, len(sales), 0.04)]
    created = slow["date"].to_numpy() - rng.integers(121, 241, len(slow))
    parts.append(
        _lead_frame(slow["eid"], created, slow["dealer"], slow["make"], slow["model"], "lost")
    )

    # Known customers sold back as "new" leads: about one purchase in twenty is followed, two
    # to six years later, by a paid third-party lead for the same person at that rooftop.
    back = sales[chance(rng, len(sales), 0.05)]
    created = back["date"].to_numpy() + rng.integers(2 * 365, 6 * 365, len(back))
    keep = created < END
    back, created = back[keep], created[keep]
    make = back["make_i"].to_numpy()
    parts.append(
        _lead_frame(
            back["eid"],
            created,
            back["dealer"],
            back["make"],
            _random_model(rng, cat, make, created),
            "lost",
            "third_party",
        )
    )

    # Cross-shopping: asked a sister rooftop (maybe another brand) and was marked lost there;
    # the shopper bought at another rooftop of the group 5 to 90 days later.
    n_extra = rng.poisson(0.2, len(sales))
    rep = np.repeat(np.arange(len(sales)), n_extra)
    shop = sales.iloc[rep]
    other = rng.integers(1, max(n_dealers, 2), len(rep))
    dealer = (shop["dealer"].to_numpy() + other) % n_dealers
    make = _dealer_make(rng, cat, dealer)
    created = shop["date"].to_numpy() - rng.integers(5, 91, len(rep))
    parts.append(
        _lead_frame(
            shop["eid"],
            created,
            dealer,
            cat.makes["make"].to_numpy()[make],
            _random_model(rng, cat, make, created),
            "lost",
        )
    )

    # People who never buy from us: they asked, once or twice.
    window_shoppers = np.flatnonzero(people.entities["lead_only"].to_numpy())
    parts.append(_shopper_leads(rng, people, cat, window_shoppers, extra=True))

    # In-market: a lease or loan ending soon, and the customer already asking.
    chain = acq[acq["origin"].to_numpy() == "chain"]
    last = chain.groupby("chain", sort=True).tail(1)
    matures = last["date"].to_numpy() + (last["term"].to_numpy() * 30.44).astype(np.int64)
    soon = (last["term"].to_numpy() > 0) & (matures >= END - 60) & (matures <= END + 183)
    soon &= last["dealer"].to_numpy() >= 0
    asking = last[soon & chance(rng, len(last), 0.4)]
    k = len(asking)
    created = END - rng.integers(1, 61, k)
    ladder = chance(rng, k, 0.2)
    make = asking["make_i"].to_numpy().copy()
    up = _ladder_up(cat, make)
    make = np.where(ladder & (up >= 0), up, make)
    parts.append(
        _lead_frame(
            asking["eid"],
            created,
            asking["dealer"],
            cat.makes["make"].to_numpy()[make],
            _random_model(rng, cat, make, created),
            "open",
        )
    )
    leads = pd.concat(parts, ignore_index=True)
    leads = leads[leads["created"].to_numpy() >= START]
    late = leads["created"].to_numpy() >= END - 60
    leads.loc[late & (leads["status"].to_numpy() == "lost"), "status"] = "open"
    return leads.reset_index(drop=True)


def _lead_frame(eid, created, dealer, make, model, status, source="") -> pd.DataFrame:
    """Lead rows; `source` empty leaves the channel to the random draw in `build_events`."""
    return pd.DataFrame(
        {
            "eid": np.asarray(eid),
            "created": np.asarray(created, dtype=np.int64),
            "dealer": np.asarray(dealer, dtype=np.int64),
            "interest_make": np.asarray(make, dtype=object),
            "interest_model": np.asarray(model, dtype=object),
            "status": status if isinstance(status, str) else np.asarray(status, dtype=object),
            "source": source if isinstance(source, str) else np.asarray(source, dtype=object),
        }
    )


def _shopper_leads(
    rng: np.random.Generator, people: People, cat: Catalog, eids: np.ndarray, extra: bool = False
) -> pd.DataFrame:
    count = 1 + (rng.poisson(0.6, len(eids)) if extra else 0)
    e = np.repeat(eids, count)
    k = len(e)
    created = np.maximum(END - (rng.exponential(3.0, k) * YEAR).astype(np.int64), START)
    metro = people.metro_at(e, created)
    local = [np.flatnonzero(cat.dealer_metro == m) for m in range(len(cat.metro_has_dealer))]
    dealer = rng.integers(0, len(cat.dealers), k)
    u = rng.random(k)
    for m, rows in enumerate(local):
        mine = (metro == m) & (u < 0.85)
        if len(rows) and mine.any():
            dealer[mine] = rows[rng.integers(0, len(rows), mine.sum())]
    make = _dealer_make(rng, cat, dealer)
    status = np.where(created >= END - 60, "open", "lost").astype(object)
    models = _random_model(rng, cat, make, created)
    models[chance(rng, k, 0.2)] = ""
    return _lead_frame(e, created, dealer, cat.makes["make"].to_numpy()[make], models, status)


def _dealer_make(rng: np.random.Generator, cat: Catalog, dealer: np.ndarray) -> np.ndarray:
    sells = cat.sells[dealer]
    u = rng.random(sells.shape) * sells
    return u.argmax(axis=1)


def _random_model(
    rng: np.random.Generator, cat: Catalog, make: np.ndarray, on: np.ndarray
) -> np.ndarray:
    """A model of that make on sale that day (what a shopper would ask about)."""
    models = cat.models
    year = np.clip(year_of(on) - MODEL_YEARS[0], 0, len(MODEL_YEARS) - 1)
    key = (np.asarray(make, dtype=np.int64) * len(MODEL_YEARS) + year) * 3
    return models["model"].to_numpy()[cat.model_of.sample(rng, key).astype(np.int64)].astype(object)


def _ladder_up(cat: Catalog, make: np.ndarray) -> np.ndarray:
    """The next brand up in the same group (Toyota -> Lexus), or -1 at the top."""
    mk = cat.makes
    up = np.full(len(mk), -1)
    for i, row in mk.iterrows():
        higher = mk[(mk["group"] == row["group"]) & (mk["tier"] == row["tier"] + 1)]
        if len(higher):
            up[i] = higher.index[0]
    return up[np.asarray(make, dtype=np.int64)]


def _number(
    rng: np.random.Generator,
    ref: Reference,
    cat: Catalog,
    sales: pd.DataFrame,
    service: pd.DataFrame,
    registrations: pd.DataFrame,
    leads: pd.DataFrame,
) -> None:
    """Natural keys, numbered in date order per dealer (or per brand for the OEM)."""
    dealers = cat.dealers
    for frame, col, fmt_col in (
        (sales, "deal_id", "deal_format"),
        (service, "ro_number", "ro_format"),
    ):
        frame.sort_values(["dealer", "date", "eid"], kind="stable", inplace=True)
        frame.reset_index(drop=True, inplace=True)
        d = frame["dealer"].to_numpy()
        seq = frame.groupby("dealer", sort=False).cumcount().to_numpy()
        base = rng.integers(1000, 90000, len(dealers))
        after = frame["date"].to_numpy() >= dealers["dms_switch"].to_numpy()[d]
        jump = np.where(after, rng.integers(100, 5000, len(dealers))[d], 0)
        n = base[d] + seq + jump
        dms_table = dict(zip(ref.dms["dms"], ref.dms[fmt_col], strict=True))
        dms = np.where(
            after, dealers["dms_after"].to_numpy()[d], dealers["dms_before"].to_numpy()[d]
        )
        frame[col] = [dms_table[m].format(n=int(v)) for m, v in zip(dms, n, strict=True)]
        frame["dms"] = dms
    crm_fmt = choice(rng, ["{n}", "L{n:07d}", "CRM-{n}"], len(dealers))
    leads.sort_values(["dealer", "created", "eid"], kind="stable", inplace=True)
    leads.reset_index(drop=True, inplace=True)
    d = leads["dealer"].to_numpy()
    n = (
        rng.integers(100, 50000, len(dealers))[d]
        + leads.groupby("dealer", sort=False).cumcount().to_numpy()
    )
    leads["lead_id"] = [crm_fmt[x].format(n=int(v)) for x, v in zip(d, n, strict=True)]
    registrations.sort_values(["make_i", "date", "eid"], kind="stable", inplace=True)
    registrations.reset_index(drop=True, inplace=True)
    m = registrations["make_i"].to_numpy()
    n = (
        rng.integers(10**6, 9 * 10**6, len(cat.makes))[m]
        + registrations.groupby("make_i", sort=False).cumcount().to_numpy() * 3
    )
    code = cat.makes["oem_code"].to_numpy()[m]
    registrations["registration_id"] = [f"{c}{int(v):09d}" for c, v in zip(code, n, strict=True)]
