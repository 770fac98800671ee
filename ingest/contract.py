"""The landing contract (docs: shared/contracts/landing.md) as data.

This module is the one place that says which sources exist, where their files live,
which columns they carry, which of them are required, what each column is (a person's
identifier, a field person matching reads, a VIN, a date, money), how each is checked and
what makes a row's natural key. The header check, the row checks and their messages
(`ingest.checks`), the VIN flags, the raw tables' shape (tested against the migrations),
the generator's files, entity resolution's person fields, erasure's identifying columns
and dbt's sources (tested against `_sources.yml`) are all derived from it, so a change to
the contract is a change here (plus a migration when a column is added).

Columns added to a source after its first version are optional: files without them load
as before.

Enumerations are matched case-insensitively, with blanks and hyphens read as
underscores (`Walk-in` → `walk_in`), and stored in the contract's own spelling
(`NEW` → `new`, `y` → `Y`), so every consumer downstream sees one spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property


class Kind(StrEnum):
    """What a column holds; `ingest.checks` knows how to check each kind."""

    TEXT = "text"
    DATE = "date"  # ISO YYYY-MM-DD, nothing else
    TIMESTAMP = "timestamp"  # ISO 8601 date and time, optionally with an offset
    DECIMAL = "decimal"  # digits with an optional dot, e.g. 24999.95
    INT = "int"
    ENUM = "enum"  # one of `Column.allowed`
    VIN = "vin"  # any text is kept; validity is a flag, not a reason to quarantine


# Characters trimmed from both ends of every value and header name (a non-breaking space
# comes with many spreadsheet exports).
BLANKS = " \t\r\n\v\f\u00a0"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT
    required: bool = False
    allowed: tuple[str, ...] = ()
    # Other spellings people type for an allowed value, mapped to it.
    aliases: dict[str, str] = field(default_factory=dict)
    # Identifies a person: cleared when that person is forgotten (dealer360.forget).
    identifying: bool = False
    # The field of person matching this column feeds (entity_resolution's vocabulary:
    # first_name, full_name, company, trade_vin, ...); None when matching ignores it.
    person: str | None = None
    # An amount of money (checked as a decimal; staged as numeric).
    money: bool = False

    @property
    def vin_flag(self) -> str:
        """The raw table's validity flag for a VIN column: vin → is_vin_valid."""
        return f"is_{self.name}_valid"

    def spellings(self) -> dict[str, str]:
        """Each accepted spelling, as matched (lower case, `_` for blanks and hyphens),
        mapped to the value stored."""
        accepted = {enum_match_key(value): value for value in self.allowed}
        accepted.update({enum_match_key(k): v for k, v in self.aliases.items()})
        return accepted


def enum_match_key(value: str) -> str:
    """How an enumeration value is compared: `Walk-in`, `walk in` and `WALK_IN` agree."""
    return value.lower().replace(" ", "_").replace("-", "_")


@dataclass(frozen=True)
class Source:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # source_record_id: these columns joined by ':' (dealer_code:deal_id)
    # The column dating a row: when the deal, visit, registration or lead happened.
    record_date: str | None = None
    # Its rows are about people: entity resolution matches them, erasure forgets them.
    is_person_source: bool = False

    @property
    def folder(self) -> str:
        return self.name

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    @cached_property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @cached_property
    def vin_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.kind is Kind.VIN)

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @cached_property
    def identifying_columns(self) -> tuple[str, ...]:
        """The columns that identify a person (none in a source that is not about people)."""
        return tuple(c.name for c in self.columns if c.identifying)

    @cached_property
    def person_columns(self) -> tuple[Column, ...]:
        """The columns person matching reads."""
        return tuple(c for c in self.columns if c.person is not None)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _text(name: str, required: bool = False) -> Column:
    return Column(name, Kind.TEXT, required)


def _enum(name: str, *allowed: str, aliases: dict[str, str] | None = None) -> Column:
    return Column(name, Kind.ENUM, allowed=allowed, aliases=aliases or {})


def _money(name: str) -> Column:
    return Column(name, Kind.DECIMAL, money=True)


def _who(name: str, person: str | None = None, kind: Kind = Kind.TEXT) -> Column:
    """A column identifying a person, feeding person matching's `person` field (by
    default the field of its own name)."""
    return Column(name, kind, identifying=True, person=person or name)


def _match(name: str, person: str | None = None, kind: Kind = Kind.TEXT, **kw) -> Column:
    """A column person matching reads that does not identify anyone on its own (a city,
    a VIN)."""
    return Column(name, kind, person=person or name, **kw)


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "dealers",
            columns=(
                _text("dealer_code", required=True),
                _text("dealer_name", required=True),
                _text("brands", required=True),  # one or more makes, '|'-separated
                _text("city"),
                _text("region"),
                _text("phone"),  # the rooftop's own: on a customer's row it is not theirs
                _text("legal_entity"),  # one sender of messages (CASL); empty: its own
            ),
            key=("dealer_code",),
        ),
        Source(
            "dealer_sales",
            columns=(
                _text("dealer_code", required=True),
                _text("deal_id", required=True),
                Column("deal_date", Kind.DATE, required=True),
                _who("first_name"),
                _who("last_name"),
                _who("company_name", "company"),
                _who("email"),
                _who("phone"),
                _who("street"),
                _match("city"),
                _text("region"),
                _who("postal_code"),
                _who("birth_date", kind=Kind.DATE),
                _match("vin", kind=Kind.VIN, required=True),
                _text("make"),
                _text("model"),
                Column("model_year", Kind.INT),
                _enum("condition", "new", "used", "cpo"),
                _money("sale_price"),
                _enum("payment_type", "cash", "finance", "lease"),
                Column("term_months", Kind.INT),
                _match("trade_in_vin", "trade_vin", Kind.VIN),
                _money("amount_financed"),
                Column("apr", Kind.DECIMAL),  # annual rate in percent: 5.99
                _money("monthly_payment"),
            ),
            key=("dealer_code", "deal_id"),
            record_date="deal_date",
            is_person_source=True,
        ),
        Source(
            "service_orders",
            columns=(
                _text("dealer_code", required=True),
                _text("ro_number", required=True),
                Column("open_date", Kind.DATE, required=True),
                _who("customer_name", "full_name"),  # free text, often LAST, FIRST
                _who("phone"),
                _who("email"),
                _match("vin", kind=Kind.VIN, required=True),
                Column("mileage", Kind.INT),
                _enum("pay_type", "customer", "warranty", "internal"),
                _money("labor_amount"),
                _money("parts_amount"),
                _money("total_amount"),
                _text("description"),
                _text("recall_campaign"),  # the oem_recalls campaign_id performed, if any
            ),
            key=("dealer_code", "ro_number"),
            record_date="open_date",
            is_person_source=True,
        ),
        Source(
            "oem_registrations",
            columns=(
                _text("brand", required=True),
                _text("registration_id", required=True),
                _match("vin", kind=Kind.VIN, required=True),
                Column("registration_date", Kind.DATE, required=True),
                _enum("event", "new_owner", "transfer"),
                _who("owner_first_name", "first_name"),
                _who("owner_last_name", "last_name"),
                _who("street"),
                _match("city"),
                _text("region"),
                _who("postal_code"),
                _who("phone"),
                _who("email"),
                _enum("consent_marketing", "Y", "N", aliases={"yes": "Y", "no": "N"}),
            ),
            key=("registration_id",),
            record_date="registration_date",
            is_person_source=True,
        ),
        Source(
            "crm_leads",
            columns=(
                _text("dealer_code", required=True),
                _text("lead_id", required=True),
                Column("created_at", Kind.TIMESTAMP, required=True),
                _enum("source", "web", "phone", "walk_in", "third_party"),
                _who("first_name"),
                _who("last_name"),
                _who("email"),
                _who("phone"),
                _text("interest_make"),
                _text("interest_model"),
                _enum("status", "open", "won", "lost"),
                _text("provider"),  # the site or vendor that sold or sent the lead
                _money("cost_amount"),  # what the dealer paid for it
            ),
            key=("dealer_code", "lead_id"),
            record_date="created_at",
            is_person_source=True,
        ),
        Source(
            "oem_recalls",
            columns=(
                _text("brand", required=True),
                _text("campaign_id", required=True),
                Column("vin", Kind.VIN, required=True),
                Column("issued_date", Kind.DATE, required=True),
                _text("description"),
                _enum("remedy_available", "Y", "N", aliases={"yes": "Y", "no": "N"}),
            ),
            key=("brand", "campaign_id", "vin"),
            record_date="issued_date",
        ),
    )
}

# The sources whose rows are about people, in the order entity resolution reads them.
PERSON_SOURCES: tuple[str, ...] = tuple(s.name for s in SOURCES.values() if s.is_person_source)


def source_for_folder(folder: str) -> Source | None:
    """The source whose inbox sub-folder this is (folder names compared case-insensitively)."""
    return next((s for s in SOURCES.values() if s.folder == folder.lower()), None)
