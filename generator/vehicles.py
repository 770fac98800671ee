"""Vehicle lifetimes: who bought which car where, what they traded in, who got it next.

Each customer owns one or more *chains*: a sequence of vehicles, each replacing the one
before (traded in, lease returned, sold privately, kept, or scrapped). A chain is simulated
one step at a time for all chains at once, so the loop runs ~10 times, not once per car.
Chains start before the data window so people arrive owning a car they may trade in.
Vehicles handed back to one of our dealers are often resold used to *another* customer;
private sales pass a car to another customer with no dealer involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from generator.people import People
from generator.reference import Reference
from generator.sampling import END, NEVER, START, YEAR, Lookup, chance, month_of, year_of
from generator.vin import make_vins

MONTH = 30.44
MODEL_YEARS = np.arange(2000, 2028)
# Relative appetite for each segment: regular buyers, fleets, a teenager's first car.
SEGMENT_TASTE = {
    "car": (1.0, 0.2, 3.0),
    "suv": (1.0, 0.6, 0.6),
    "truck": (0.8, 4.0, 0.3),
    "van": (0.7, 4.0, 0.1),
}
FINANCE_TERMS = ([24, 36, 48, 60, 72, 84], [0.03, 0.1, 0.15, 0.3, 0.28, 0.14])
LEASE_TERMS = ([24, 36, 39, 48], [0.1, 0.45, 0.1, 0.35])
MAX_STEPS = 12
KM_PER_YEAR = (8000, 26000)


@dataclass(frozen=True)
class Appetite:
    """How strongly the car a customer has decides when they buy the next one.

    Drawn once per world (per seed) within ranges dealers and lenders describe
    (generator/README.md, "When people buy"), so a backtest meets a world it was not tuned to.
    """

    pull_ahead: float  # lessees who trade 2-6 months before maturity
    extend: float  # lessees who keep the car 1-12 months past maturity
    underwater: float  # monthly chance a borrower without the equity they want trades anyway
    equity_boost: float  # that chance multiplied once the car is worth the payoff + a target
    last_payments_boost: float  # and again over the last 6 payments
    after_payoff_months: float  # mean months a paid-off car is kept before the next one
    km_limit: float  # typical odometer at which a driver replaces a car

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Appetite:
        return cls(
            pull_ahead=rng.uniform(0.1, 0.25),
            extend=rng.uniform(0.08, 0.2),
            underwater=1 / rng.uniform(180, 260),
            equity_boost=rng.uniform(5.0, 8.0),
            last_payments_boost=rng.uniform(1.5, 2.5),
            after_payoff_months=rng.uniform(18, 36),
            km_limit=rng.uniform(200_000, 260_000),
        )


@dataclass
class Catalog:
    """Makes, models and rooftops as arrays the simulation indexes into."""

    makes: pd.DataFrame
    models: pd.DataFrame
    groups: pd.DataFrame
    dealers: pd.DataFrame
    sells: np.ndarray  # (dealer, make) bool
    group_max_tier: np.ndarray
    make_of: Lookup  # key group * 3 + tier
    model_of: Lookup  # key (make * years + year) * 3 + buyer class
    dealer_for: Lookup  # key metro * makes + make -> dealer row or -1
    metro_has_dealer: np.ndarray
    dealer_metro: np.ndarray  # metro index of each rooftop
    metro_region: np.ndarray  # province of each metro
    wmi_of: Lookup  # key make

    def distance_class(self, dealer: np.ndarray, metro: np.ndarray) -> np.ndarray:
        """0 same metro, 1 same province, 2 farther, 3 no such rooftop (dealer -1)."""
        there = self.dealer_metro[np.maximum(dealer, 0)]
        out = np.where(
            there == metro, 0, np.where(self.metro_region[there] == self.metro_region[metro], 1, 2)
        )
        return np.where(dealer < 0, 3, out)

    def p_buy_here(self, dealer: np.ndarray, metro: np.ndarray, is_bus: np.ndarray) -> np.ndarray:
        """Chance a customer buys from that rooftop rather than a competitor: mostly when near."""
        near = np.array([0.85, 0.3, 0.03, 0.0])[self.distance_class(dealer, metro)]
        return np.where(is_bus, np.minimum(near * 1.2, 0.95), near)

    @property
    def sold(self) -> np.ndarray:
        """Makes some rooftop of the group sells (and whose OEM sends us registrations)."""
        return self.sells.any(axis=0)


def build_catalog(ref: Reference, dealers: pd.DataFrame) -> Catalog:
    makes = ref.makes.reset_index(drop=True)
    groups = ref.groups.reset_index(drop=True)
    models = ref.models.reset_index(drop=True)
    metros = ref.metros.reset_index(drop=True)
    make_i = {m: i for i, m in enumerate(makes["make"])}
    group_i = {g: i for i, g in enumerate(groups["group"])}
    makes["group_i"] = makes["group"].map(group_i)
    models["make_i"] = models["make"].map(make_i)

    sells = np.zeros((len(dealers), len(makes)), dtype=bool)
    for d, brands in enumerate(dealers["makes"]):
        sells[d, [make_i[b] for b in brands]] = True
    group_max_tier = makes.groupby("group_i")["tier"].max().reindex(range(len(groups))).to_numpy()

    make_dists = []
    for g in range(len(groups)):
        for tier in range(3):
            t = min(tier, group_max_tier[g])
            sub = makes[(makes["group_i"] == g) & (makes["tier"] == t)]
            make_dists.append((sub.index, sub["weight"]))

    model_dists = []
    model_make = models["make_i"].to_numpy()
    first, last = models["from_year"].to_numpy(), models["to_year"].to_numpy()
    weight = models["weight"].to_numpy(float)
    taste = np.array([SEGMENT_TASTE[s] for s in models["segment"]])  # (model, buyer class)
    for m in range(len(makes)):
        mine = np.flatnonzero(model_make == m)
        for year in MODEL_YEARS:
            live = mine[(first[mine] <= year) & (last[mine] >= year)]
            live = live if len(live) else mine
            for cls in range(3):
                model_dists.append((live, weight[live] * taste[live, cls]))

    city_region = ref.cities.groupby("metro")["region"].first()
    metro_region = metros["metro"].map(city_region).to_numpy()
    dealer_metro = dealers["metro"].to_numpy()
    dealer_region = dealers["region"].to_numpy()
    dealer_dists = []
    for m, code in enumerate(metros["metro"]):
        for k in range(len(makes)):
            rows = np.flatnonzero(sells[:, k])
            if len(rows) == 0:
                dealer_dists.append(([-1], [1.0]))
                continue
            w = np.where(
                dealer_metro[rows] == code,
                10.0,
                np.where(dealer_region[rows] == metro_region[m], 2.0, 0.3),
            )
            dealer_dists.append((rows, w))

    wmi = ref.wmi
    return Catalog(
        makes=makes,
        models=models,
        groups=groups,
        dealers=dealers,
        sells=sells,
        group_max_tier=group_max_tier,
        make_of=Lookup(make_dists),
        model_of=Lookup(model_dists),
        dealer_for=Lookup(dealer_dists),
        metro_has_dealer=metros["metro"].isin(dealers["metro"]).to_numpy(),
        dealer_metro=dealers["metro"].map({m: i for i, m in enumerate(metros["metro"])}).to_numpy(),
        metro_region=metro_region,
        wmi_of=Lookup(
            [
                (wmi.loc[wmi["make"] == m, "wmi"], wmi.loc[wmi["make"] == m, "weight"])
                for m in makes["make"]
            ]
        ),
    )


def simulate(rng: np.random.Generator, people: People, cat: Catalog) -> pd.DataFrame:
    """Every acquisition of a vehicle by a customer, with how and when it left them.

    One row per (vehicle, owner) period: `date` acquired, `end` disposed (NEVER if still
    owned at the end of the window), `origin` chain/resale/private, `dealer` -1 when not
    bought from the group.
    """
    ent = people.entities
    chains = _chains(rng, ent, cat)
    acq = _run_chains(rng, people, cat, chains, Appetite.draw(rng))
    acq["vin"] = make_vins(
        rng, cat.wmi_of.sample(rng, acq["make_i"].to_numpy()), acq["model_year"].to_numpy()
    )
    trade = acq["trade_in_of"].to_numpy()
    acq["trade_in_vin"] = np.where(trade >= 0, acq["vin"].to_numpy()[np.maximum(trade, 0)], "")
    resales = _resales(rng, people, cat, acq)
    private = _private_sales(rng, people, acq)
    acq = pd.concat([acq, resales, private], ignore_index=True)
    acq["acq_id"] = np.arange(len(acq))
    models = cat.models
    acq["model"] = models["model"].to_numpy()[acq["model_row"].to_numpy()]
    acq["segment"] = models["segment"].to_numpy()[acq["model_row"].to_numpy()]
    acq["make"] = cat.makes["make"].to_numpy()[acq["make_i"].to_numpy()]
    acq["group"] = cat.makes["group"].to_numpy()[acq["make_i"].to_numpy()]
    acq["tier"] = cat.makes["tier"].to_numpy()[acq["make_i"].to_numpy()]
    return acq


def _chains(rng: np.random.Generator, ent: pd.DataFrame, cat: Catalog) -> pd.DataFrame:
    n_ent = len(ent)
    is_bus = ent["is_business"].to_numpy()
    birth = ent["birth"].to_numpy()
    buyer = ~ent["lead_only"].to_numpy()

    # Per-entity tastes: a manufacturer group, a tier, and for some a climb up the ladder.
    present = np.array([cat.sold[cat.makes["group_i"] == g].any() for g in range(len(cat.groups))])
    gw = cat.groups["weight"].to_numpy(float) * np.where(present, 1.0, 0.12)
    group = rng.choice(len(gw), size=n_ent, p=gw / gw.sum())
    # Most people drive what the rooftops near them sell.
    group_of_make = cat.makes["group_i"].to_numpy()
    n_metros = len(cat.metro_has_dealer)
    local = np.zeros((n_metros, len(gw)), dtype=bool)
    for d, metro in enumerate(cat.dealer_metro):
        local[metro, group_of_make[cat.sells[d]]] = True
    nearby = Lookup(
        [
            (np.arange(len(gw)), np.where(local[mt].any(), gw * local[mt], gw))
            for mt in range(n_metros)
        ]
    )
    loyal_local = chance(rng, n_ent, 0.7)
    group = np.where(loyal_local, nearby.sample(rng, ent["metro0"].to_numpy()), group).astype(
        np.int64
    )
    base_tier = (rng.random(n_ent) < np.where(is_bus, 0.08, 0.1)).astype(np.int64)
    climber = ~is_bus & chance(rng, n_ent, 0.3)
    climb1 = np.where(climber, rng.uniform(START + 2 * YEAR, END - YEAR, n_ent), NEVER)
    climb2 = np.where(
        climber & chance(rng, n_ent, 0.4), climb1 + rng.uniform(2, 6, n_ent) * YEAR, NEVER
    )

    person = np.flatnonzero(buyer & ~is_bus)
    adult = birth[person] + rng.uniform(17, 20, len(person)) * YEAR
    t_primary = np.maximum(adult, START - rng.uniform(0, 7, len(person)) * YEAR)
    second = person[chance(rng, len(person), 0.1)]
    adult2 = birth[second] + rng.uniform(19, 24, len(second)) * YEAR
    t_second = np.maximum(adult2, START + rng.uniform(0, 14, len(second)) * YEAR)

    bus = np.flatnonzero(is_bus)
    fleet = np.minimum(rng.geometric(0.4, len(bus)), 12)
    bus_start = START - rng.uniform(0, 5, len(bus)) * YEAR
    cycle = rng.uniform(3.5, 6, len(bus)) * YEAR
    b_eid = np.repeat(bus, fleet)
    offset = rng.choice(3, size=len(b_eid), p=[0.6, 0.25, 0.15])
    b_rep = np.repeat(np.arange(len(bus)), fleet)
    t_bus = bus_start[b_rep] + offset * cycle[b_rep]

    chains = pd.DataFrame(
        {
            "eid": np.concatenate([person, second, b_eid]),
            "kind": np.concatenate(
                [np.zeros(len(person)), np.ones(len(second)), np.full(len(b_eid), 2)]
            ).astype(int),
            "t": np.concatenate([t_primary, t_second, t_bus]),
            "first_car": np.concatenate(
                [adult > START, np.zeros(len(second) + len(b_eid), dtype=bool)]
            ),
            "cycle": np.concatenate([np.zeros(len(person) + len(second)), cycle[b_rep]]),
        }
    )
    eid = chains["eid"].to_numpy()
    chains["group"] = group[eid]
    chains["base_tier"] = base_tier[eid]
    chains["climb1"] = climb1[eid]
    chains["climb2"] = climb2[eid]
    return chains


def _pick(rng: np.random.Generator, options: tuple[list, list], n: int) -> np.ndarray:
    values, p = options
    return np.asarray(values)[rng.choice(len(values), size=n, p=p)]


def _run_chains(
    rng: np.random.Generator,
    people: People,
    cat: Catalog,
    chains: pd.DataFrame,
    appetite: Appetite,
) -> pd.DataFrame:
    n_chain = len(chains)
    t = chains["t"].to_numpy().copy()
    group = chains["group"].to_numpy().copy()
    chain_eid = chains["eid"].to_numpy()
    kind = chains["kind"].to_numpy()
    prev = np.full(n_chain, -1)
    prev_payment = np.full(n_chain, "", dtype=object)
    pref_dealer = np.full(n_chain, -1)
    n_makes = len(cat.makes)
    n_groups = len(cat.groups)
    gw = cat.groups["weight"].to_numpy(float)
    steps: list[pd.DataFrame] = []
    updates: list[pd.DataFrame] = []
    next_id = 0
    for j in range(MAX_STEPS):
        c = np.flatnonzero(t < END)
        if len(c) == 0:
            break
        n = len(c)
        date = t[c].astype(np.int64)
        eid = chain_eid[c]
        is_bus = kind[c] == 2
        first_car = (j == 0) & chains["first_car"].to_numpy()[c]

        switch = (j > 0) & ~is_bus & chance(rng, n, 0.15)
        group[c] = np.where(switch, rng.choice(n_groups, size=n, p=gw / gw.sum()), group[c])
        g = group[c]
        tier = (
            chains["base_tier"].to_numpy()[c]
            + (date >= chains["climb1"].to_numpy()[c])
            + (date >= chains["climb2"].to_numpy()[c])
        )
        tier = np.minimum(np.where(first_car, 0, tier), cat.group_max_tier[g])
        make = cat.make_of.sample(rng, g * 3 + tier).astype(np.int64)

        u = rng.random(n)
        p_new = np.where(is_bus, 0.92, np.where(first_car, 0.2, 0.58))
        p_used = np.where(is_bus, 0.08, np.where(first_car, 0.7, 0.28))
        condition = np.where(u < p_new, "new", np.where(u < p_new + p_used, "used", "cpo")).astype(
            object
        )
        age = np.where(condition == "used", rng.integers(1, 9, n), rng.integers(1, 6, n))
        age = np.where(condition == "new", 0, age)
        year = year_of(date)
        next_year = (month_of(date) >= 8) & chance(rng, n, 0.6)
        model_year = np.where(condition == "new", year + next_year, year - age)
        buyer_class = np.where(is_bus, 1, np.where(first_car, 2, 0))
        year_key = np.clip(model_year - MODEL_YEARS[0], 0, len(MODEL_YEARS) - 1)
        model_row = cat.model_of.sample(rng, (make * len(MODEL_YEARS) + year_key) * 3 + buyer_class)
        model_row = model_row.astype(np.int64)
        price, new_price = _price(rng, cat, model_row, model_year, age, condition)

        payment = _payment(rng, condition, tier, is_bus)
        term = np.where(
            payment == "finance",
            _pick(rng, FINANCE_TERMS, n),
            np.where(payment == "lease", _pick(rng, LEASE_TERMS, n), 0),
        )
        amount, apr = _financing(rng, price, condition, payment, term)
        km_per_year = rng.uniform(*KM_PER_YEAR, n)

        metro = people.metro_at(eid, date)
        pick = cat.dealer_for.sample(rng, metro * n_makes + make).astype(np.int64)
        sticky = (pref_dealer[c] >= 0) & chance(rng, n, 0.7)
        sticky &= cat.sells[np.maximum(pref_dealer[c], 0), make]
        pick = np.where(sticky, pref_dealer[c], pick)
        p_ours = cat.p_buy_here(pick, metro, is_bus)
        ours = rng.random(n) < p_ours
        dealer = np.where(ours, pick, -1)
        pref_dealer[c] = np.where(ours, dealer, pref_dealer[c])

        ids = next_id + np.arange(n)
        next_id += n
        had = prev[c] >= 0
        disposal = _disposal(rng, prev_payment[c], is_bus)
        end = np.where(
            disposal == "kept", date + (rng.uniform(1, 5, n) * YEAR).astype(np.int64), date
        )
        at_dealer = np.isin(disposal, ["traded", "returned"]) & ours
        updates.append(
            pd.DataFrame(
                {
                    "id": prev[c][had],
                    "end": end[had],
                    "disposal": disposal[had],
                    "disposal_dealer": np.where(at_dealer, dealer, -1)[had],
                }
            )
        )
        trade_in_of = np.where(had & (disposal == "traded") & ours, prev[c], -1)
        steps.append(
            pd.DataFrame(
                {
                    "id": ids,
                    "eid": eid,
                    "chain": c,
                    "date": date,
                    "make_i": make,
                    "model_row": model_row,
                    "model_year": model_year,
                    "condition": condition,
                    "price": price,
                    "payment": payment,
                    "term": term,
                    "amount": amount,
                    "apr": apr,
                    "km_per_year": km_per_year,
                    "dealer": dealer,
                    "trade_in_of": trade_in_of,
                    "first_car": first_car,
                }
            )
        )
        odometer = np.maximum(date - delivered(model_year), 0) / YEAR * km_per_year
        gap = _keeps_for(
            rng, appetite, payment, term, new_price, age, amount, apr, odometer, km_per_year
        )
        gap = np.where(first_car, rng.uniform(2, 5, n) * YEAR, gap)
        gap = np.where(is_bus, chains["cycle"].to_numpy()[c] + rng.uniform(-20, 20, n), gap)
        t[c] = date + gap
        prev[c] = ids
        prev_payment[c] = payment

    acq = (
        pd.concat(steps, ignore_index=True).sort_values("id", kind="stable").reset_index(drop=True)
    )
    acq["end"] = NEVER
    acq["disposal"] = ""
    acq["disposal_dealer"] = -1
    upd = pd.concat(updates, ignore_index=True)
    ids = upd["id"].to_numpy()
    for col in ("end", "disposal", "disposal_dealer"):
        values = acq[col].to_numpy().copy()
        values[ids] = upd[col].to_numpy()
        acq[col] = values
    acq["origin"] = "chain"
    return acq.drop(columns="id")


def _price(
    rng: np.random.Generator,
    cat: Catalog,
    model_row: np.ndarray,
    model_year: np.ndarray,
    age: np.ndarray,
    condition: np.ndarray,
) -> np.ndarray:
    """Price in cents, and the sticker it had new (dollars): by segment and trim, 2.5 %/year
    inflation, used cars at the depreciated value (CPO 6 % more)."""
    n = len(model_row)
    base = cat.models["base_price"].to_numpy(float)[model_row]
    new_price = base * 1.025 ** (model_year - 2024) * rng.uniform(0.95, 1.3, n)
    used = _depreciated(new_price, age) * np.where(condition == "cpo", 1.06, 1.0)
    price = np.where(condition == "new", new_price, used)
    cents = np.where(chance(rng, n, 0.3), rng.integers(0, 100, n), 0)
    return np.round(price / 5) * 500 - 500 * chance(rng, n, 0.4) + cents, new_price


def _depreciated(new_price: np.ndarray, age: np.ndarray) -> np.ndarray:
    """What a car is worth used: 18 % off when it leaves the lot, then ~13 % a year."""
    return new_price * 0.82 * 0.87**age


def delivered(model_year: np.ndarray) -> np.ndarray:
    """The day a model year's cars reach the road (day number): autumn of the year before."""
    return (np.asarray(model_year) - 1970 - 0.25) * YEAR


def _financing(
    rng: np.random.Generator,
    price: np.ndarray,
    condition: np.ndarray,
    payment: np.ndarray,
    term: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Amount financed (cents, 0 for cash) and APR (percent) of each deal.

    The buyer puts a down payment on the price and borrows the rest; rates as lenders quote
    them (4.99, 6.49), new cars often at a promotional 0 %."""
    n = len(price)
    new = condition == "new"
    lease = payment == "lease"
    financed = np.isin(payment, ["finance", "lease"]) & (term > 0)
    down = np.where(chance(rng, n, 0.35), 0.0, rng.uniform(0.05, 0.3, n)) * price
    amount = np.maximum(price - np.round(down / 10000) * 10000, 0)  # $100 steps, cents
    u = rng.uniform(0.0, 1.0, n)
    promotional = chance(rng, n, 0.25)
    apr = np.select([lease, new], [1.5 + 5.5 * u, 1.0 + 6.0 * u], 5.5 + 4.5 * u)
    apr = np.clip(np.round(apr * 4) / 4 - 0.01, 0.0, 9.99)
    apr = np.where(new & ~lease & promotional, 0.0, apr)
    return np.where(financed, amount, 0.0), np.where(financed, apr, 0.0)


def payoff(amount: np.ndarray, apr: np.ndarray, term: np.ndarray, made: np.ndarray) -> np.ndarray:
    """What is left to pay on a loan after `made` monthly payments (its own amortization)."""
    rate = np.asarray(apr, dtype=float) / 1200
    n = np.asarray(term, dtype=float)
    k = np.minimum(made, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        left = amount * ((1 + rate) ** n - (1 + rate) ** k) / ((1 + rate) ** n - 1)
    return np.where(rate > 0, left, amount * (n - k) / np.maximum(n, 1))


def loan_keep_months(
    rng: np.random.Generator,
    appetite: Appetite,
    new_price: np.ndarray,
    age: np.ndarray,
    amount: np.ndarray,
    apr: np.ndarray,
    term: np.ndarray,
) -> np.ndarray:
    """Months a borrower keeps a financed car, from a monthly chance of trading it that rises
    with equity: low while the car is worth less than the payoff plus the down payment the
    owner wants for the next one (10-25 % of a new one), `equity_boost` times higher once it is,
    higher again over the last payments, then steady once paid off. Nobody trades in the
    first year; everyone by ten years after the last payment."""
    n = len(amount)
    target = rng.uniform(0.1, 0.25, n) * new_price
    need = rng.exponential(1.0, n)  # the cumulative chance at which this owner trades
    cumulative = np.zeros(n)
    kept = np.full(n, 0)
    for month in range(12, int(np.max(term, initial=0)) + 121):
        equity = _depreciated(new_price, age + month / 12) - payoff(amount, apr, term, month) / 100
        paying = month < term
        chance_now = appetite.underwater * np.where(equity >= target, appetite.equity_boost, 1)
        chance_now *= np.where(paying & (term - month <= 6), appetite.last_payments_boost, 1)
        chance_now = np.where(paying, chance_now, 1 / appetite.after_payoff_months)
        cumulative += chance_now
        kept = np.where((kept == 0) & (cumulative >= need), month, kept)
    return np.where(kept == 0, term + 120, kept)


def _keeps_for(
    rng: np.random.Generator,
    appetite: Appetite,
    payment: np.ndarray,
    term: np.ndarray,
    new_price: np.ndarray,
    age: np.ndarray,
    amount: np.ndarray,
    apr: np.ndarray,
    odometer: np.ndarray,
    km_per_year: np.ndarray,
) -> np.ndarray:
    """Days until a customer replaces the car just bought (generator/README.md, "When people
    buy"): a lessee around maturity, a borrower sooner with equity (`loan_keep_months`), a
    cash buyer after 5-12 years; anyone who drives a lot sooner, when the odometer reaches
    the mileage at which they give a car up."""
    n = len(payment)
    lease, finance = payment == "lease", payment == "finance"
    u = rng.random(n)
    early = u < appetite.pull_ahead
    late = u > 1 - appetite.extend
    lease_gap = term * MONTH + np.select(
        [early, late],
        [rng.uniform(-180, -60, n), rng.uniform(30, 365, n)],
        rng.uniform(-45, 15, n),
    )
    loan_gap = np.zeros(n)
    loan_gap[finance] = loan_keep_months(
        rng, appetite, new_price[finance], age[finance], amount[finance], apr[finance],
        term[finance],
    ) * MONTH + rng.uniform(-15, 15, int(finance.sum()))  # fmt: skip
    limit = appetite.km_limit * rng.uniform(0.8, 1.2, n)
    worn_out = np.maximum((limit - odometer) / km_per_year, 1.5) * YEAR
    cash_gap = rng.uniform(5, 12, n) * YEAR
    return np.select(
        [lease, finance],
        [lease_gap, np.minimum(loan_gap, worn_out)],
        np.minimum(cash_gap, worn_out),
    )


def _payment(
    rng: np.random.Generator, condition: np.ndarray, tier: np.ndarray, is_bus: np.ndarray
) -> np.ndarray:
    n = len(condition)
    u = rng.random(n)
    new = condition == "new"
    cash = np.where(new, np.where(tier >= 1, 0.12, 0.15), 0.35)
    lease = np.where(new, np.where(tier >= 1, 0.5, 0.35), 0.0)
    cash = np.where(is_bus, np.where(new, 0.2, 0.5), cash)
    lease = np.where(is_bus & new, 0.4, lease)
    return np.where(u < cash, "cash", np.where(u < cash + lease, "lease", "finance")).astype(object)


def _disposal(rng: np.random.Generator, prev_payment: np.ndarray, is_bus: np.ndarray) -> np.ndarray:
    n = len(prev_payment)
    u = rng.random(n)
    leased = prev_payment == "lease"
    person = np.select([u < 0.6, u < 0.75, u < 0.85], ["traded", "private", "kept"], "gone").astype(
        object
    )
    fleet = np.where(u < 0.8, "traded", "gone").astype(object)
    out = np.where(is_bus, fleet, person)
    return np.where(leased, np.where(u < 0.7, "returned", "traded"), out).astype(object)


def _buyers(
    rng: np.random.Generator,
    people: People,
    target_metro: np.ndarray,
    dates: np.ndarray,
    seller: np.ndarray,
) -> np.ndarray:
    """A random adult customer (mostly from the given metro) who is not the seller's family."""
    ent = people.entities
    pool = np.flatnonzero(~ent["is_business"].to_numpy() & ~ent["lead_only"].to_numpy())
    metro0 = ent["metro0"].to_numpy()[pool]
    order = np.argsort(metro0, kind="stable")
    pool, metro0 = pool[order], metro0[order]
    n_metro = int(max(metro0.max(initial=0), target_metro.max(initial=0))) + 1
    counts = np.bincount(metro0, minlength=n_metro)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    birth = ent["birth"].to_numpy()
    hid = ent["hid"].to_numpy()
    n = len(dates)
    out = np.full(n, -1)
    todo = np.arange(n)
    for _ in range(40):
        if len(todo) == 0 or len(pool) == 0:
            break
        m = target_metro[todo]
        local = (counts[m] > 0) & chance(rng, len(todo), 0.75)
        u = rng.random(len(todo))
        idx = np.where(
            local, starts[m] + (u * counts[m]).astype(np.int64), (u * len(pool)).astype(np.int64)
        )
        cand = pool[idx]
        s = seller[todo]
        ok = (birth[cand] + 18 * YEAR <= dates[todo]) & (cand != s)
        ok &= (hid[cand] != hid[s]) | (hid[s] < 0)
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return out


def _resales(
    rng: np.random.Generator, people: People, cat: Catalog, acq: pd.DataFrame
) -> pd.DataFrame:
    """Trade-ins and lease returns the dealer puts back on its used lot."""
    disposed_here = acq["disposal_dealer"].to_numpy() >= 0
    end = acq["end"].to_numpy()
    age = year_of(np.minimum(end, END)) - acq["model_year"].to_numpy()
    n = len(acq)
    resell = disposed_here & (rng.random(n) < np.where(age <= 9, 0.5, 0.1))
    date = end + rng.integers(4, 91, n)
    resell &= (date >= START) & (date < END - 1)
    src = acq[resell]
    dealer = src["disposal_dealer"].to_numpy()
    buyer = _buyers(rng, people, cat.dealer_metro[dealer], date[resell], src["eid"].to_numpy())
    keep = buyer >= 0
    src, dealer, buyer, sold_on = src[keep], dealer[keep], buyer[keep], date[resell][keep]
    k = len(src)
    age = np.maximum(year_of(sold_on) - src["model_year"].to_numpy(), 1)
    cpo = (age <= 5) & cat.sells[dealer, src["make_i"].to_numpy()] & chance(rng, k, 0.5)
    condition = np.where(cpo, "cpo", "used").astype(object)
    price, _ = _price(
        rng, cat, src["model_row"].to_numpy(), src["model_year"].to_numpy(), age, condition
    )
    price = np.round(price * 1.04, -2)
    payment = np.where(chance(rng, k, 0.35), "cash", "finance").astype(object)
    term = np.where(payment == "finance", _pick(rng, FINANCE_TERMS, k), 0)
    amount, apr = _financing(rng, price, condition, payment, term)
    return pd.DataFrame(
        {
            "eid": buyer,
            "chain": -1,
            "date": sold_on,
            "make_i": src["make_i"].to_numpy(),
            "model_row": src["model_row"].to_numpy(),
            "model_year": src["model_year"].to_numpy(),
            "condition": condition,
            "price": price,
            "payment": payment,
            "term": term,
            "amount": amount,
            "apr": apr,
            "km_per_year": src["km_per_year"].to_numpy(),
            "dealer": dealer,
            "trade_in_of": -1,
            "first_car": False,
            "end": NEVER,
            "disposal": "",
            "disposal_dealer": -1,
            "origin": "resale",
            "vin": src["vin"].to_numpy(),
            "trade_in_vin": "",
        }
    )


def _private_sales(rng: np.random.Generator, people: People, acq: pd.DataFrame) -> pd.DataFrame:
    """Kijiji sales: the car changes hands with no dealer; only the OEM and service see it."""
    n = len(acq)
    sold = (acq["disposal"].to_numpy() == "private") & chance(rng, n, 0.6)
    date = acq["end"].to_numpy() + rng.integers(0, 46, n)
    sold &= (date >= START) & (date < END - 1)
    src = acq[sold]
    seller = src["eid"].to_numpy()
    metro = people.metro_at(seller, src["end"].to_numpy())
    buyer = _buyers(rng, people, metro, date[sold], seller)
    keep = buyer >= 0
    src = src[keep]
    k = len(src)
    return pd.DataFrame(
        {
            "eid": buyer[keep],
            "chain": -1,
            "date": date[sold][keep],
            "make_i": src["make_i"].to_numpy(),
            "model_row": src["model_row"].to_numpy(),
            "model_year": src["model_year"].to_numpy(),
            "condition": "used",
            "price": np.zeros(k),
            "payment": "",
            "term": 0,
            "amount": 0.0,
            "apr": 0.0,
            "km_per_year": src["km_per_year"].to_numpy(),
            "dealer": -1,
            "trade_in_of": -1,
            "first_car": False,
            "end": NEVER,
            "disposal": "",
            "disposal_dealer": -1,
            "origin": "private",
            "vin": src["vin"].to_numpy(),
            "trade_in_vin": "",
        }
    )
