"""From clean events to what each system exported: file layout, per-file habits, typed values.

Each export file gets its own habits (a DMS that upper-cases, one that strips accents, a
phone format); each row then gets the clerk's slips at rates scaled by `mess`
(0 = clean, 1 = realistic, 2 = hostile). The truth (`_person`) and the natural key
(`_srid`) ride along in underscore columns that are never written to the inbox.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from generator import mess as m
from generator.people import People
from generator.reference import Reference
from generator.sampling import YEAR, chance, choice, iso_dates, shared_text, year_of
from generator.vehicles import Catalog
from generator.vin import typo as vin_typo
from ingest.contract import SOURCES

_SUFFIX = re.compile(r"(?i),?\s+(inc\.?|ltée|ltee|ltd\.?|enr\.?)$")
CAMPAIGNS = ("", "Google Ads", "Facebook", "Infolettre", "Salon de l'auto", "AutoHebdo", "Kijiji")
# Third-party lead vendors: share of third-party leads, and what one lead costs ($).
LEAD_VENDORS = (
    ("AutoTrader", 0.3, (15, 40)),
    ("CarGurus", 0.25, (25, 60)),
    ("Kijiji Autos", 0.2, (10, 30)),
    ("Carpages", 0.1, (8, 20)),
    ("Unhaggle", 0.1, (50, 90)),
    ("CarCostCanada", 0.05, (30, 60)),
)
PROVINCES = {"ON": "Ontario", "NB": "New Brunswick", "AB": "Alberta", "BC": "British Columbia"}
# Lease residual value as a share of the price, by term in months (longer: less left).
RESIDUALS = ((36, 0.58), (48, 0.5), (60, 0.42))
# How a service writer types a customer: by file habit, sometimes differently.
SERVICE_NAMES = (
    lambda first, last: f"{last}, {first}",
    lambda first, last: f"{first} {last}",
    lambda first, last: f"{last} {first}",
    lambda first, last: f"{last}, {first.strip()[:1]}",
    lambda first, last: f"{first.strip()[:1]}. {last}",
    lambda first, last: last,
)


class Renderer:
    def __init__(
        self,
        rng: np.random.Generator,
        ref: Reference,
        people: People,
        cat: Catalog,
        mess: float,
        round2: np.random.Generator | None = None,
    ):
        self.rng = rng
        # Draws for the columns added to the contract later (financing, lead vendors, legal
        # entities) come from their own stream, so the columns that were there before come
        # out of a seed as they always did.
        self.round2 = round2 if round2 is not None else rng.spawn(1)[0]
        self.ref = ref
        self.people = people
        self.cat = cat
        self.mess = float(mess)
        self.dealers = cat.dealers
        self.placeholders = np.asarray(ref.junk_values("email_placeholder"), dtype=object)
        self.junk_phones = np.asarray(ref.junk_values("phone_junk"), dtype=object)
        names = ref.first_names.sample(frac=1.0, random_state=rng.integers(2**31))["name"]
        lasts = ref.surnames.sample(frac=1.0, random_state=rng.integers(2**31))["name"]
        k = min(len(names), len(lasts))
        self.staff = (names.to_numpy()[:k] + " " + lasts.to_numpy()[:k]).astype(object)

    # -- helpers ---------------------------------------------------------------------------

    def slip(self, n: int, base: float) -> np.ndarray:
        """Rows hit by one kind of slip at `base` x mess."""
        return chance(self.rng, n, base * self.mess)

    def styles(self, files: np.ndarray) -> pd.DataFrame:
        """Per-file habits of the exporting system."""
        names = np.unique(files.astype(str))
        k = len(names)
        rng, mess = self.rng, self.mess
        w = m.PHONE_FORMAT_WEIGHTS / m.PHONE_FORMAT_WEIGHTS.sum()
        # Export habits other than the clean one show up in proportion to `mess`.
        habit = chance(rng, k, mess)
        phone_fmt = np.where(habit, rng.choice(len(w), size=k, p=w), 0)
        name_fmt = np.where(habit, rng.choice(3, size=k, p=[0.75, 0.15, 0.1]), 0)
        ts_fmt = np.where(habit, rng.integers(0, 4, k), 0)
        return pd.DataFrame(
            {
                "upper": chance(rng, k, 0.2 * mess),
                "fold": chance(rng, k, 0.3 * mess),
                "phone_fmt": phone_fmt,
                "name_fmt": name_fmt,
                "ts_fmt": ts_fmt,
                "crlf": chance(rng, k, 0.15 * mess),
                "bom": chance(rng, k, 0.04 * mess),
                "order_seed": rng.integers(0, 2**31, k),
                "extra_a": chance(rng, k, 0.5),
                "extra_b": chance(rng, k, 0.4),
            },
            index=names,
        )

    def per_row(self, files: np.ndarray, styles: pd.DataFrame) -> pd.DataFrame:
        return styles.iloc[styles.index.get_indexer(files.astype(str))].reset_index(drop=True)

    def names(
        self,
        first: np.ndarray,
        last: np.ndarray,
        junior: np.ndarray,
        st: pd.DataFrame,
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(first)
        rng = self.rng
        families = self.people.families
        son = (junior == "son") & self.slip(n, families.son_suffix)
        on_last = chance(rng, n, 0.7)
        last = m.junior(rng, last, son & on_last, ("Jr", "Jr.", "JR", "fils"))
        first = m.junior(rng, first, son & ~on_last, ("Jr", "Jr."))
        last = m.junior(
            rng, last, (junior == "father") & self.slip(n, families.father_suffix), ("Sr", "père")
        )
        first = m.nickname(rng, first, self.slip(n, 0.07), self.ref.nicknames)
        first = m.hyphen_to_space(first, self.slip(n, 0.2))
        last = m.hyphen_to_space(last, self.slip(n, 0.2))
        last = m.first_part(last, self.slip(n, 0.1))
        last = m.saint(rng, last, self.slip(n, 0.35))
        first = m.typo(rng, first, self.slip(n, 0.012))
        last = m.typo(rng, last, self.slip(n, 0.012))
        swap = self.slip(n, 0.01)
        first, last = m.where(swap, last, first), m.where(swap, first, last)
        fold = st["fold"].to_numpy() | self.slip(n, 0.08)
        first, last = m.fold_accents(first, fold), m.fold_accents(last, fold)
        up = st["upper"].to_numpy() | self.slip(n, 0.05)
        low = ~up & self.slip(n, 0.015)
        first, last = m.lower(m.upper(first, up), low), m.lower(m.upper(last, up), low)
        return m.pad_spaces(rng, first, self.slip(n, 0.01)), m.pad_spaces(
            rng, last, self.slip(n, 0.01)
        )

    def company(self, company: np.ndarray, st: pd.DataFrame) -> np.ndarray:
        n = len(company)
        out = np.asarray(company, dtype=object)
        out = m.apply(out, self.slip(n, 0.25), lambda v: _SUFFIX.sub("", v))
        out = m.saint(self.rng, out, self.slip(n, 0.3))
        out = m.fold_accents(out, st["fold"].to_numpy() | self.slip(n, 0.1))
        return m.upper(out, st["upper"].to_numpy() | self.slip(n, 0.15))

    def phone(
        self,
        c: pd.DataFrame,
        dealer: np.ndarray,
        st: pd.DataFrame,
        landline_share: float,
        dealer_rate: float,
        junk_rate: float,
        missing_rate: float,
    ) -> np.ndarray:
        n = len(c)
        rng = self.rng
        mobile, land = c["mobile"].to_numpy(), c["landline"].to_numpy()
        use_land = (land != "") & ((mobile == "") | chance(rng, n, landline_share))
        digits = np.where(use_land, land, mobile).astype(object)
        fmt = np.where(
            self.slip(n, 0.2), rng.integers(0, len(m.PHONE_FORMATS), n), st["phone_fmt"].to_numpy()
        )
        is_bus = c["is_business"].to_numpy()
        out = m.format_phones(rng, digits, fmt, np.where(is_bus, 0.2, 0.004) * self.mess)
        # The rooftop's own number typed in the customer's field.
        own = self.slip(n, dealer_rate)
        if own.any():
            dealer_digits = self.dealers["phone"].to_numpy()[dealer[own]]
            out[own] = m.format_phones(rng, dealer_digits, fmt[own], 0.0)
        junk = self.slip(n, junk_rate) & ~own
        out[junk] = choice(rng, self.junk_phones, int(junk.sum()))
        blank = self.slip(n, missing_rate * self.people.families.blank_contacts)
        return m.blank(out, blank & ~own & ~junk)

    def email(
        self,
        emails: np.ndarray,
        dealer: np.ndarray,
        placeholder_rate: float,
        missing_rate: float,
    ) -> np.ndarray:
        n = len(emails)
        rng = self.rng
        out = np.asarray(emails, dtype=object)
        out = m.email_typo(rng, out, self.slip(n, 0.008))
        out = m.upper(out, self.slip(n, 0.02))
        out = m.capitalize(out, self.slip(n, 0.02))
        out = m.pad_spaces(rng, out, self.slip(n, 0.01))
        out = m.blank(out, self.slip(n, missing_rate * self.people.families.blank_contacts))
        # A customer who declines gets a placeholder so the DMS lets the deal through.
        declined = self.slip(n, placeholder_rate)
        if declined.any():
            site = self.dealers["website"].to_numpy()[dealer[declined]]
            fake = choice(rng, self.placeholders, int(declined.sum()))
            fake = np.array(
                [f.replace("{dealer_domain}", s) for f, s in zip(fake, site, strict=True)],
                dtype=object,
            )
            out[declined] = fake
        return out

    def address(
        self, c: pd.DataFrame, st: pd.DataFrame, missing: tuple[float, float, float]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n = len(c)
        rng = self.rng
        types = self.ref.street_types.set_index("type")
        abbrev = types["abbreviations"].str.split("|")
        stype = c["street_type"].to_numpy().astype(object)
        short = self.slip(n, 0.35)
        idx = np.flatnonzero(short)
        picks = rng.random(len(idx))
        for i, u in zip(idx, picks, strict=True):
            options = abbrev[stype[i]]
            stype[i] = options[int(u * len(options))]
        fr = c["street_lang"].to_numpy() == "fr"
        number = c["street_number"].to_numpy().astype(object)
        name = c["street_name"].to_numpy().astype(object)
        name = m.saint(rng, name, self.slip(n, 0.35))
        core = np.where(
            fr,
            number + np.where(stype == "", "", " " + stype) + " " + name,
            number + " " + name + np.where(stype == "", "", " " + stype),
        ).astype(object)
        unit = c["unit"].to_numpy().astype(object)
        has_unit = unit != ""
        unit_style = np.where(self.slip(n, 0.5), rng.integers(1, 4, n), 0)
        suffix = np.where(
            fr,
            np.array(["", ", app. ", " app ", " #"], dtype=object)[unit_style],
            np.array(["", ", Apt ", " Unit ", " #"], dtype=object)[unit_style],
        )
        street = np.where(
            has_unit & (unit_style == 0),
            unit + "-" + core,
            np.where(has_unit, core + suffix + unit, core),
        ).astype(object)
        city = c["city"].to_numpy().astype(object)
        city = m.saint(rng, city, self.slip(n, 0.3))
        fold = st["fold"].to_numpy() | self.slip(n, 0.1)
        up = st["upper"].to_numpy() | self.slip(n, 0.05)
        street = m.upper(m.fold_accents(street, fold), up)
        city = m.upper(m.fold_accents(city, fold), up)
        region = m.region_spelling(rng, c["region"].to_numpy(), self.slip(n, 0.12))
        postal = m.postal_variants(rng, c["postal"].to_numpy(), min(0.2 * self.mess, 1.0))
        miss_street, miss_city, miss_postal = missing
        street = m.blank(street, self.slip(n, miss_street))
        city = m.blank(city, self.slip(n, miss_city))
        region = m.blank(region, self.slip(n, miss_city / 2))
        postal = m.blank(postal, self.slip(n, miss_postal))
        return street, city, region, postal

    def vins(self, vins: np.ndarray) -> np.ndarray:
        """A few per thousand typed wrong; a few with case or spacing slips (still valid)."""
        out = np.asarray(vins, dtype=object).copy()
        n = len(out)
        has = out != ""
        bad = np.flatnonzero(has & self.slip(n, 0.003))
        for i in bad:
            out[i] = vin_typo(out[i], self.rng)
        soft = has & self.slip(n, 0.002)
        soft[bad] = False
        out = m.lower(out, soft & chance(self.rng, n, 0.5))
        return m.pad_spaces(self.rng, out, soft)

    def staff_names(self, dealer: np.ndarray) -> np.ndarray:
        """Each rooftop has a handful of salespeople or advisors; a row names one."""
        slot = self.rng.integers(0, 7, len(dealer))
        return self.staff[(np.asarray(dealer) * 7 + slot) % len(self.staff)]

    def frame(
        self,
        source: str,
        columns: dict[str, np.ndarray],
        person: np.ndarray,
        files: np.ndarray,
        extras: dict[str, np.ndarray],
    ) -> pd.DataFrame:
        out = pd.DataFrame({**columns, **extras})
        out["_srid"] = _join(out, SOURCES[source].key)
        out["_person"] = self.people.entities["person_id"].to_numpy()[person]
        out["_file"] = pd.Categorical(files)
        return out

    # -- sources ---------------------------------------------------------------------------

    def dealer_sales(self, sales: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        sales = sales.reset_index(drop=True)
        n = len(sales)
        rng = self.rng
        d = sales["dealer"].to_numpy()
        code = self.dealers["dealer_code"].to_numpy()[d]
        year = year_of(sales["date"].to_numpy())
        era = pd.DataFrame({"code": code, "dms": sales["dms"].to_numpy(), "year": year})
        span = era.groupby(["code", "dms"])["year"].agg(["min", "max"])
        lo = span["min"].reindex(pd.MultiIndex.from_frame(era[["code", "dms"]])).to_numpy()
        hi = span["max"].reindex(pd.MultiIndex.from_frame(era[["code", "dms"]])).to_numpy()
        files = (
            era["code"]
            + "_"
            + era["dms"]
            + "_deals_"
            + pd.Series(lo).astype(str)
            + "-"
            + pd.Series(hi).astype(str)
            + ".csv"
        ).to_numpy()
        styles = self.styles(files)
        st = self.per_row(files, styles)

        stale = self.slip(n, 0.04)
        when = np.where(
            stale,
            sales["date"].to_numpy() - (rng.uniform(1, 3, n) * YEAR).astype(np.int64),
            sales["date"].to_numpy(),
        )
        c = self.people.contact_at(sales["eid"].to_numpy(), when)
        is_bus = c["is_business"].to_numpy()
        first, last = self.names(
            c["first"].to_numpy(), c["last"].to_numpy(), c["junior"].to_numpy(), st
        )
        company = np.where(is_bus, self.company(c["company"].to_numpy(), st), "").astype(object)
        phone = self.phone(
            c, d, st, landline_share=0.3, dealer_rate=0.02, junk_rate=0.008, missing_rate=0.04
        )
        email = self.email(c["email"].to_numpy(), d, placeholder_rate=0.04, missing_rate=0.08)
        street, city, region, postal = self.address(c, st, missing=(0.02, 0.02, 0.04))
        born = iso_dates(np.where(is_bus, 0, c["birth"].to_numpy()))
        birth = np.where(is_bus, "", born).astype(object)
        birth = m.blank(birth, self.slip(n, 0.6))
        birth = m.swap_day_month(birth, self.slip(n, 0.01) & (birth != ""))
        up = st["upper"].to_numpy()
        model = m.upper(sales["model"].to_numpy(), up | self.slip(n, 0.03))
        make = m.upper(sales["make"].to_numpy(), up)
        term = sales["term"].to_numpy()
        columns = {
            "dealer_code": code,
            "deal_id": sales["deal_id"].to_numpy(),
            "deal_date": iso_dates(sales["date"].to_numpy()),
            "first_name": first,
            "last_name": last,
            "company_name": company,
            "email": email,
            "phone": phone,
            "street": street,
            "city": city,
            "region": region,
            "postal_code": postal,
            "birth_date": birth,
            "vin": self.vins(sales["vin"].to_numpy()),
            "make": make,
            "model": model,
            "model_year": shared_text(sales["model_year"].to_numpy()),
            "condition": sales["condition"].to_numpy(),
            "sale_price": _money(sales["price"].to_numpy()),
            "payment_type": sales["payment"].to_numpy(),
            "term_months": np.where(term > 0, shared_text(term), "").astype(object),
            "trade_in_vin": self.vins(sales["trade_in_vin"].to_numpy()),
            **self.financing(sales),
        }
        stock = (
            np.where(sales["condition"].to_numpy() == "new", "N", "U")
            + pd.Series(rng.integers(10000, 99999, n)).astype(str).to_numpy()
        )
        extras = {"salesperson": self.staff_names(d), "stock_number": stock.astype(object)}
        return self.frame("dealer_sales", columns, sales["eid"].to_numpy(), files, extras), styles

    def service_orders(self, ro: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        ro = ro.reset_index(drop=True)
        n = len(ro)
        rng = self.rng
        d = ro["dealer"].to_numpy()
        code = self.dealers["dealer_code"].to_numpy()[d]
        year = year_of(ro["date"].to_numpy()).astype(str)
        files = (pd.Series(code) + "_" + ro["dms"] + "_ro_" + year + ".csv").to_numpy()
        styles = self.styles(files)
        st = self.per_row(files, styles)
        c = self.people.contact_at(ro["eid"].to_numpy(), ro["date"].to_numpy())
        is_bus = c["is_business"].to_numpy()
        first, last = self.names(
            c["first"].to_numpy(), c["last"].to_numpy(), c["junior"].to_numpy(), st
        )
        fmt = np.where(
            self.slip(n, 0.2), rng.integers(0, len(SERVICE_NAMES), n), st["name_fmt"].to_numpy()
        )
        person = np.array(
            [SERVICE_NAMES[k](f, la) for k, f, la in zip(fmt.tolist(), first, last, strict=True)],
            dtype=object,
        )
        company = self.company(c["company"].to_numpy(), st)
        with_contact = self.slip(n, 0.1) & (c["first"].to_numpy() != "")
        company = np.where(with_contact, company + " / " + first, company).astype(object)
        name = np.where(is_bus, company, person).astype(object)
        labor, parts = ro["labor_cents"].to_numpy(), ro["parts_cents"].to_numpy()
        jobs = self.ref.service_jobs
        text = np.where(
            ro["french"].to_numpy(),
            jobs["fr"].to_numpy()[ro["job"].to_numpy()],
            jobs["en"].to_numpy()[ro["job"].to_numpy()],
        )
        text = m.upper(
            m.fold_accents(text.astype(object), st["fold"].to_numpy()), st["upper"].to_numpy()
        )
        mileage = m.blank(ro["mileage"].astype(str).to_numpy().astype(object), self.slip(n, 0.03))
        columns = {
            "dealer_code": code,
            "ro_number": ro["ro_number"].to_numpy(),
            "open_date": iso_dates(ro["date"].to_numpy()),
            "customer_name": name,
            "phone": self.phone(
                c, d, st, landline_share=0.4, dealer_rate=0.01, junk_rate=0.005, missing_rate=0.12
            ),
            "email": self.email(
                c["email"].to_numpy(), d, placeholder_rate=0.025, missing_rate=0.35
            ),
            "vin": self.vins(ro["vin"].to_numpy()),
            "mileage": mileage,
            "pay_type": ro["pay_type"].to_numpy(),
            "labor_amount": _money(labor),
            "parts_amount": _money(parts),
            "total_amount": _money(labor + parts),
            "description": text,
            "recall_campaign": self.campaigns(ro["recall"].to_numpy()),
        }
        extras = {
            "advisor": self.staff_names(d + 100),
            "technician": ("T" + pd.Series(rng.integers(100, 130, n)).astype(str)).to_numpy(),
        }
        return self.frame("service_orders", columns, ro["eid"].to_numpy(), files, extras), styles

    def oem_registrations(self, reg: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        reg = reg.reset_index(drop=True)
        n = len(reg)
        rng = self.rng
        makes = self.cat.makes.set_index("make")
        files = (makes["oem_feed"].reindex(reg["make"]).to_numpy() + "_registrations.csv").astype(
            object
        )
        styles = self.styles(files)
        st = self.per_row(files, styles)
        c = self.people.contact_at(reg["eid"].to_numpy(), reg["date"].to_numpy())
        is_bus = c["is_business"].to_numpy()
        first, last = self.names(
            c["first"].to_numpy(), c["last"].to_numpy(), c["junior"].to_numpy(), st
        )
        first = np.where(is_bus, "", first).astype(object)
        last = np.where(is_bus, self.company(c["company"].to_numpy(), st), last).astype(object)
        seller = reg["dealer"].to_numpy()
        any_dealer = np.where(seller >= 0, seller, rng.integers(0, len(self.dealers), n))
        street, city, region, postal = self.address(c, st, missing=(0.03, 0.03, 0.03))
        columns = {
            "brand": reg["make"].to_numpy(),
            "registration_id": reg["registration_id"].to_numpy(),
            "vin": self.vins(reg["vin"].to_numpy()),
            "registration_date": iso_dates(reg["date"].to_numpy()),
            "event": reg["event"].to_numpy(),
            "owner_first_name": first,
            "owner_last_name": last,
            "street": street,
            "city": city,
            "region": region,
            "postal_code": postal,
            "phone": self.phone(
                c,
                any_dealer,
                st,
                landline_share=0.2,
                dealer_rate=0.008,
                junk_rate=0.003,
                missing_rate=0.15,
            ),
            "email": self.email(
                c["email"].to_numpy(), any_dealer, placeholder_rate=0.015, missing_rate=0.12
            ),
            "consent_marketing": reg["consent"].to_numpy(),
        }
        ours = self.dealers["dealer_code"].to_numpy()[np.maximum(seller, 0)]
        elsewhere = "D" + pd.Series(rng.integers(10000, 99999, n)).astype(str).to_numpy()
        extras = {
            "selling_dealer": np.where(
                seller >= 0, ours, np.where(reg["event"].to_numpy() == "new_owner", elsewhere, "")
            ).astype(object),
            "model": reg["model"].to_numpy(),
        }
        return self.frame(
            "oem_registrations", columns, reg["eid"].to_numpy(), files, extras
        ), styles

    def crm_leads(self, leads: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        leads = leads.reset_index(drop=True)
        n = len(leads)
        rng = self.rng
        d = leads["dealer"].to_numpy()
        code = self.dealers["dealer_code"].to_numpy()[d]
        files = (pd.Series(code) + "_crm_leads.csv").to_numpy()
        styles = self.styles(files)
        st = self.per_row(files, styles)
        c = self.people.contact_at(leads["eid"].to_numpy(), leads["created"].to_numpy())
        first, last = self.names(
            c["first"].to_numpy(), c["last"].to_numpy(), c["junior"].to_numpy(), st
        )
        web = leads["source"].to_numpy() == "web"
        first = m.lower(first, web & self.slip(n, 0.1))
        last = m.lower(last, web & self.slip(n, 0.1))
        last = m.blank(last, self.slip(n, 0.05))
        phone = self.phone(
            c, d, st, landline_share=0.15, dealer_rate=0.005, junk_rate=0.01, missing_rate=0.45
        )
        email = self.email(c["email"].to_numpy(), d, placeholder_rate=0.01, missing_rate=0.25)
        # A lead nobody can call back is not saved: keep at least one way to reach them.
        lost_both = (phone == "") & (email == "")
        email = np.where(lost_both, c["email"].to_numpy(), email).astype(object)
        reachable = np.where(c["mobile"].to_numpy() != "", c["mobile"], c["landline"])
        phone = np.where(lost_both & (email == ""), _digits_dash(reachable), phone).astype(object)
        model = leads["interest_model"].to_numpy()
        model = m.lower(m.upper(model, self.slip(n, 0.05)), self.slip(n, 0.05))
        columns = {
            "dealer_code": code,
            "lead_id": leads["lead_id"].to_numpy(),
            "created_at": _timestamps(
                rng,
                leads["created"].to_numpy(),
                leads["source"].to_numpy(),
                st["ts_fmt"].to_numpy(),
            ),
            "source": leads["source"].to_numpy(),
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": phone,
            "interest_make": m.blank(leads["interest_make"].to_numpy(), self.slip(n, 0.03)),
            "interest_model": model,
            "status": leads["status"].to_numpy(),
            **self.lead_vendors(leads, st),
        }
        extras = {
            "campaign": choice(rng, CAMPAIGNS, n),
            "assigned_to": self.staff_names(d),
        }
        return self.frame("crm_leads", columns, leads["eid"].to_numpy(), files, extras), styles

    def dealer_list(self) -> pd.DataFrame:
        d = self.dealers
        return pd.DataFrame(
            {
                "dealer_code": d["dealer_code"].to_numpy(),
                "dealer_name": d["dealer_name"].to_numpy(),
                "brands": d["brands"].to_numpy(),
                "city": d["city"].to_numpy(),
                "region": d["region"].to_numpy(),
                "phone": m.format_phones(
                    self.rng, d["phone"].to_numpy(), np.ones(len(d), int), 0.0
                ),
                "legal_entity": self.legal_entities(),
                "website": d["website"].to_numpy(),
            }
        )

    def oem_recalls(self, recalls: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The manufacturers' campaign files: one per brand, one row per VIN covered."""
        recalls = recalls.reset_index(drop=True)
        n = len(recalls)
        makes = self.cat.makes.set_index("make")
        files = (makes["oem_feed"].reindex(recalls["make"]).to_numpy() + "_recalls.csv").astype(
            object
        )
        styles = self.styles(files)
        st = self.per_row(files, styles)
        remedy = recalls["remedy"].to_numpy().astype(object)
        spelled = chance(self.round2, n, 0.15 * self.mess)
        remedy = np.where(spelled & (remedy == "Y"), "yes", remedy)
        remedy = np.where(spelled & (remedy == "N"), "no", remedy).astype(object)
        out = pd.DataFrame(
            {
                "brand": recalls["make"].to_numpy(),
                "campaign_id": recalls["campaign_id"].to_numpy(),
                "vin": recalls["vin"].to_numpy(),
                "issued_date": iso_dates(recalls["issued"].to_numpy()),
                "description": m.upper(recalls["description"].to_numpy(), st["upper"].to_numpy()),
                "remedy_available": remedy,
                "model": recalls["model"].to_numpy(),
                "model_year": shared_text(recalls["model_year"].to_numpy()),
            }
        )
        out["_srid"] = _join(out, SOURCES["oem_recalls"].key)
        out["_file"] = pd.Categorical(files)
        return out, styles

    # -- columns added in the contract's second round (drawn from `round2`) ----------------

    def financing(self, sales: pd.DataFrame) -> dict[str, np.ndarray]:
        """amount_financed, apr and monthly_payment of finance and lease deals; cash has none.

        What was borrowed at what rate is part of the world (`vehicles._financing`: it decides
        when the buyer trades); a loan's payment is the amortization of it at the APR, a
        lease's the depreciation to the residual value plus the rent charge (APR / 2400 as
        money factor)."""
        r = self.round2
        n = len(sales)
        price = sales["price"].to_numpy(float)
        term = sales["term"].to_numpy().astype(np.int64)
        lease = sales["payment"].to_numpy() == "lease"
        financed = np.isin(sales["payment"].to_numpy(), ["finance", "lease"]) & (term > 0)
        amount = sales["amount"].to_numpy(float)
        apr = sales["apr"].to_numpy(float)
        months = np.maximum(term, 1)
        rate = apr / 1200
        growth = (1 + rate) ** months
        with np.errstate(divide="ignore", invalid="ignore"):
            loan = np.where(rate > 0, amount * rate * growth / (growth - 1), amount / months)
        share = np.interp(term, [t for t, _ in RESIDUALS], [v for _, v in RESIDUALS])
        residual = price * share
        rent = (amount - residual) / months + (amount + residual) * apr / 2400
        monthly = np.where(lease, rent, loan)
        # Some DMS exports leave the rate or the payment out.
        no_rate = financed & chance(r, n, 0.04 * self.mess)
        no_payment = financed & chance(r, n, 0.03 * self.mess)
        return {
            "amount_financed": np.where(financed, _money(amount), "").astype(object),
            "apr": np.where(financed & ~no_rate, _percent(apr), "").astype(object),
            "monthly_payment": np.where(financed & ~no_payment, _money(monthly), "").astype(object),
        }

    def campaigns(self, campaign: np.ndarray) -> np.ndarray:
        """The recall campaign a repair order performed, as the service writer typed it."""
        campaign = np.asarray(campaign, dtype=object)
        done = campaign != ""
        return m.lower(campaign, done & chance(self.round2, len(campaign), 0.05 * self.mess))

    def lead_vendors(self, leads: pd.DataFrame, st: pd.DataFrame) -> dict[str, np.ndarray]:
        """provider and cost_amount: third-party leads come from a vendor at a price; some web
        leads come through the manufacturer's site, a few of them for a fee."""
        r = self.round2
        n = len(leads)
        source = leads["source"].to_numpy()
        vendor = r.choice(len(LEAD_VENDORS), size=n, p=[w for _, w, _ in LEAD_VENDORS])
        low = np.array([lo for _, _, (lo, _) in LEAD_VENDORS], dtype=float)[vendor]
        high = np.array([hi for _, _, (_, hi) in LEAD_VENDORS], dtype=float)[vendor]
        third = source == "third_party"
        make = leads["interest_make"].to_numpy().astype(object)
        oem_site = (source == "web") & (make != "") & chance(r, n, 0.3)
        names = np.array([name for name, _, _ in LEAD_VENDORS], dtype=object)[vendor]
        site = make + ".ca"
        provider = np.where(third, names, np.where(oem_site, site, "")).astype(object)
        cents = np.round(r.uniform(low, high) * 100)
        fee = np.round(r.uniform(10, 25, n) * 100)
        paid_site = oem_site & chance(r, n, 0.4)
        cost = np.where(third, cents, fee)
        recorded = (third | paid_site) & ~chance(r, n, 0.1 * self.mess)
        return {
            "provider": m.upper(provider, st["upper"].to_numpy()),
            "cost_amount": np.where(recorded, _money(cost), "").astype(object),
        }

    def legal_entities(self) -> np.ndarray:
        """The company owning each rooftop: the rooftops of one brand family in one metro
        often belong to one company; a lone rooftop sometimes has its own numbered company;
        the others leave it empty."""
        r = self.round2
        d = self.dealers
        n = len(d)
        out = np.full(n, "", dtype=object)
        owners = self.ref.surnames["name"].to_numpy()
        family = pd.Series(d["group"].astype(str) + "|" + d["metro"].astype(str)).to_numpy()
        for key in sorted(set(family)):
            rooftops = np.flatnonzero(family == key)
            quebec = d["region"].to_numpy()[rooftops[0]] == "QC"
            if len(rooftops) >= 2 and r.random() < 0.7:
                owner = owners[int(r.integers(0, len(owners)))]
                name = f"Groupe {owner} Automobiles inc." if quebec else f"{owner} Auto Group Ltd."
                out[rooftops] = name
            else:
                numbered = rooftops[r.random(len(rooftops)) < 0.25]
                for i in numbered.tolist():
                    if quebec:
                        number = f"{int(r.integers(9000, 9500))}-{int(r.integers(0, 9999)):04d}"
                        out[i] = f"{number} Québec inc."
                    else:
                        province = PROVINCES.get(d["region"].to_numpy()[i], "Canada")
                        out[i] = f"{int(r.integers(1000000, 2999999))} {province} Inc."
        return out


def _join(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    parts = [frame[c].to_numpy() for c in columns]
    return np.array([":".join(t) for t in zip(*parts, strict=True)], dtype=object)


def _money(cents: np.ndarray) -> np.ndarray:
    c = np.round(np.asarray(cents, dtype=float)).astype(np.int64).tolist()
    return np.array([f"{v // 100}.{v % 100:02d}" for v in c], dtype=object)


def _percent(rates: np.ndarray) -> np.ndarray:
    return np.array([f"{v:.2f}" for v in np.asarray(rates, dtype=float).tolist()], dtype=object)


def _digits_dash(digits: np.ndarray) -> np.ndarray:
    return np.array(
        [f"{d[:3]}-{d[3:6]}-{d[6:]}" if len(d) == 10 else "" for d in digits], dtype=object
    )


def _timestamps(
    rng: np.random.Generator, day: np.ndarray, source: np.ndarray, style: np.ndarray
) -> np.ndarray:
    """ISO 8601 in the CRM's habit: local naive, local with offset, UTC `Z`, or milliseconds."""
    n = len(day)
    hour = np.where(source == "web", rng.integers(0, 24, n), rng.integers(8, 21, n))
    seconds = hour * 3600 + rng.integers(0, 3600, n)
    local = np.asarray(day, dtype=np.int64) * 86400 + seconds
    offset = np.where(_eastern_dst(local), -4, -5)
    utc = local - offset * 3600
    naive = _iso_seconds(local)
    with_offset = naive + np.where(offset == -4, "-04:00", "-05:00")
    zulu = _iso_seconds(utc) + "Z"
    millis = naive + "." + pd.Series(rng.integers(0, 1000, n)).astype(str).str.zfill(3).to_numpy()
    return np.select(
        [style == 1, style == 2, style == 3], [with_offset, zulu, millis], naive
    ).astype(object)


def _iso_seconds(seconds: np.ndarray) -> np.ndarray:
    as_datetime = np.asarray(seconds, dtype=np.int64).astype("datetime64[s]")
    return np.datetime_as_string(as_datetime, unit="s").astype(object)


def _eastern_dst(local_seconds: np.ndarray) -> np.ndarray:
    """North-American DST since 2007: second Sunday of March to first Sunday of November."""
    d = (local_seconds // 86400).astype("datetime64[D]")
    year = d.astype("datetime64[Y]")
    march = (year + np.timedelta64(2, "M")).astype("datetime64[D]")
    november = (year + np.timedelta64(10, "M")).astype("datetime64[D]")
    start = march + ((6 - (march.astype(np.int64) + 3) % 7) % 7) + 7  # 2nd Sunday
    stop = november + ((6 - (november.astype(np.int64) + 3) % 7) % 7)  # 1st Sunday
    return (d >= start) & (d < stop)
