"""The true world of customers: households, people, businesses and their contact histories.

Everything here is clean truth; `render` later decides how a clerk typed it. People live in
households (singles, couples, parents with a child who gets a first car, a father and a
son who share a full name), move house, change phones and e-mails. Businesses own fleets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from generator.reference import Reference
from generator.sampling import (
    ALWAYS,
    END,
    NEVER,
    START,
    YEAR,
    History,
    Lookup,
    chance,
    choice,
    days,
    year_of,
)
from generator.text import slug

HOUSEHOLD_TYPES = (
    # name, member roles, share of households (the juniors' shares are Families.junior_households,
    # split 2:1 as here; the others fill the rest in these proportions)
    ("single", ("head",), 0.36),
    ("couple", ("head", "spouse"), 0.38),
    ("family", ("head", "spouse", "child"), 0.17),
    ("junior", ("head", "spouse", "son"), 0.06),
    ("junior_solo", ("head", "son"), 0.03),
)
BUSINESS_SHARE = 0.04
LEAD_ONLY_SHARE = 0.07
POSTAL_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"
QC_METROS = ("MTL", "QUE", "GAT", "SHE", "TRV", "SAG")
_BAD_EXCHANGES = {555, 950, 958, 959, 976}
EXCHANGES = np.array([x for x in range(200, 1000) if x % 100 != 11 and x not in _BAD_EXCHANGES])


@dataclass(frozen=True)
class Families:
    """How often this world's families set the traps a matcher must not fall into.

    Drawn once per world (per seed) within the ranges in generator/README.md ("Families"),
    from a stream of their own, so a matcher tuned to one world meets others. `DEFAULT` holds
    the fixed rates the generator used before (the middle of each range).
    """

    junior_households: float  # households of a father and a son with his full name
    son_suffix: float  # the son's records typed with Jr, Jr., JR or fils (x mess)
    father_suffix: float  # the father's records typed with Sr or père (x mess)
    family_mailbox: float  # couples who share one family e-mail
    blank_contacts: float  # multiplies every source's blank phone and e-mail rate

    RANGES: ClassVar[dict[str, tuple[float, float]]] = {
        "junior_households": (0.06, 0.12),
        "son_suffix": (0.25, 0.45),
        "father_suffix": (0.03, 0.09),
        "family_mailbox": (0.02, 0.08),
        "blank_contacts": (0.75, 1.25),
    }

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Families:
        return cls(**{name: float(rng.uniform(*bounds)) for name, bounds in cls.RANGES.items()})

    @classmethod
    def default(cls) -> Families:
        return cls(**{name: (low + high) / 2 for name, (low, high) in cls.RANGES.items()})

    def rows(self) -> dict[str, str]:
        """Each rate as written to truth_families.csv (4 decimals)."""
        return {name: f"{getattr(self, name):.4f}" for name in self.RANGES}


@dataclass
class People:
    entities: pd.DataFrame
    residences: pd.DataFrame
    mobiles: pd.DataFrame
    emails: pd.DataFrame
    households: int
    residence_history: History
    mobile_history: History
    email_history: History
    families: Families

    @property
    def n(self) -> int:
        return len(self.entities)

    def contact_at(self, eids: np.ndarray, dates: np.ndarray) -> pd.DataFrame:
        """Each entity's name, address, phones and e-mail as they were on each date."""
        eids = np.asarray(eids, dtype=np.int64)
        ent = self.entities
        out = {
            col: ent[col].to_numpy()[eids]
            for col in ("first", "last", "company", "is_business", "junior", "birth", "hid")
        }
        res = self.residences
        rows = self.residence_history.at(eids, dates)
        for col in (
            "street_number",
            "unit",
            "street_type",
            "street_name",
            "street_lang",
            "city",
            "region",
            "postal",
            "metro",
            "landline",
        ):
            out[col] = res[col].to_numpy()[rows]
        out["mobile"] = self.mobiles["mobile"].to_numpy()[self.mobile_history.at(eids, dates)]
        out["email"] = self.emails["email"].to_numpy()[self.email_history.at(eids, dates)]
        return pd.DataFrame(out)

    def metro_at(self, eids: np.ndarray, dates: np.ndarray) -> np.ndarray:
        rows = self.residence_history.at(eids, dates)
        return self.residences["metro_idx"].to_numpy()[rows]


class PhoneBook:
    """Issues realistic, unique 10-digit Canadian numbers (area code + valid exchange)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.issued = np.empty(0, dtype=np.int64)

    def new(self, area_codes: np.ndarray) -> np.ndarray:
        area = np.asarray(area_codes, dtype=np.int64)
        n = len(area)
        numbers = np.zeros(n, dtype=np.int64)
        todo = np.ones(n, dtype=bool)
        while todo.any():
            k = int(todo.sum())
            exchange = EXCHANGES[self.rng.integers(0, len(EXCHANGES), size=k)]
            line = self.rng.integers(0, 10000, size=k)
            fictional = chance(self.rng, k, 0.003)  # the odd 555-01xx
            exchange = np.where(fictional, 555, exchange)
            line = np.where(fictional, 100 + line % 100, line)
            numbers[todo] = area[todo] * 10**7 + exchange * 10**4 + line
            shared = pd.Series(numbers).duplicated(keep=False).to_numpy()
            todo = todo & (shared | np.isin(numbers, self.issued))
        self.issued = np.concatenate([self.issued, numbers])
        return numbers.astype(str).astype(object)


def build_people(
    rng: np.random.Generator,
    ref: Reference,
    dealers: pd.DataFrame,
    phones: PhoneBook,
    n_people: int,
    families: Families | None = None,
) -> People:
    families = Families.default() if families is None else families
    metros = ref.metros.reset_index(drop=True)
    metro_weight = _metro_weights(metros, dealers)
    addresses = _AddressMaker(ref, metros)

    members, n_households = _households(rng, n_people, families.junior_households)
    hh_metro = rng.choice(len(metros), size=n_households, p=metro_weight)
    people = _individuals(rng, ref, metros, members, hh_metro)
    n_bus = int(round(n_people * BUSINESS_SHARE))
    businesses = _businesses(rng, ref, metros, metro_weight, people, n_bus)
    entities = pd.concat([people, businesses], ignore_index=True)
    entities["eid"] = np.arange(len(entities))
    # Stable public ids that say nothing about household order.
    n_ind, n_biz = len(people), len(businesses)
    ids = np.concatenate(
        [
            pd.Series(rng.permutation(n_ind) + 1).map("P{:06d}".format).to_numpy(),
            pd.Series(rng.permutation(n_biz) + 1).map("B{:05d}".format).to_numpy(),
        ]
    )
    entities["person_id"] = ids.astype(object)

    residences = _residences(rng, addresses, phones, entities, hh_metro, metro_weight)
    residences["metro_idx"] = residences["metro"].astype(np.int64)
    residences["metro"] = metros["metro"].to_numpy()[residences["metro_idx"].to_numpy()]
    mobiles = _mobiles(rng, phones, entities, residences)
    emails = _emails(
        rng, ref, entities, metros["metro"].isin(QC_METROS).to_numpy(), families.family_mailbox
    )
    n = len(entities)
    return People(
        entities=entities,
        residences=residences,
        mobiles=mobiles,
        emails=emails,
        households=n_households,
        residence_history=History(residences["eid"], residences["valid_from"], n),
        mobile_history=History(mobiles["eid"], mobiles["valid_from"], n),
        email_history=History(emails["eid"], emails["valid_from"], n),
        families=families,
    )


def _metro_weights(metros: pd.DataFrame, dealers: pd.DataFrame) -> np.ndarray:
    """Most customers live where the group has rooftops; a few live elsewhere in Canada."""
    count = metros["metro"].map(dealers["metro"].value_counts()).fillna(0).to_numpy(float)
    elsewhere = count == 0
    weight = count / count.sum() * 0.95
    weight[elsewhere] = 0.05 / max(int(elsewhere.sum()), 1)
    return weight / weight.sum()


def _households(
    rng: np.random.Generator, n_people: int, junior_share: float
) -> tuple[pd.DataFrame, int]:
    sizes = np.array([len(roles) for _, roles, _ in HOUSEHOLD_TYPES])
    shares = np.array([share for *_, share in HOUSEHOLD_TYPES])
    juniors = np.array([name.startswith("junior") for name, *_ in HOUSEHOLD_TYPES])
    shares = np.where(
        juniors,
        shares / shares[juniors].sum() * junior_share,
        shares / shares[~juniors].sum() * (1 - junior_share),
    )
    draws = rng.choice(len(HOUSEHOLD_TYPES), size=n_people, p=shares / shares.sum())
    total = np.cumsum(sizes[draws])
    kinds = draws[total <= n_people]
    short = n_people - int(sizes[kinds].sum())
    kinds = np.concatenate([kinds, np.zeros(short, dtype=kinds.dtype)])  # top up with singles
    roles = [HOUSEHOLD_TYPES[k][1] for k in kinds]
    hid = np.repeat(np.arange(len(kinds)), [len(r) for r in roles])
    role = np.array([r for rs in roles for r in rs], dtype=object)
    kind = np.repeat(np.array([HOUSEHOLD_TYPES[k][0] for k in kinds], dtype=object), sizes[kinds])
    return pd.DataFrame({"hid": hid, "role": role, "household_type": kind}), len(kinds)


def _year_to_day(rng: np.random.Generator, years: np.ndarray) -> np.ndarray:
    return ((np.asarray(years) - 1970) * YEAR + rng.uniform(0, 365, len(years))).astype(np.int64)


def _individuals(
    rng: np.random.Generator,
    ref: Reference,
    metros: pd.DataFrame,
    members: pd.DataFrame,
    hh_metro: np.ndarray,
) -> pd.DataFrame:
    n = len(members)
    hid = members["hid"].to_numpy()
    role = members["role"].to_numpy()
    htype = members["household_type"].to_numpy()
    metro = hh_metro[hid]
    head_row = np.flatnonzero(role == "head")
    head_of = np.empty(hid.max() + 1, dtype=np.int64)
    head_of[hid[head_row]] = head_row
    head = head_of[hid]  # row of each member's household head
    is_qc = np.isin(metros["metro"].to_numpy()[metro], QC_METROS)

    # Origin: a household's culture, sometimes mixed between spouses.
    mix = Lookup(
        [(["fr", "en", "other"], [r.p_fr, r.p_en, r.p_other]) for r in metros.itertuples()]
    )
    other = Lookup(
        [
            (ref.origins["origin"], ref.origins["w_elsewhere"]),
            (ref.origins["origin"], ref.origins["w_qc"]),
        ]
    )
    origin = mix.sample(rng, metro)
    origin = np.where(origin == "other", other.sample(rng, is_qc.astype(int)), origin)
    keep = (role != "spouse") | chance(rng, n, 0.85)
    origin = np.where(keep, origin[head], origin)

    # Birth dates, by household shape.
    years = rng.triangular(1935, 1968, 2001, n)
    years = np.where(htype == "family", rng.uniform(1950, 1980, n), years)
    years = np.where(htype == "junior", rng.uniform(1945, 1972, n), years)
    years = np.where(htype == "junior_solo", rng.uniform(1940, 1968, n), years)
    birth = _year_to_day(rng, years)
    birth = np.where(role == "spouse", birth[head] + rng.normal(0, 3 * YEAR, n), birth).astype(
        np.int64
    )
    child = birth[head] + rng.uniform(22, 38, n) * YEAR
    child = np.minimum(child, days("2008-06-30") - rng.uniform(0, 3, n) * YEAR)
    son = np.minimum(birth[head] + rng.uniform(20, 34, n) * YEAR, days("2007-06-30"))
    birth = np.where(role == "child", child, birth)
    birth = np.where(role == "son", son, birth).astype(np.int64)

    # Sex: fathers of a junior are men; couples are mostly mixed.
    sex = np.where(chance(rng, n, 0.5), "M", "F").astype(object)
    sex = np.where((role == "head") & np.isin(htype, ["junior", "junior_solo"]), "M", sex)
    opposite = np.where(sex[head] == "M", "F", "M")
    sex = np.where((role == "spouse") & chance(rng, n, 0.96), opposite, sex)
    sex = np.where(role == "son", "M", sex)

    first = _first_names(rng, ref, sex, origin, birth)
    for _ in range(3):  # spouses with one first name are confusing enough when real
        clash = (role == "spouse") & (first == first[head])
        if not clash.any():
            break
        first[clash] = _first_names(rng, ref, sex[clash], origin[clash], birth[clash])
    first = np.where(role == "son", first[head], first)

    surnames = ref.surnames
    origins = sorted(set(surnames["origin"]))
    by_origin = Lookup(
        [
            (
                surnames.loc[surnames["origin"] == o, "name"],
                surnames.loc[surnames["origin"] == o, "weight"],
            )
            for o in origins
        ]
    )
    origin_key = pd.Series(origin).map({o: i for i, o in enumerate(origins)}).to_numpy()
    last = by_origin.sample(rng, origin_key)
    # Québec women keep their own name since 1981; elsewhere spouses share it more often.
    share_name = chance(rng, n, 0.7) & ~(is_qc & chance(rng, n, 0.55))
    last = np.where((role == "spouse") & share_name, last[head], last)
    last = np.where(np.isin(role, ["child", "son"]), last[head], last)
    spouse_of = pd.Series(np.arange(n)[role == "spouse"], index=hid[role == "spouse"])
    spouse_row = spouse_of.reindex(hid).to_numpy()
    has_spouse = ~np.isnan(spouse_row)
    spouse_last = np.where(has_spouse, last[np.nan_to_num(spouse_row).astype(int)], "")
    double = (
        (role == "child")
        & is_qc
        & has_spouse
        & (spouse_last != last)
        & (year_of(birth) >= 1978)
        & (year_of(birth) <= 2002)
        & chance(rng, n, 0.3)
    )
    last = np.where(double, last + "-" + spouse_last, last)

    junior = np.where(role == "son", "son", "")
    junior = np.where(
        (role == "head") & np.isin(htype, ["junior", "junior_solo"]), "father", junior
    )
    return pd.DataFrame(
        {
            "kind": "person",
            "is_business": False,
            "hid": hid,
            "role": role,
            "household_type": htype,
            "junior": junior.astype(object),
            "sex": sex,
            "origin": origin,
            "first": first,
            "last": last,
            "company": "",
            "birth": birth,
            "metro0": metro,
            "lead_only": chance(rng, n, LEAD_ONLY_SHARE),
            "owner_eid": -1,
        }
    )


def _first_names(
    rng: np.random.Generator, ref: Reference, sex: np.ndarray, origin: np.ndarray, birth: np.ndarray
) -> np.ndarray:
    names = ref.first_names
    origins = sorted(set(names["origin"]))
    eras = ["w_pre1960", "w_1960s70s", "w_1980s90s", "w_2000s"]
    dists = []
    for s in ("F", "M"):
        for o in origins:
            sub = names[(names["sex"] == s) & (names["origin"] == o)]
            for era in eras:
                dists.append((sub["name"], sub[era].to_numpy() + 0.05))
    lookup = Lookup(dists)
    n = len(sex)
    # Many second-generation Canadians carry an English or French given name.
    origin = np.asarray(origin, dtype=object).copy()
    assimilated = ~np.isin(origin, ["fr", "en"]) & chance(rng, n, 0.3)
    origin[assimilated] = np.where(origin[assimilated] == "ht", "fr", "en")
    year = year_of(birth)
    era = np.digitize(year, [1960, 1980, 2000])
    o_key = pd.Series(origin).map({o: i for i, o in enumerate(origins)}).to_numpy()
    key = ((np.asarray(sex) == "M").astype(int) * len(origins) + o_key) * len(eras) + era
    return lookup.sample(rng, key)


def _businesses(
    rng: np.random.Generator,
    ref: Reference,
    metros: pd.DataFrame,
    metro_weight: np.ndarray,
    people: pd.DataFrame,
    n: int,
) -> pd.DataFrame:
    metro = rng.choice(len(metros), size=n, p=metro_weight)
    lang = np.where(metros["metro"].to_numpy()[metro].astype(str) == "TOR", "en", "fr")
    lang = np.where(
        np.isin(metros["metro"].to_numpy()[metro], ["OTT", "KIN", "WEST", "EAST"]), "en", lang
    )
    comp = ref.companies
    patterns = Lookup(
        [
            (comp.loc[comp["lang"] == lg, "pattern"], comp.loc[comp["lang"] == lg, "weight"])
            for lg in ("en", "fr")
        ]
    )
    pattern = patterns.sample(rng, (lang == "fr").astype(int))
    # The owner is a real person of the same region: a trap for matching on names.
    heads = people.index[(people["role"] == "head") & ~people["lead_only"]].to_numpy()
    head_metro = people["metro0"].to_numpy()[heads]
    owner = heads[rng.integers(0, len(heads), size=n)] if len(heads) else np.full(n, -1)
    for m in np.unique(metro):
        local = heads[head_metro == m]
        mine = np.flatnonzero(metro == m)
        if len(local):
            owner[mine] = local[rng.integers(0, len(local), size=len(mine))]
    owner_last = people["last"].to_numpy()[owner] if len(heads) else np.full(n, "Tremblay", object)
    company = np.array(
        [p.replace("{S}", s) for p, s in zip(pattern, owner_last, strict=True)], dtype=object
    )
    mode = rng.choice(
        np.array(["owner", "manager", "none"], dtype=object), size=n, p=[0.55, 0.25, 0.2]
    )
    manager_first = _first_names(
        rng,
        ref,
        np.where(chance(rng, n, 0.5), "M", "F"),
        lang,
        _year_to_day(rng, rng.uniform(1960, 1995, n)),
    )
    surnames = ref.surnames
    sur = Lookup(
        [
            (
                surnames.loc[surnames["origin"] == o, "name"],
                surnames.loc[surnames["origin"] == o, "weight"],
            )
            for o in ("en", "fr")
        ]
    )
    manager_last = sur.sample(rng, (lang == "fr").astype(int))
    first = np.where(
        mode == "owner", people["first"].to_numpy()[owner] if len(heads) else "", manager_first
    )
    last = np.where(mode == "owner", owner_last, manager_last)
    first = np.where(mode == "none", "", first)
    last = np.where(mode == "none", "", last)
    return pd.DataFrame(
        {
            "kind": "business",
            "is_business": True,
            "hid": -1,
            "role": "",
            "household_type": "",
            "junior": "",
            "sex": "",
            "origin": lang,
            "first": first,
            "last": last,
            "company": company,
            "birth": ALWAYS,
            "metro0": metro,
            "lead_only": False,
            "owner_eid": np.where(mode == "owner", owner, -1),
        }
    )


class _AddressMaker:
    """Street addresses and postal codes consistent with city, metro and province."""

    def __init__(self, ref: Reference, metros: pd.DataFrame):
        cities = ref.cities.reset_index(drop=True)
        self.cities = cities
        self.city_of_metro = Lookup(
            [
                (cities.index[cities["metro"] == m], cities.loc[cities["metro"] == m, "weight"])
                for m in metros["metro"]
            ]
        )
        streets = ref.streets
        self.street = Lookup(
            [
                (streets.loc[streets["lang"] == lg, "name"], np.ones((streets["lang"] == lg).sum()))
                for lg in ("en", "fr")
            ]
        )
        types = ref.street_types
        self.street_type = Lookup(
            [
                (types.loc[types["lang"] == lg, "type"], types.loc[types["lang"] == lg, "weight"])
                for lg in ("en", "fr")
            ]
        )
        self.fsa = Lookup([(f.split("|"), np.ones(len(f.split("|")))) for f in cities["fsa"]])
        self.area = Lookup(
            [(a.split("|"), np.ones(len(a.split("|")))) for a in cities["area_codes"]]
        )

    def make(
        self, rng: np.random.Generator, metro_idx: np.ndarray, business: bool = False
    ) -> pd.DataFrame:
        n = len(metro_idx)
        city_i = self.city_of_metro.sample(rng, metro_idx).astype(np.int64)
        city = self.cities["city"].to_numpy()[city_i]
        region = self.cities["region"].to_numpy()[city_i]
        city_lang = self.cities["lang"].to_numpy()[city_i]
        p_fr = np.where(city_lang == "fr", 0.9, np.where(region == "QC", 0.4, 0.1))
        lang = np.where(rng.random(n) < p_fr, "fr", "en").astype(object)
        lang_key = (lang == "fr").astype(int)
        if business:
            number = rng.integers(100, 9999, n)
        else:
            number = np.exp(rng.uniform(0, np.log(12000), n)).astype(np.int64) + 1
        metro_code = np.asarray(metro_idx)
        dense = np.isin(city, ["Montréal", "Toronto", "Québec", "Ottawa", "Laval", "Gatineau"])
        has_unit = rng.random(n) < np.where(dense, 0.35, 0.12) * (0.4 if business else 1.0)
        high_rise = chance(rng, n, 0.3)
        unit_no = np.where(
            high_rise, rng.integers(1, 25, n) * 100 + rng.integers(1, 15, n), rng.integers(1, 9, n)
        )
        letters = np.array(list(POSTAL_LETTERS), dtype=object)
        fsa = self.fsa.sample(rng, city_i)
        postal = (
            fsa
            + letters[rng.integers(0, len(letters), n)]
            + " "
            + rng.integers(0, 10, n).astype(str).astype(object)
            + letters[rng.integers(0, len(letters), n)]
            + rng.integers(0, 10, n).astype(str).astype(object)
        )
        return pd.DataFrame(
            {
                "street_number": number.astype(str).astype(object),
                "unit": np.where(has_unit, unit_no.astype(str), "").astype(object),
                "street_type": self.street_type.sample(rng, lang_key),
                "street_name": self.street.sample(rng, lang_key),
                "street_lang": lang,
                "city": city,
                "region": region,
                "postal": postal,
                "area_code": self.area.sample(rng, city_i).astype(np.int64),
                "metro_i": metro_code,
            }
        )


def _residences(
    rng: np.random.Generator,
    addresses: _AddressMaker,
    phones: PhoneBook,
    entities: pd.DataFrame,
    hh_metro: np.ndarray,
    metro_weight: np.ndarray,
) -> pd.DataFrame:
    """Address history per entity: households move together, grown children move out."""
    n_metros = len(metro_weight)
    ind = entities[~entities["is_business"]]
    n_hh = len(hh_metro)
    head_birth = (
        ind.loc[ind["role"] == "head"].set_index("hid")["birth"].reindex(np.arange(n_hh)).to_numpy()
    )
    n_moves = rng.choice(3, size=n_hh, p=[0.6, 0.3, 0.1])
    move = np.sort(rng.uniform(START + 180, END - 60, size=(n_hh, 2)), axis=1).astype(np.int64)
    metro = np.empty((n_hh, 3), dtype=np.int64)
    metro[:, 0] = hh_metro
    for k in (1, 2):
        stay = chance(rng, n_hh, 0.82)
        metro[:, k] = np.where(
            stay, metro[:, k - 1], rng.choice(n_metros, size=n_hh, p=metro_weight)
        )
    slots = addresses.make(rng, metro.ravel())
    slots["hid"] = np.repeat(np.arange(n_hh), 3)
    slots["k"] = np.tile(np.arange(3), n_hh)
    slots["valid_from"] = np.column_stack([np.full(n_hh, ALWAYS), move]).ravel()
    # Landlines: older households kept them; fewer new ones every year after 2008.
    year = np.clip(year_of(np.maximum(slots["valid_from"].to_numpy(), START)), 2008, 2030)
    base = np.select(
        [year_of(head_birth) < 1960, year_of(head_birth) < 1975, year_of(head_birth) < 1990],
        [0.75, 0.55, 0.3],
        0.12,
    )
    p_land = np.repeat(base, 3) * np.maximum(0.3, 1 - (year - 2008) / 25)
    has_land = rng.random(len(slots)) < p_land
    number = phones.new(slots["area_code"].to_numpy())
    landline = np.where(has_land, number, "").reshape(n_hh, 3)
    area = slots["area_code"].to_numpy().reshape(n_hh, 3)
    for k in (1, 2):  # a move in the same area code often ports the number
        port = (landline[:, k - 1] != "") & (area[:, k] == area[:, k - 1]) & chance(rng, n_hh, 0.5)
        landline[:, k] = np.where(port, landline[:, k - 1], landline[:, k])
    slots["landline"] = landline.ravel()
    hh_res = slots[slots["k"].to_numpy() <= np.repeat(n_moves, 3)].drop(columns="k")

    members = ind[["eid", "hid", "role", "birth"]]
    rows = members.merge(hh_res, on="hid", how="left", sort=False)
    young = members["role"].isin(["child", "son"]).to_numpy()
    n_ind = len(members)
    span = np.where(
        members["role"].to_numpy() == "son", rng.uniform(24, 45, n_ind), rng.uniform(19, 27, n_ind)
    )
    move_out = np.where(young, members["birth"].to_numpy() + span * YEAR, NEVER).astype(np.int64)
    rows = rows[rows["valid_from"].to_numpy() < move_out[rows["eid"].to_numpy()]]

    # Grown children get their own place (and maybe move once more).
    leaving = np.flatnonzero(young & (move_out < END - 30))
    own_parts = []
    if len(leaving):
        hid = members["hid"].to_numpy()[leaving]
        mo = move_out[leaving]
        k_at = ((move[hid, 0] <= mo) & (n_moves[hid] >= 1)).astype(int) + (
            (move[hid, 1] <= mo) & (n_moves[hid] >= 2)
        )
        near = metro[hid, k_at]
        m1 = np.where(
            chance(rng, len(leaving), 0.8),
            near,
            rng.choice(n_metros, size=len(leaving), p=metro_weight),
        )
        first = addresses.make(rng, m1)
        first["eid"] = members["eid"].to_numpy()[leaving]
        first["valid_from"] = mo
        again = mo + (rng.uniform(1, 6, len(leaving)) * YEAR).astype(np.int64)
        moves_again = chance(rng, len(leaving), 0.25) & (again < END - 30)
        m2 = np.where(
            chance(rng, len(leaving), 0.85),
            m1,
            rng.choice(n_metros, size=len(leaving), p=metro_weight),
        )
        second = addresses.make(rng, m2)
        second["eid"] = first["eid"].to_numpy()
        second["valid_from"] = again
        own = pd.concat([first, second[moves_again]], ignore_index=True)
        own["landline"] = np.where(
            chance(rng, len(own), 0.08), phones.new(own["area_code"].to_numpy()), ""
        )
        own_parts.append(own)

    bus = entities[entities["is_business"]]
    if len(bus):
        office = addresses.make(rng, bus["metro0"].to_numpy(), business=True)
        office["eid"] = bus["eid"].to_numpy()
        office["valid_from"] = ALWAYS
        office["landline"] = phones.new(office["area_code"].to_numpy())
        moved = chance(rng, len(bus), 0.1)
        later = addresses.make(rng, bus["metro0"].to_numpy(), business=True)
        later["eid"] = office["eid"].to_numpy()
        later["valid_from"] = rng.integers(START + 365, END - 365, len(bus))
        keep_phone = chance(rng, len(bus), 0.5)
        later["landline"] = np.where(
            keep_phone, office["landline"], phones.new(later["area_code"].to_numpy())
        )
        own_parts += [office, later[moved]]

    columns = [
        "eid",
        "valid_from",
        "street_number",
        "unit",
        "street_type",
        "street_name",
        "street_lang",
        "city",
        "region",
        "postal",
        "area_code",
        "landline",
        "metro_i",
    ]
    res = pd.concat([rows[columns], *[p[columns] for p in own_parts]], ignore_index=True)
    res = res.sort_values(["eid", "valid_from"], kind="stable").reset_index(drop=True)
    res["metro"] = res.pop("metro_i")
    return res


def _mobiles(
    rng: np.random.Generator, phones: PhoneBook, entities: pd.DataFrame, residences: pd.DataFrame
) -> pd.DataFrame:
    n = len(entities)
    first_res = residences.groupby("eid", sort=True).head(1).set_index("eid")
    area = first_res["area_code"].reindex(np.arange(n)).to_numpy()
    person = ~entities["is_business"].to_numpy()
    old = year_of(entities["birth"].to_numpy()) < 1945
    has = person & (rng.random(n) < np.where(old, 0.6, 0.93))
    first = np.where(has, phones.new(area), "")
    moved = (
        residences[residences["valid_from"] > ALWAYS].groupby("eid", sort=True)["valid_from"].min()
    )
    first_move = moved.reindex(np.arange(n)).fillna(-1).to_numpy(np.int64)
    change_at = np.where(
        (first_move > 0) & chance(rng, n, 0.3), first_move, rng.integers(START, END, n)
    )
    changes = has & (((first_move > 0) & chance(rng, n, 0.3)) | chance(rng, n, 0.1))
    second = phones.new(area[changes])
    return pd.DataFrame(
        {
            "eid": np.concatenate([np.arange(n), np.flatnonzero(changes)]),
            "valid_from": np.concatenate([np.full(n, ALWAYS), change_at[changes]]),
            "mobile": np.concatenate([first, second]),
        }
    )


def _emails(
    rng: np.random.Generator,
    ref: Reference,
    entities: pd.DataFrame,
    metros_qc: np.ndarray,
    family_mailbox: float,
) -> pd.DataFrame:
    n = len(entities)
    person = ~entities["is_business"].to_numpy()
    birth = entities["birth"].to_numpy()
    first = entities["first"].to_numpy()
    last = entities["last"].to_numpy()
    is_qc = metros_qc[entities["metro0"].to_numpy()]
    domains = ref.email_domains
    domain = Lookup(
        [(domains["domain"], domains["w_elsewhere"]), (domains["domain"], domains["w_qc"])]
    )

    def personal(idx: np.ndarray) -> np.ndarray:
        k = len(idx)
        f = slug(first[idx], keep_hyphen=chance(rng, k, 0.4))
        sur = slug(last[idx], keep_hyphen=chance(rng, k, 0.3))
        yy = pd.Series(year_of(birth[idx]) % 100).map("{:02d}".format).to_numpy()
        nn = rng.integers(1, 100, k)
        pattern = rng.choice(len(EMAIL_PATTERNS), size=k, p=EMAIL_WEIGHTS)
        local = [
            EMAIL_PATTERNS[p].format(f=a, l=b, i=a[:1], yy=c, nn=d)
            for p, a, b, c, d in zip(pattern, f, sur, yy, nn, strict=True)
        ]
        domains = domain.sample(rng, is_qc[idx].astype(int))
        local = np.asarray(local, dtype=object)
        # Gmail user names hold letters, digits and dots only.
        gmail = np.isin(domains, list(_DOTLESS_PROVIDERS))
        local[gmail] = [x.replace("_", ".").replace("-", ".") for x in local[gmail]]
        return local + "@" + domains

    people_idx = np.flatnonzero(
        person & (rng.random(n) < np.where(year_of(birth) < 1950, 0.65, 0.9))
    )
    switch = people_idx[chance(rng, len(people_idx), 0.22)]
    bus_idx = np.flatnonzero(~person)
    company_slug = slug(
        pd.Series(entities["company"].to_numpy()[bus_idx], dtype=object).str.replace(
            r"(?i)\b(inc|ltée|ltd|enr|les|et|fils|sons|and)\b\.?", "", regex=True
        )
    )
    bus_mail = (
        choice(rng, ["info", "admin", "comptabilite", "bureau", "office", "fleet"], len(bus_idx))
        + "@"
        + company_slug
        + np.where(is_qc[bus_idx], ".ca", ".com")
    )
    addresses = np.concatenate([personal(people_idx), personal(switch), bus_mail])
    addresses = _unique_emails(rng, addresses)
    k1, k2 = len(people_idx), len(switch)
    eid = np.concatenate([people_idx, switch, bus_idx])
    valid_from = np.concatenate(
        [
            np.full(k1, ALWAYS),
            rng.integers(START + 365, END - 365, k2),
            np.full(len(bus_idx), ALWAYS),
        ]
    )
    table = pd.DataFrame({"eid": eid, "valid_from": valid_from, "email": addresses})

    # A few couples use one family address: two people, one e-mail.
    spouse = entities.index[entities["role"] == "spouse"].to_numpy()
    heads = entities.loc[entities["role"] == "head"].set_index("hid")["eid"]
    couple_head = heads.reindex(entities["hid"].to_numpy()[spouse]).to_numpy()
    shared = chance(rng, len(spouse), family_mailbox)
    sp, hd = spouse[shared], couple_head[shared]
    if len(sp):
        family = (
            np.where(chance(rng, len(sp), 0.5), "famille.", "")
            + slug(last[hd])
            + np.where(chance(rng, len(sp), 0.5), slug(last[sp]), "")
            + "@"
            + domain.sample(rng, is_qc[hd].astype(int))
        )
        family = _unique_emails(rng, family, taken=table["email"].to_numpy())
        table = table[~table["eid"].isin(np.concatenate([sp, hd]))]
        both = pd.DataFrame(
            {
                "eid": np.concatenate([hd, sp]),
                "valid_from": ALWAYS,
                "email": np.concatenate([family, family]),
            }
        )
        table = pd.concat([table, both], ignore_index=True)
    no_mail = np.setdiff1d(np.arange(n), table["eid"].to_numpy())
    table = pd.concat(
        [table, pd.DataFrame({"eid": no_mail, "valid_from": ALWAYS, "email": ""})],
        ignore_index=True,
    )
    return table.sort_values(["eid", "valid_from"], kind="stable").reset_index(drop=True)


EMAIL_PATTERNS = (
    "{f}.{l}",
    "{f}{l}",
    "{i}{l}",
    "{f}.{l}{yy}",
    "{f}{yy}",
    "{l}.{f}",
    "{f}_{l}",
    "{f}{l}{nn}",
    "{i}.{l}",
    "{l}{i}",
)
EMAIL_WEIGHTS = np.array([30, 14, 12, 10, 6, 5, 5, 10, 7, 4], dtype=float) / 103


# Providers that ignore the dots of a user name: `jean.roy@gmail.com` is `jeanroy@gmail.com`.
_DOTLESS_PROVIDERS = frozenset({"gmail.com", "googlemail.com"})


def _mailbox(emails: np.ndarray) -> np.ndarray:
    """The mailbox an address reaches: without the dots of its user name where the provider
    ignores them."""
    local, _, dom = pd.Series(emails, dtype=object).str.partition("@").T.to_numpy()
    dotless = np.isin(dom, list(_DOTLESS_PROVIDERS))
    local = local.copy()
    local[dotless] = [x.replace(".", "") for x in local[dotless]]
    return local + "@" + dom


def _unique_emails(
    rng: np.random.Generator, emails: np.ndarray, taken: np.ndarray | None = None
) -> np.ndarray:
    """Two people cannot own one mailbox: later duplicates get digits like real sign-ups do.
    At Gmail `jean.roy` and `jeanroy` are one mailbox, so a namesake cannot take the other."""
    emails = np.asarray(emails, dtype=object).copy()
    taken = np.empty(0, dtype=object) if taken is None else np.asarray(taken, dtype=object)
    taken = _mailbox(taken) if taken.size else taken
    while True:
        boxes = _mailbox(emails)
        dup = pd.Series(boxes).duplicated().to_numpy() | np.isin(boxes, taken)
        if not dup.any():
            return emails
        local, _, dom = pd.Series(emails[dup]).str.partition("@").T.to_numpy()
        emails[dup] = (
            local + rng.integers(1, 1000, dup.sum()).astype(str).astype(object) + "@" + dom
        )
