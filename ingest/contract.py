"""The landing contract (docs: shared/contracts/landing.md) as data.

This module is the one place that says which sources exist, where their files live,
which columns they carry, which of them are required, how each is checked and what makes
a row's natural key. The header check, the row checks and their messages
(`ingest.checks`), the VIN flags and the raw tables' shape (tested against
`dealer360/migrations/0002_raw.sql`) are all derived from it, so a change to the
contract is a change here (plus a migration when a column is added).

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


def _text(name: str, required: bool = False) -> Column:
    return Column(name, Kind.TEXT, required)


def _enum(name: str, *allowed: str, aliases: dict[str, str] | None = None) -> Column:
    return Column(name, Kind.ENUM, allowed=allowed, aliases=aliases or {})


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
                _text("phone"),
            ),
            key=("dealer_code",),
        ),
        Source(
            "dealer_sales",
            columns=(
                _text("dealer_code", required=True),
                _text("deal_id", required=True),
                Column("deal_date", Kind.DATE, required=True),
                _text("first_name"),
                _text("last_name"),
                _text("company_name"),
                _text("email"),
                _text("phone"),
                _text("street"),
                _text("city"),
                _text("region"),
                _text("postal_code"),
                Column("birth_date", Kind.DATE),
                Column("vin", Kind.VIN, required=True),
                _text("make"),
                _text("model"),
                Column("model_year", Kind.INT),
                _enum("condition", "new", "used", "cpo"),
                Column("sale_price", Kind.DECIMAL),
                _enum("payment_type", "cash", "finance", "lease"),
                Column("term_months", Kind.INT),
                Column("trade_in_vin", Kind.VIN),
            ),
            key=("dealer_code", "deal_id"),
        ),
        Source(
            "service_orders",
            columns=(
                _text("dealer_code", required=True),
                _text("ro_number", required=True),
                Column("open_date", Kind.DATE, required=True),
                _text("customer_name"),  # free text, often LAST, FIRST
                _text("phone"),
                _text("email"),
                Column("vin", Kind.VIN, required=True),
                Column("mileage", Kind.INT),
                _enum("pay_type", "customer", "warranty", "internal"),
                Column("labor_amount", Kind.DECIMAL),
                Column("parts_amount", Kind.DECIMAL),
                Column("total_amount", Kind.DECIMAL),
                _text("description"),
            ),
            key=("dealer_code", "ro_number"),
        ),
        Source(
            "oem_registrations",
            columns=(
                _text("brand", required=True),
                _text("registration_id", required=True),
                Column("vin", Kind.VIN, required=True),
                Column("registration_date", Kind.DATE, required=True),
                _enum("event", "new_owner", "transfer"),
                _text("owner_first_name"),
                _text("owner_last_name"),
                _text("street"),
                _text("city"),
                _text("region"),
                _text("postal_code"),
                _text("phone"),
                _text("email"),
                _enum("consent_marketing", "Y", "N", aliases={"yes": "Y", "no": "N"}),
            ),
            key=("registration_id",),
        ),
        Source(
            "crm_leads",
            columns=(
                _text("dealer_code", required=True),
                _text("lead_id", required=True),
                Column("created_at", Kind.TIMESTAMP, required=True),
                _enum("source", "web", "phone", "walk_in", "third_party"),
                _text("first_name"),
                _text("last_name"),
                _text("email"),
                _text("phone"),
                _text("interest_make"),
                _text("interest_model"),
                _enum("status", "open", "won", "lost"),
            ),
            key=("dealer_code", "lead_id"),
        ),
    )
}


def source_for_folder(folder: str) -> Source | None:
    """The source whose inbox sub-folder this is (folder names compared case-insensitively)."""
    return next((s for s in SOURCES.values() if s.folder == folder.lower()), None)
