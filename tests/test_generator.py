"""The sample-data generator: a messy but honest world, and the same world for the same seed.

These tests read the CSV files the way a loader would (no database) and check them against
the landing contract and the truth file written beside them.
"""

from __future__ import annotations

import csv
import hashlib
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from generator import generate_inbox
from generator.people import Families

PEOPLE = 600
SEED = 7
WINDOW_END = date(2026, 11, 1)

# Copied from shared/contracts/landing.md on purpose: the tests hold the generator to the
# contract, not to its own idea of it.
COLUMNS = {
    "dealers": "dealer_code dealer_name brands city region phone legal_entity",
    "dealer_sales": "dealer_code deal_id deal_date first_name last_name company_name email phone "
    "street city region postal_code birth_date vin make model model_year condition sale_price "
    "payment_type term_months trade_in_vin amount_financed apr monthly_payment",
    "service_orders": "dealer_code ro_number open_date customer_name phone email vin mileage "
    "pay_type labor_amount parts_amount total_amount description recall_campaign",
    "oem_registrations": "brand registration_id vin registration_date event owner_first_name "
    "owner_last_name street city region postal_code phone email consent_marketing",
    "crm_leads": "dealer_code lead_id created_at source first_name last_name email phone "
    "interest_make interest_model status provider cost_amount",
    "oem_recalls": "brand campaign_id vin issued_date description remedy_available",
}
REQUIRED = {
    "dealers": ["dealer_code", "dealer_name", "brands"],
    "dealer_sales": ["dealer_code", "deal_id", "deal_date", "vin"],
    "service_orders": ["dealer_code", "ro_number", "open_date", "vin"],
    "oem_registrations": ["brand", "registration_id", "vin", "registration_date"],
    "crm_leads": ["dealer_code", "lead_id", "created_at"],
    "oem_recalls": ["brand", "campaign_id", "vin", "issued_date"],
}
RECALL_KEY = ["brand", "campaign_id", "vin"]
KEY = {
    "dealer_sales": ["dealer_code", "deal_id"],
    "service_orders": ["dealer_code", "ro_number"],
    "oem_registrations": ["registration_id"],
    "crm_leads": ["dealer_code", "lead_id"],
}
PLACEHOLDER = re.compile(r"^(noemail|none|aucun|no|na|refus|pasdecourriel|nomail)@", re.I)
LADDERS = [("Toyota", "Lexus"), ("Honda", "Acura"), ("Hyundai", "Genesis"),
           ("Volkswagen", "Audi"), ("Audi", "Porsche"), ("Chevrolet", "Cadillac"),
           ("GMC", "Cadillac"), ("Buick", "Cadillac"), ("Ford", "Lincoln"),
           ("Nissan", "Infiniti")]  # fmt: skip

_VIN_VALUE = {str(d): d for d in range(10)} | {"P": 7, "R": 9}
for _letters, _first in (("ABCDEFGH", 1), ("JKLMN", 1), ("STUVWXYZ", 2)):
    _VIN_VALUE |= {c: _first + i for i, c in enumerate(_letters)}
_VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]


def vin_is_valid(vin: str) -> bool:
    """17 characters, no I/O/Q, check digit in position 9 (written here, not imported)."""
    vin = vin.strip().upper()
    if len(vin) != 17 or any(c not in _VIN_VALUE for c in vin):
        return False
    remainder = sum(_VIN_VALUE[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True)) % 11
    return vin[8] == ("X" if remainder == 10 else str(remainder))


def digits(phone: str) -> str:
    d = re.sub(r"\D", "", phone.split("x")[0].split("ext")[0].split("poste")[0])
    return d[1:] if len(d) == 11 and d.startswith("1") else d


def read_inbox(inbox: Path, sources=tuple(COLUMNS)) -> dict[str, pd.DataFrame]:
    """Every source's contract columns (plus `_file`, `_srid`, and `_person` from the truth).

    `out["headers"]` maps each file to its header, in file order.
    """
    truth = pd.read_csv(inbox / "truth.csv", dtype=str, keep_default_na=False)
    out: dict = {"truth": truth, "headers": {}}
    for source in sources:
        wanted = COLUMNS[source].split() + ["_file"]
        values: dict[str, list[str]] = {c: [] for c in wanted}
        for path in sorted((inbox / source).glob("*.csv")):
            with open(path, encoding="utf-8-sig", newline="") as f:
                header, *rows = list(csv.reader(f))
            out["headers"][f"{source}/{path.name}"] = tuple(header)
            position = {c: i for i, c in enumerate(header)}
            for column in wanted[:-1]:
                i = position.get(column)
                values[column] += [r[i] for r in rows] if i is not None else [""] * len(rows)
            values["_file"] += [path.name] * len(rows)
        frame = pd.DataFrame(values)
        key = KEY.get(source, RECALL_KEY if source == "oem_recalls" else None)
        if key:
            frame["_srid"] = frame[key[0]]
            for column in key[1:]:
                frame["_srid"] = frame["_srid"] + ":" + frame[column]
        if source in KEY:
            who = truth[truth["source"] == source].set_index("source_record_id")["person_id"]
            frame["_person"] = frame["_srid"].map(who)
        out[source] = frame
    return out


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("messy")
    summary = generate_inbox(inbox, people=PEOPLE, seed=SEED)
    return summary, read_inbox(inbox), inbox


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("clean")
    summary = generate_inbox(inbox, people=PEOPLE, seed=SEED, mess=0.0)
    return summary, read_inbox(inbox)


def file_digests(inbox: Path) -> dict[str, str]:
    return {
        str(p.relative_to(inbox)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(inbox.rglob("*.csv"))
    }


@pytest.fixture(scope="module")
def small_worlds(tmp_path_factory):
    """Digests of three small inboxes: seed 11 twice, seed 12 once."""
    root = tmp_path_factory.mktemp("small")
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        generate_inbox(root / name, people=200, seed=seed)
    return {name: file_digests(root / name) for name in "abc"}


def test_the_same_seed_writes_byte_identical_files(small_worlds):
    assert len(small_worlds["a"]) > 20
    assert small_worlds["a"] == small_worlds["b"]


def test_another_seed_gives_another_world(small_worlds):
    first, other = small_worlds["a"], small_worlds["c"]
    assert first["truth.csv"] != other["truth.csv"]
    shared = set(first) & set(other)
    assert sum(first[f] == other[f] for f in shared) <= len(shared) // 10


def test_every_file_has_the_contract_columns_and_its_required_values(messy):
    _, data, _ = messy
    for source, columns in COLUMNS.items():
        headers = {f: h for f, h in data["headers"].items() if f.startswith(source + "/")}
        assert headers, source
        for name, header in headers.items():
            missing = set(columns.split()) - set(header)
            assert not missing, f"{name} lacks {missing}"
        frame = data[source]
        for column in REQUIRED[source]:
            assert (frame[column].str.strip() != "").all(), f"{source}.{column} has blanks"


def test_sources_are_split_into_several_files_with_varying_column_order(messy):
    _, data, _ = messy
    for source in ("dealer_sales", "service_orders", "oem_registrations", "crm_leads"):
        headers = [h for f, h in data["headers"].items() if f.startswith(source + "/")]
        assert len(headers) >= 3, source
        assert len(set(headers)) > 1, f"{source}: every file has the same column order"


def test_every_record_is_in_the_truth_file_exactly_once(messy):
    summary, data, inbox = messy
    truth = data["truth"]
    assert not truth.duplicated(["source", "source_record_id"]).any()
    for source in KEY:
        frame = data[source]
        assert set(frame["_srid"]) == set(truth.loc[truth["source"] == source, "source_record_id"])
        assert frame["_person"].notna().all()
        repeated = frame[frame.duplicated("_srid", keep=False)]
        if source == "dealer_sales":  # only the re-export repeats rows, and identically
            assert len(repeated) > 0
            values = repeated.drop(columns="_file").drop_duplicates()
            assert values["_srid"].is_unique
        else:
            assert repeated.empty, source
    assert truth["person_id"].nunique() == summary.people + summary.businesses
    assert truth["person_id"].str.fullmatch(r"P\d{6}|B\d{5}").all()
    people = pd.read_csv(inbox / "truth_people.csv", dtype=str, keep_default_na=False)
    assert set(people["person_id"]) == set(truth["person_id"])
    assert people.loc[people["kind"] == "person", "household_id"].nunique() == summary.households


def _vins(data: dict[str, pd.DataFrame]) -> pd.Series:
    sources = ("dealer_sales", "service_orders", "oem_registrations")
    return pd.concat([data[s]["vin"] for s in sources], ignore_index=True)


def test_vins_are_valid_except_a_few_typos(messy, clean):
    _, typed, _ = messy
    _, clean_data = clean
    typed_bad = ~_vins(typed).map(vin_is_valid)
    assert 0 < typed_bad.mean() <= 0.008
    assert _vins(clean_data).map(vin_is_valid).all()


def _sales_by_vin(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    sales = data["dealer_sales"].drop_duplicates("_srid").copy()
    sales["v"] = sales["vin"].str.strip().str.upper()
    return sales[sales["v"].map(vin_is_valid)]


def test_service_after_a_resale_belongs_to_the_new_owner(messy):
    _, data, _ = messy
    sales = _sales_by_vin(data)
    resold = sales[sales.groupby("v")["_person"].transform("nunique") > 1]
    assert resold.groupby("v")["condition"].agg(lambda c: c.isin(["used", "cpo"]).any()).all()
    ros = data["service_orders"].assign(v=lambda f: f["vin"].str.strip().str.upper())
    ros = ros[ros["v"].isin(resold["v"])]
    # Each repair order belongs to whoever bought the car most recently before it.
    owner = pd.merge_asof(
        ros.assign(on=pd.to_datetime(ros["open_date"])).sort_values("on"),
        resold.assign(on=pd.to_datetime(resold["deal_date"]))[["v", "on", "_person"]].sort_values(
            "on"
        ),
        on="on",
        by="v",
        suffixes=("", "_buyer"),
    ).dropna(subset=["_person_buyer"])
    assert (owner["_person"] == owner["_person_buyer"]).all()
    served_both = owner.groupby("v")["_person"].nunique()
    assert (served_both > 1).sum() >= 10


def test_a_traded_in_vin_comes_back_as_a_used_sale(messy):
    _, data, _ = messy
    sales = _sales_by_vin(data)
    trade_ins = set(sales["trade_in_vin"].str.strip().str.upper()) - {""}
    resold = sales[sales["v"].isin(trade_ins) & sales["condition"].isin(["used", "cpo"])]
    assert len(resold) >= 20


def _people_records(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Sales and OEM rows as (person, first, last, street, postal, phone, birth)."""
    sales, oem = data["dealer_sales"], data["oem_registrations"]
    frame = pd.concat(
        [
            sales[
                [
                    "_person",
                    "first_name",
                    "last_name",
                    "street",
                    "postal_code",
                    "phone",
                    "birth_date",
                ]
            ],
            oem.rename(columns={"owner_first_name": "first_name", "owner_last_name": "last_name"})[
                ["_person", "first_name", "last_name", "street", "postal_code", "phone"]
            ].assign(birth_date=""),
        ],
        ignore_index=True,
    )
    return frame[frame["_person"].str.startswith("P") & (frame["street"] != "")]


def test_a_father_and_son_share_a_full_name_and_an_address(clean):
    _, data = clean
    people = _people_records(data)
    key = ["first_name", "last_name", "street", "postal_code"]
    shared = people.groupby(key)["_person"].nunique()
    pairs = shared[shared > 1].index
    assert len(pairs) > 0
    # And they are a generation apart, not one person counted twice.
    births = people[people["birth_date"] != ""].groupby("_person")["birth_date"].first()
    gaps = []
    for pair in pairs:
        who = people.set_index(key).loc[[pair], "_person"].unique()
        years = sorted(int(births[p][:4]) for p in who if p in births)
        if len(years) > 1:
            gaps.append(years[-1] - years[0])
    assert gaps and max(gaps) >= 15


def test_spouses_share_a_landline_and_an_address(clean):
    _, data = clean
    people = _people_records(data)
    people = people.assign(d=people["phone"].map(digits))
    people = people[people["d"].str.len() == 10]
    groups = people.groupby(["d", "street", "postal_code"]).agg(
        persons=("_person", "nunique"), firsts=("first_name", "nunique")
    )
    assert ((groups["persons"] >= 2) & (groups["firsts"] >= 2)).sum() >= 3


def test_placeholders_and_the_dealers_own_phone_appear_at_modest_rates(messy):
    _, data, _ = messy
    sales = data["dealer_sales"]
    placeholder = sales["email"].str.strip().str.match(PLACEHOLDER)
    assert 0.005 <= placeholder.mean() <= 0.1
    dealer_phones = set(data["dealers"]["phone"].map(digits))
    own = sales["phone"].map(digits).isin(dealer_phones)
    assert 0.003 <= own.mean() <= 0.06


def test_a_clean_world_has_no_placeholders_junk_phones_or_shouting(clean):
    _, data = clean
    dealer_phones = set(data["dealers"]["phone"].map(digits))
    for source in ("dealer_sales", "service_orders", "oem_registrations", "crm_leads"):
        frame = data[source]
        assert not frame["email"].str.match(PLACEHOLDER).any(), source
        phone = frame["phone"].map(digits)
        assert not phone.isin(dealer_phones).any(), source
        assert ((phone == "") | phone.str.fullmatch(r"[2-9]\d{2}[2-9]\d{6}")).all(), source
    names = data["dealer_sales"]["last_name"]
    assert not (names.str.isupper() & (names.str.len() > 3)).any()


def test_messy_names_come_in_capitals_without_accents_and_with_jr(messy):
    _, data, _ = messy
    last = pd.concat(
        [data["dealer_sales"]["last_name"], data["oem_registrations"]["owner_last_name"]]
    )
    assert last.str.isupper().mean() > 0.03
    assert last.str.contains(r"\b(?:Jr|JR|fils)\b").any()
    assert last.str.fullmatch(r"(?i)cote").any() or last.str.fullmatch(r"(?i)gagne").any()
    ros = data["service_orders"]["customer_name"]
    assert ros.str.contains(",").mean() > 0.5


def test_fleet_rows_belong_to_the_business(messy):
    _, data, _ = messy
    sales = data["dealer_sales"]
    fleet = sales[sales["company_name"] != ""]
    assert len(fleet) > 0
    assert fleet["_person"].str.startswith("B").all()
    assert not sales.loc[sales["company_name"] == "", "_person"].str.startswith("B").any()
    ros = data["service_orders"]
    business_ros = ros[ros["_person"].str.startswith("B")]
    assert len(business_ros) > 0
    words = fleet["company_name"].str.split().str[0].str.upper().unique()
    named = business_ros["customer_name"].str.upper().str.contains("|".join(map(re.escape, words)))
    assert named.mean() > 0.8


def test_money_has_two_decimals_and_service_totals_add_up(messy):
    _, data, _ = messy
    ros = data["service_orders"]
    money = r"\d+\.\d{2}"
    for column in ("labor_amount", "parts_amount", "total_amount"):
        assert ros[column].str.fullmatch(money).all()
    total = ros["labor_amount"].map(Decimal) + ros["parts_amount"].map(Decimal)
    assert (total == ros["total_amount"].map(Decimal)).all()
    assert data["dealer_sales"]["sale_price"].str.fullmatch(money).all()
    assert set(ros["pay_type"]) == {"customer", "warranty", "internal"}


def test_dates_and_timestamps_are_iso(messy):
    _, data, _ = messy
    for source, column in (
        ("dealer_sales", "deal_date"),
        ("service_orders", "open_date"),
        ("oem_registrations", "registration_date"),
    ):
        parsed = data[source][column].map(date.fromisoformat)
        assert parsed.min() >= date(2008, 1, 1) and parsed.max() < WINDOW_END
    births = data["dealer_sales"]["birth_date"]
    births[births != ""].map(date.fromisoformat)
    data["crm_leads"]["created_at"].map(datetime.fromisoformat)


def test_the_brand_ladder_is_climbed_within_a_group(messy):
    _, data, _ = messy
    sales = data["dealer_sales"].drop_duplicates("_srid")
    first_buy = sales.groupby(["_person", "make"])["deal_date"].agg(["min", "max"])
    climbs = 0
    for (person, make), row in first_buy.iterrows():
        for low, high in LADDERS:
            if make.lower() == low.lower() and (person, high) in first_buy.index:
                climbs += int(first_buy.loc[(person, high), "max"] > row["min"])
    assert climbs >= 3


def test_some_leases_mature_in_the_next_six_months(messy):
    _, data, _ = messy
    leases = data["dealer_sales"].drop_duplicates("_srid")
    leases = leases[(leases["payment_type"] == "lease") & (leases["term_months"] != "")]
    start = pd.to_datetime(leases["deal_date"])
    maturity = [
        s + pd.DateOffset(months=int(t)) for s, t in zip(start, leases["term_months"], strict=True)
    ]
    maturity = pd.Series(maturity)
    soon = (maturity >= pd.Timestamp(WINDOW_END)) & (
        maturity < pd.Timestamp(WINDOW_END) + pd.DateOffset(months=6)
    )
    assert soon.sum() >= 3
    assert set(leases["term_months"].astype(int)) <= set(range(24, 49))


def test_some_owners_change_their_mind_about_consent(messy):
    _, data, _ = messy
    oem = data["oem_registrations"].sort_values("registration_date")
    said = oem[oem["consent_marketing"] != ""].groupby("_person")["consent_marketing"].agg(list)
    assert any("Y" in v and v.index("Y") < len(v) - 1 and "N" in v[v.index("Y") :] for v in said)
    assert set(oem["consent_marketing"]) == {"Y", "N", ""}
    assert set(oem["event"]) == {"new_owner", "transfer"}


def test_leads_often_carry_only_an_email_or_a_phone(messy):
    _, data, _ = messy
    leads = data["crm_leads"]
    # Nearly every lead can be called back (a walk-in may leave no contact at all).
    assert ((leads["email"] != "") | (leads["phone"] != "")).mean() > 0.99
    only_one = (leads["email"] == "") ^ (leads["phone"] == "")
    assert only_one.mean() > 0.3
    assert set(leads["status"]) == {"open", "won", "lost"}
    never_bought = set(leads["_person"]) - set(data["dealer_sales"]["_person"])
    assert len(never_bought) > 20


def test_broken_rows_appear_only_when_asked(tmp_path, messy):
    summary = generate_inbox(tmp_path, people=200, seed=3, bad_rows=0.05)
    data = read_inbox(tmp_path, sources=("dealer_sales",))
    assert sum(summary.bad_rows.values()) > 0
    sales = data["dealer_sales"]

    def unparsable(value: str) -> bool:
        try:
            date.fromisoformat(value)
        except ValueError:
            return True
        return False

    broken = sales["deal_date"].map(unparsable) | (sales["vin"] == "")
    broken |= ~sales["sale_price"].str.fullmatch(r"\d+\.\d{2}")
    broken |= (sales["term_months"] != "") & ~sales["term_months"].str.fullmatch(r"\d+")
    assert broken.any()
    assert data["truth"]["source_record_id"].is_unique
    _, clean_data, _ = messy
    assert not clean_data["dealer_sales"]["deal_date"].map(unparsable).any()


def test_mess_changes_the_typing_not_the_world(messy, clean):
    _, typed, _ = messy
    _, clean_data = clean
    assert typed["truth"].equals(clean_data["truth"])
    assert not typed["dealer_sales"]["last_name"].equals(clean_data["dealer_sales"]["last_name"])


def _amount(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.replace("", None), errors="coerce")


def test_finance_and_lease_deals_say_what_was_borrowed_at_what_rate_and_cash_deals_do_not(clean):
    _, data = clean
    sales = data["dealer_sales"].drop_duplicates("_srid")
    cash = sales[sales["payment_type"] == "cash"]
    assert (cash[["amount_financed", "apr", "monthly_payment"]] == "").all().all()
    loans = sales[sales["payment_type"].isin(["finance", "lease"])]
    assert len(loans) > 100
    borrowed, price = _amount(loans["amount_financed"]), _amount(loans["sale_price"])
    assert (borrowed <= price).all() and (borrowed < price).mean() > 0.3  # down payments
    apr = _amount(loans["apr"])
    assert apr.between(0, 10).all() and (apr > 0).mean() > 0.5
    finance = loans[loans["payment_type"] == "finance"]
    rate, months = _amount(finance["apr"]) / 1200, _amount(finance["term_months"])
    amount = _amount(finance["amount_financed"])
    growth = (1 + rate) ** months
    expected = (amount * rate * growth / (growth - 1)).where(rate > 0, amount / months)
    assert ((_amount(finance["monthly_payment"]) - expected).abs() <= 0.01).all()


def test_third_party_leads_name_the_vendor_that_sold_them_and_what_it_cost(clean):
    _, data = clean
    leads = data["crm_leads"]
    third = leads[leads["source"] == "third_party"]
    assert (third["provider"] != "").all() and third["provider"].nunique() >= 4
    assert (_amount(third["cost_amount"]) > 0).all()
    own = leads[leads["source"].isin(["phone", "walk_in"])]
    assert (own[["provider", "cost_amount"]] == "").all().all()
    web = leads[leads["source"] == "web"]
    assert 0 < (web["provider"] != "").mean() < 0.6
    assert ((leads["cost_amount"] == "") | (leads["provider"] != "")).all()


def test_recalls_on_repair_orders_are_campaigns_of_that_vin_mostly_done_after_issue(messy):
    _, data, _ = messy
    recalls = data["oem_recalls"]
    assert recalls["brand"].nunique() >= 5 and recalls["_srid"].is_unique
    ros = data["service_orders"]
    done = ros[ros["recall_campaign"] != ""].assign(
        v=lambda f: f["vin"].str.strip().str.upper(),
        c=lambda f: f["recall_campaign"].str.upper(),
    )
    assert len(done) >= 5
    issued = recalls.set_index(["campaign_id", "vin"])["issued_date"]
    on = issued.reindex(pd.MultiIndex.from_frame(done[["c", "v"]])).to_numpy()
    assert pd.notna(on).all()  # every campaign performed covers that VIN
    assert (done["open_date"].to_numpy() >= on).mean() >= 0.9
    assert (_amount(recalls["issued_date"].str[:4]) <= WINDOW_END.year).all()


def test_some_rooftops_of_one_owner_share_a_legal_entity_and_others_leave_it_empty(messy):
    _, data, _ = messy
    entity = data["dealers"]["legal_entity"]
    shared = entity[entity != ""].value_counts()
    assert (shared >= 2).any()
    assert (entity == "").any()


def test_leads_behave_like_a_dealer_groups_crm(clean):
    """Shoppers sent to several rooftops at once, leads that close after the 120-day window,
    leads marked lost whose person bought at a sister rooftop, and paid third-party leads for
    people who had already bought: what marts.lead_outcomes is there to find."""
    _, data = clean
    leads = data["crm_leads"].assign(day=lambda f: pd.to_datetime(f["created_at"].str[:10]))
    sales = data["dealer_sales"].assign(day=lambda f: pd.to_datetime(f["deal_date"]))
    third = leads[leads["source"] == "third_party"]

    # One shopper's third-party inquiry at two or more rooftops within a few days.
    spread = third.groupby("_person").agg(
        rooftops=("dealer_code", "nunique"), days=("day", lambda d: (d.max() - d.min()).days)
    )
    assert ((spread["rooftops"] >= 2) & (spread["days"] <= 4)).sum() >= 5

    pairs = leads.merge(sales, on="_person", suffixes=("_lead", "_sale"))
    after = (pairs["day_sale"] - pairs["day_lead"]).dt.days
    same = pairs["dealer_code_lead"] == pairs["dealer_code_sale"]
    # A sale at the lead's rooftop 121 to 240 days after it: too late to credit the lead.
    assert (same & after.between(121, 240)).sum() >= 5
    # Marked lost here, bought at a sister rooftop within 120 days.
    assert (~same & after.between(0, 120) & (pairs["status"] == "lost")).sum() >= 10
    # A paid third-party lead for a person who had bought years before.
    paid = pairs[(pairs["source"] == "third_party") & (pairs["cost_amount"] != "")]
    assert ((paid["day_lead"] - paid["day_sale"]).dt.days >= 2 * 365).sum() >= 5


def test_family_rates_vary_by_seed_within_their_ranges_and_are_written_down(messy):
    summary, _, inbox = messy
    written = pd.read_csv(inbox / "truth_families.csv", dtype=str).set_index("rate")["value"]
    assert written.to_dict() == summary.families.rows()
    draws = [Families.draw(np.random.default_rng(seed)) for seed in range(20)]
    for name, (low, high) in Families.RANGES.items():
        values = [getattr(d, name) for d in draws]
        assert all(low <= v <= high for v in values), name
        assert max(values) - min(values) > (high - low) / 2, name  # they do vary
    # the world follows its rates: fathers and sons are a share of households near the draw
    people = pd.read_csv(inbox / "truth_people.csv", dtype=str, keep_default_na=False)
    sons = (people["role"] == "son").sum()
    assert sons / summary.households == pytest.approx(summary.families.junior_households, abs=0.03)
