"""How the dashboard writes things for people: money in CAD, dates, names and labels.

Pure functions, no database, so they are tested on their own. Text is written by the
functions (`money`, `day`); tables and charts get the same formats through the column
builders (`money_column`, `date_column`, …) and the Plotly formats below, so a page never
spells a format of its own.
"""

from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd
import streamlit as st

# The same money and date formats for st.dataframe columns and Plotly charts as `money` and
# `day` write in text: whole Canadian dollars, "Mar 5, 2024".
_MONEY_COLUMN_FORMAT = "$%,.0f"
_DATE_COLUMN_FORMAT = "MMM D, YYYY"
_MOMENT_COLUMN_FORMAT = "MMM D, YYYY HH:mm"
PLOTLY_MONEY = ",.0f"  # tickformat, with tickprefix "$"
PLOTLY_MONEY_HOVER = "$%{y:,.0f}"

SOURCE_LABELS = {
    "dealers": "Dealer list",
    "dealer_sales": "Dealer sale",
    "service_orders": "Repair order",
    "oem_registrations": "OEM registration",
    "crm_leads": "CRM lead",
}

EVENT_LABELS = {
    "sale": "Sale",
    "service": "Service",
    "registration": "Registration",
    "transfer": "Transfer",
    "lead": "Lead",
}

CONSENT_LABELS = {
    "express": "Express consent",
    "implied": "Implied consent",
    "none": "No consent",
    "withdrawn": "Consent withdrawn",
}

DRIVER_LABELS = {
    "lease_maturity": "Lease ending",
    "open_lead": "Open lead",
    "finance_term_ending": "Finance term ending",
    "trade_cycle": "Trade cycle reached",
    "large_repair": "Large repair bills",
    "high_mileage": "High mileage",
    "positive_equity": "Positive equity",
    "few_payments_left": "Few payments left",
}

WORKLIST_REASON_LABELS = {
    "open_recall": "Open recall",
    "maintenance_due": "Maintenance due",
    "warranty_ending": "Warranty ending",
    "lapsed_service": "Lapsed service",
    "new_owner_never_seen": "New owner never seen",
}

LEAD_SOURCE_LABELS = {
    "web": "Own web site",
    "phone": "Phone",
    "walk_in": "Walk-in",
    "third_party": "Third-party site",
}

LEAD_OUTCOME_LABELS = {
    "sold_here": "Sold here",
    "sold_in_group": "Sold at a sister rooftop",
    "sold_elsewhere": "Bought elsewhere",
    "open": "Open",
    "lost": "Lost",
}

ACQUIRED_LABELS = {"new": "Bought new", "used": "Bought used", "transfer": "Transferred"}
ENDED_LABELS = {"trade_in": "traded in", "resale": "resold", "transfer": "transferred"}

COMPARISON_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "names_swapped": "Names swapped",
    "suffix": "Suffix (Jr, Sr)",
    "company": "Company",
    "birth_date": "Birth date",
    "email": "E-mail",
    "phone": "Phone",
    "street": "Street",
    "postal_code": "Postal code",
    "vehicle": "Vehicle (VIN)",
}


def is_missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def money(amount: object) -> str:
    """$12,345 (whole Canadian dollars); an unknown amount is a dash."""
    if is_missing(amount):
        return "—"
    value = float(amount)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.0f}"


def day(value: object) -> str:
    """A date people read without thinking: Mar 5, 2024."""
    if is_missing(value):
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        value = value.date()
    return f"{value:%b} {value.day}, {value.year}"


def moment(value: object) -> str:
    """A timestamp to the minute: Mar 5, 2024 14:07."""
    if is_missing(value):
        return "—"
    stamp = pd.Timestamp(value)
    return f"{day(stamp)} {stamp:%H:%M}"


# Characters Streamlit's Markdown gives a meaning to: emphasis, links, headings, lists, tables,
# `:color[…]` directives and `$…$` formulas.
_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~:$")


def literal(text: object) -> str:
    """A value from the data, escaped to show as typed inside Markdown (a name like
    `*Bob* [x](y)` is not bold and not a link)."""
    return "".join(f"\\{ch}" if ch in _MARKDOWN_SPECIAL else ch for ch in str(text))


def period(start: object, end: object) -> str:
    """An ownership or relationship period: Mar 5, 2019 – today."""
    return f"{day(start)} – {'today' if is_missing(end) else day(end)}"


def person_name(first: object, last: object, company: object = None) -> str:
    """The name a person would say: "Marie Côté", "Marie Côté (Côté Toitures)", or the company."""
    name = " ".join(str(p).strip() for p in (first, last) if not is_missing(p))
    if is_missing(company):
        return name or "Unnamed customer"
    return f"{name} ({company})" if name else str(company)


def phone(e164: object) -> str:
    """+15145550199 → (514) 555-0199; anything else as stored."""
    if is_missing(e164):
        return "—"
    text = str(e164)
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("+1") and len(digits) == 11:
        return f"({digits[1:4]}) {digits[4:7]}-{digits[7:]}"
    return text


def dealer(code: object, names: dict[str, str]) -> str:
    """A rooftop by its name, with its code for people who know the codes."""
    if is_missing(code):
        return "—"
    name = names.get(str(code))
    return f"{name} ({code})" if name else str(code)


def count(number: object, noun: str) -> str:
    """1 record, 2 records, 1,234 records."""
    n = 0 if is_missing(number) else int(number)
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def label(mapping: dict[str, str], value: object) -> str:
    if is_missing(value):
        return "—"
    return mapping.get(str(value), str(value).replace("_", " ").capitalize())


def vehicle(model_year: object, make: object, model: object) -> str:
    parts = [
        str(int(p)) if isinstance(p, float) and not math.isnan(p) else str(p)
        for p in (model_year, make, model)
        if not is_missing(p)
    ]
    return " ".join(parts) or "Unknown vehicle"


def record(source: object, source_record_id: object) -> str:
    """A landed record as people say it: "Repair order LEX-LAV:0024822"."""
    return f"{label(SOURCE_LABELS, source)} {source_record_id}"


def evidence_level(level: object, weight: object) -> str:
    """One comparison of a pair: "exact (+1.7 bits)"."""
    if is_missing(level):
        return "—"
    if is_missing(weight) or float(weight) == 0:
        return str(level)
    return f"{level} ({float(weight):+.1f})"


# ---------------------------------------------------------------- st.dataframe columns


def money_column(title: str, **options) -> st.column_config.NumberColumn:
    """An amount in whole Canadian dollars: $12,345."""
    return st.column_config.NumberColumn(title, format=_MONEY_COLUMN_FORMAT, **options)


def date_column(title: str, **options) -> st.column_config.DateColumn:
    """A date as `day` writes it: Mar 5, 2024."""
    return st.column_config.DateColumn(title, format=_DATE_COLUMN_FORMAT, **options)


def moment_column(title: str, **options) -> st.column_config.DatetimeColumn:
    """A timestamp as `moment` writes it: Mar 5, 2024 14:07."""
    return st.column_config.DatetimeColumn(title, format=_MOMENT_COLUMN_FORMAT, **options)


def count_column(title: str, **options) -> st.column_config.NumberColumn:
    """A whole number of things (deals, repair orders)."""
    return st.column_config.NumberColumn(title, format="%d", **options)


def share_column(title: str, **options) -> st.column_config.ProgressColumn:
    """A probability or share from 0 to 1, as a bar with its percentage."""
    return st.column_config.ProgressColumn(
        title, format="percent", min_value=0.0, max_value=1.0, **options
    )


def text_column(title: str, **options) -> st.column_config.TextColumn:
    """Free text (a description, the work done), wide by default."""
    return st.column_config.TextColumn(title, **{"width": "large", **options})
