"""Personal data leaving dealer360: the campaign audience, the leads and the links file, each
written to raw.audit_log with who, when, the filters, the row count and the sha256 of the
exact bytes. The Leads page's worklist downloads and `dealer360 export leads` share
`leads_query`.

One query, one place: the dashboard's Opportunities download and `dealer360 export
audience` both build their list with `audience_query`, which reads `marts.campaign_audience`
only. Consent is decided there, in dbt (int_customer_consent: the latest explicit statement
across all of a customer's merged records wins, implied consent expires), never here.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealer360.errors import UserError

AUDIENCE_COLUMNS = (
    "customer_id",
    "first_name",
    "last_name",
    "company_name",
    "email",
    "phone",
    "city",
    "region",
    "consent_basis",
    "consent_expires_on",
)

# An in-market customer "of a make" (`marts.in_market` as `m`): the mart lists the makes of
# their events (`brands`), so the in-market list and its campaign list count the same people.
IN_MARKET_FOR_BRAND = "m.brands @> array[cast(:brand as text)]"


def audience_query(
    dealer_code: str | None = None,
    brand: str | None = None,
    *,
    min_score: int | None = None,
    driver_codes: tuple[str, ...] = (),
) -> tuple[str, dict]:
    """The campaign list as (sql, params): only customers who may be contacted today.

    Consent is decided by the mart (`marts.campaign_audience`: express or implied consent,
    never withdrawn or expired, and a way to reach them), so the CLI and the dashboard can
    only ever export what it allows. `dealer_code` and `brand` target the rooftops and makes
    the customer dealt with (the mart's `dealer_codes` and `brands`). With `min_score` or
    `driver_codes` (the dashboard's Opportunities filters) the list is instead the customers
    in market at `dealer_code`, exactly those the in-market list marks as contactable.
    """
    clauses = ["true"]
    params = {
        name: value for name, value in (("dealer_code", dealer_code), ("brand", brand)) if value
    }
    in_market_mode = min_score is not None or bool(driver_codes)
    if in_market_mode:
        if not dealer_code:
            raise ValueError("In-market filters need a dealer: a customer is in market at one.")
        in_market_clauses = ["m.customer_id = a.customer_id", "m.dealer_code = :dealer_code"]
        if min_score is not None:
            in_market_clauses.append("m.score >= :min_score")
            params["min_score"] = min_score
        if driver_codes:
            in_market_clauses.append("m.driver_codes ?| cast(:driver_codes as text[])")
            params["driver_codes"] = list(driver_codes)
        if brand:
            in_market_clauses.append(IN_MARKET_FOR_BRAND)
        clauses.append(
            f"exists (select 1 from marts.in_market as m where {' and '.join(in_market_clauses)})"
        )
    else:
        if dealer_code:
            clauses.append("a.dealer_codes @> array[cast(:dealer_code as text)]")
        if brand:
            clauses.append("a.brands @> array[cast(:brand as text)]")
    sql = f"""
        select {", ".join(f"a.{column}" for column in AUDIENCE_COLUMNS)}
        from marts.campaign_audience as a
        where {" and ".join(clauses)}
        order by a.last_name, a.first_name, a.customer_id
    """
    return sql, params


def audience_csv(rows: pd.DataFrame) -> bytes:
    """The bytes of an audience file: UTF-8 CSV with a header, one customer per line."""
    return rows.to_csv(index=False, columns=list(AUDIENCE_COLUMNS)).encode("utf-8")


def record_audit(
    conn: Connection,
    action: str,
    filters: dict,
    row_count: int | None,
    sha256: str | None,
    actor: str | None = None,
) -> None:
    """Write one audit row on `conn` (committed with the caller); without an actor, the
    database role is the actor. The role itself is always recorded (`db_role`)."""
    conn.execute(
        sa.text(
            """
            insert into raw.audit_log (actor, action, filters, row_count, sha256)
            values (coalesce(:actor, current_user), :action, cast(:filters as jsonb),
                    :row_count, :sha256)
            """
        ),
        {
            "actor": actor,
            "action": action,
            "filters": json.dumps(filters, sort_keys=True),
            "row_count": row_count,
            "sha256": sha256,
        },
    )


@dataclass(frozen=True)
class AudienceExport:
    data: bytes
    row_count: int
    sha256: str


def export_audience(
    conn: Connection,
    dealer_code: str | None = None,
    brand: str | None = None,
    *,
    actor: str | None = None,
) -> AudienceExport:
    """Build the audience file and write its audit row on `conn` (commit with the caller)."""
    sql, params = audience_query(dealer_code, brand)
    rows = pd.read_sql_query(sa.text(sql), conn, params=params)
    data = audience_csv(rows)
    export = AudienceExport(data, len(rows), hashlib.sha256(data).hexdigest())
    record_audit(
        conn,
        "export_audience",
        {"dealer_code": dealer_code, "brand": brand},
        export.row_count,
        export.sha256,
        actor,
    )
    return export


LEAD_COLUMNS = (
    "source_record_id",
    "dealer_code",
    "created_date",
    "lead_source",
    "provider",
    "cost_amount",
    "crm_status",
    "outcome",
    "sale_source_record_id",
    "sale_dealer_code",
    "sale_date",
    "days_to_sale",
    "sale_amount",
    "was_known_customer",
    "known_since_date",
    "known_since_source_record_id",
    "known_since_dealer_code",
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "phone",
)

# `--outcome`: the mart's five outcomes, and the two worklists a sales manager acts on.
LEAD_WORKLISTS = {
    "known_paid": "o.is_paid and o.was_known_customer",
    "lost_in_group": "o.crm_status = 'lost' and o.outcome = 'sold_in_group'",
}
LEAD_OUTCOMES = ("sold_here", "sold_in_group", "sold_elsewhere", "open", "lost")


def leads_query(
    dealer_code: str | None = None, outcome: str | None = None
) -> tuple[str, dict[str, str]]:
    """SQL over marts.lead_outcomes (and the person's golden record) for an export or a
    worklist: one place for the dashboard's downloads and `dealer360 export leads`."""
    where, params = ["true"], {}
    if dealer_code:
        where.append("o.dealer_code = :dealer_code")
        params["dealer_code"] = dealer_code
    if outcome in LEAD_WORKLISTS:
        where.append(LEAD_WORKLISTS[outcome])
    elif outcome in LEAD_OUTCOMES:
        where.append("o.outcome = :outcome")
        params["outcome"] = outcome
    elif outcome:
        raise UserError(
            f"Unknown lead outcome {outcome!r}: use one of"
            f" {', '.join((*LEAD_OUTCOMES, *LEAD_WORKLISTS))}."
        )
    columns = ", ".join(
        f"c.{c}" if c in ("first_name", "last_name", "email", "phone") else f"o.{c}"
        for c in LEAD_COLUMNS
    )
    sql = (
        f"select {columns} from marts.lead_outcomes as o"
        " left join marts.customers as c on c.customer_id = o.customer_id"
        f" where {' and '.join(where)}"
        " order by o.dealer_code, o.created_date desc, o.source_record_id"
    )
    return sql, params


def export_leads(
    conn: Connection,
    dealer_code: str | None = None,
    outcome: str | None = None,
    *,
    actor: str | None = None,
) -> AudienceExport:
    """Build the leads file and write its audit row on `conn` (commit with the caller)."""
    sql, params = leads_query(dealer_code, outcome)
    rows = pd.read_sql_query(sa.text(sql), conn, params=params)
    data = rows.to_csv(index=False, columns=list(LEAD_COLUMNS)).encode("utf-8")
    export = AudienceExport(data, len(rows), hashlib.sha256(data).hexdigest())
    record_audit(
        conn,
        "export_leads",
        {"dealer_code": dealer_code, "outcome": outcome},
        export.row_count,
        export.sha256,
        actor,
    )
    return export


def cli_actor() -> str:
    """Who runs a command: the operating-system user (the role is recorded beside it)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _check_writable(out: Path) -> None:
    if out.is_dir():
        raise UserError(f"Cannot write {out}: it is a folder; give a file name.")
    if not out.parent.is_dir():
        raise UserError(f"Cannot write {out}: the folder {out.parent} does not exist.")


def _write(out: Path, data: bytes) -> None:
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise UserError(f"Cannot write {out}: {exc.strerror or exc}.") from None


def _canonical_dealer(conn: Connection, dealer_code: str) -> str:
    """The dealer code as the data spells it; an unknown one is an error naming it."""
    known = conn.scalars(sa.text("select dealer_code from marts.dealers order by 1")).all()
    match = [code for code in known if code.lower() == dealer_code.strip().lower()]
    if not match:
        shown = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
        raise UserError(f"Unknown dealer {dealer_code!r}: the dealers are {shown or 'none yet'}.")
    return match[0]


def _canonical_brand(conn: Connection, brand: str) -> str:
    """The make in the brands seed's spelling (aliases such as VW accepted)."""
    found = conn.scalar(
        sa.text(
            "select coalesce("
            " (select make from reference.brands where lower(make) = lower(:b) limit 1),"
            " (select make from reference.brand_aliases where lower(alias) = lower(:b) limit 1))"
        ),
        {"b": brand.strip()},
    )
    if found is None:
        makes = conn.scalars(sa.text("select make from reference.brands order by 1")).all()
        raise UserError(f"Unknown brand {brand!r}: the brands are {', '.join(makes)}.")
    return found


@dataclass(frozen=True)
class WrittenExport:
    path: Path
    row_count: int
    sha256: str
    dealer_code: str | None
    brand: str | None


def write_audience(
    engine: Engine, out: Path, dealer_code: str | None = None, brand: str | None = None
) -> WrittenExport:
    """`dealer360 export audience`: the consent-filtered campaign list to `out`, audited.

    A dealer or brand the data does not know is an error naming it (a typo must not
    silently produce an empty list).
    """

    def build(conn: Connection) -> tuple[AudienceExport, dict]:
        dealer = _canonical_dealer(conn, dealer_code) if dealer_code else None
        make = _canonical_brand(conn, brand) if brand else None
        export = export_audience(conn, dealer, make, actor=cli_actor())
        return export, {"dealer_code": dealer, "brand": make}

    return _write_audited(engine, out, "marts.campaign_audience", "campaign audience", build)


def write_leads(
    engine: Engine, out: Path, dealer_code: str | None = None, outcome: str | None = None
) -> WrittenExport:
    """`dealer360 export leads`: marts.lead_outcomes with the person's contact, audited."""

    def build(conn: Connection) -> tuple[AudienceExport, dict]:
        dealer = _canonical_dealer(conn, dealer_code) if dealer_code else None
        export = export_leads(conn, dealer, outcome, actor=cli_actor())
        return export, {"dealer_code": dealer, "outcome": outcome}

    return _write_audited(engine, out, "marts.lead_outcomes", "lead outcome", build)


def _write_audited(
    engine: Engine,
    out: Path,
    table: str,
    what: str,
    build: Callable[[Connection], tuple[AudienceExport, dict]],
) -> WrittenExport:
    """Build an export on one connection, write the file, then commit its audit row; the
    file is removed again if the audit cannot be written, so every file on disk has its row."""
    out = out.expanduser()
    _check_writable(out)
    with engine.connect() as conn:
        if not conn.scalar(sa.text("select to_regclass(:t) is not null"), {"t": table}):
            raise UserError(f"There is no {what} yet: run `dealer360 run --inbox DIR` first.")
        export, filters = build(conn)
        _write(out, export.data)
        try:
            conn.commit()
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    return WrittenExport(
        out, export.row_count, export.sha256, filters.get("dealer_code"), filters.get("brand")
    )


def write_links(engine: Engine, out: Path) -> WrittenExport:
    """`dealer360 export links`: every landed person record and its customer, audited."""
    import entity_resolution

    out = out.expanduser()
    _check_writable(out)
    try:
        rows = entity_resolution.export_links(engine, out)
    except OSError as exc:
        raise UserError(f"Cannot write {out}: {exc.strerror or exc}.") from None
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    try:
        with engine.begin() as conn:
            record_audit(conn, "export_links", {}, rows, digest, cli_actor())
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return WrittenExport(out, rows, digest, None, None)
