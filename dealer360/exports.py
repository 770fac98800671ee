"""Personal data leaving dealer360: the campaign audience, the leads and the links file, each
written to raw.audit_log with who, when, the filters, the row count and the sha256 of the
exact bytes. The Leads page's worklist downloads and `dealer360 export leads` share
`leads_query`; the Service lane page's download and `dealer360 export worklist` share
`worklist_query`.

One query, one place: the dashboard's Opportunities download and `dealer360 export
audience` both build their list with `audience_query`, which reads `marts.campaign_audience`
only, for one sender and one channel. Consent is decided there, in dbt (int_sender_consent:
consent belongs to the sender it was given to), never here. Every audience export records
its members (targets and held-out controls) in raw.export_members beside its audit row.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealer360.errors import UserError

# A person's name and contact, from the golden record (marts.customers).
PERSON_COLUMNS = ("first_name", "last_name", "company_name", "email", "phone")
AUDIENCE_COLUMNS = (
    "customer_id",
    *PERSON_COLUMNS,
    "city",
    "region",
    "sender",
    "channel",
    "consent_basis",
    "consent_expires_on",
)
CHANNELS = ("email", "sms")

# An in-market customer "of a make" (`marts.in_market` as `m`): the mart lists the makes of
# their events (`brands`), so the in-market list and its campaign list count the same people.
IN_MARKET_FOR_BRAND = "m.brands @> array[cast(:brand as text)]"

# The sender of a rooftop's list (`marts.dealers.sender`: its legal entity, else itself).
DEALER_SENDER = "(select d.sender from marts.dealers as d where d.dealer_code = :dealer_code)"


def audience_query(
    dealer_code: str | None = None,
    brand: str | None = None,
    *,
    channel: str = "email",
    min_score: int | None = None,
    driver_codes: tuple[str, ...] = (),
) -> tuple[str, dict]:
    """The campaign list as (sql, params): the customers one sender may contact on one
    channel today.

    Consent is decided by the mart (`marts.campaign_audience`, from contact_permissions), so
    the CLI and the dashboard can only ever export what it allows. The sender is the
    rooftop's (`dealer_code`: its legal entity, else itself) or the manufacturer's
    (`brand` alone: `oem:BRAND`); a list has one sender, so one of them is needed. With
    `min_score` or `driver_codes` (the dashboard's Opportunities filters) the list is the
    customers in market at `dealer_code` (of `brand`, when given) whom that rooftop's sender
    may contact, exactly those the in-market list marks as contactable.
    """
    if channel not in CHANNELS:
        raise UserError(f"Unknown channel {channel!r}: use email or sms.")
    params: dict = {"channel": channel}
    clauses = ["a.channel = :channel"]
    in_market_mode = min_score is not None or bool(driver_codes)
    if dealer_code:
        params["dealer_code"] = dealer_code
        clauses.append(f"a.sender = {DEALER_SENDER}")
    elif in_market_mode:
        raise ValueError("In-market filters need a dealer: a customer is in market at one.")
    elif brand:
        params["brand"] = brand
        clauses.append("a.sender = 'oem:' || cast(:brand as text)")
    else:
        raise UserError(
            "A campaign list needs its sender: give --dealer CODE (that rooftop's) or"
            " --brand BRAND (the manufacturer's)."
        )
    if in_market_mode:
        in_market_clauses = ["m.customer_id = a.customer_id", "m.dealer_code = :dealer_code"]
        if min_score is not None:
            in_market_clauses.append("m.score >= :min_score")
            params["min_score"] = min_score
        if driver_codes:
            in_market_clauses.append("m.driver_codes ?| cast(:driver_codes as text[])")
            params["driver_codes"] = list(driver_codes)
        if brand:
            in_market_clauses.append(IN_MARKET_FOR_BRAND)
            params["brand"] = brand
        clauses.append(
            f"exists (select 1 from marts.in_market as m where {' and '.join(in_market_clauses)})"
        )
    elif dealer_code and brand:
        raise UserError(
            "Give --dealer or --brand, not both: a campaign list has one sender, the rooftop's"
            " or the manufacturer's."
        )
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


def control_group(customer_ids: list[str], share: float, seed: int) -> set[str]:
    """The held-out controls: round(share × n) customers drawn at random with `seed` (the
    export's audit ID), so the same list and seed always hold out the same people."""
    if not 0 <= share < 1:
        raise UserError(f"--control-share {share} is not a share: give a number from 0 to 0.99.")
    ordered = sorted(customer_ids)
    size = round(share * len(ordered))
    drawn = np.random.default_rng(seed).choice(len(ordered), size=size, replace=False)
    return {ordered[i] for i in drawn}


def next_export_id(conn: Connection) -> int:
    """Reserve the audit row's ID before the file is built: it seeds the control group."""
    return conn.scalar(
        sa.text("select nextval(pg_get_serial_sequence('raw.audit_log', 'audit_id'))")
    )


def record_members(
    conn: Connection, export_id: int, targets: list[str], controls: set[str] = frozenset()
) -> None:
    """Who was on list `export_id` (raw.export_members, append-only): the targets written to
    the file and the controls held out of it."""
    ids = [*targets, *sorted(controls)]
    conn.execute(
        sa.text(
            "insert into raw.export_members (export_id, customer_id, is_control)"
            " select :e, member.customer_id, member.is_control"
            " from unnest(cast(:ids as text[]), cast(:flags as boolean[]))"
            " as member (customer_id, is_control)"
        ),
        {"e": export_id, "ids": ids, "flags": [c in controls for c in ids]},
    )


def record_audit(
    conn: Connection,
    action: str,
    filters: dict,
    row_count: int | None,
    sha256: str | None,
    actor: str | None = None,
    audit_id: int | None = None,
) -> int:
    """Write one audit row on `conn` (committed with the caller) and return its ID; without
    an actor, the database role is the actor. The role itself is always recorded
    (`db_role`). `audit_id` is one reserved with `next_export_id`."""
    return conn.scalar(
        sa.text(
            """
            insert into raw.audit_log (audit_id, actor, action, filters, row_count, sha256)
            values (coalesce(:audit_id, nextval(pg_get_serial_sequence('raw.audit_log',
                    'audit_id'))), coalesce(:actor, current_user), :action,
                    cast(:filters as jsonb), :row_count, :sha256)
            returning audit_id
            """
        ),
        {
            "audit_id": audit_id,
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
    export_id: int | None = None
    controls: int = 0


def export_audience(
    conn: Connection,
    dealer_code: str | None = None,
    brand: str | None = None,
    *,
    channel: str = "email",
    control_share: float = 0.0,
    actor: str | None = None,
) -> AudienceExport:
    """Build the audience file of one sender and channel, hold out a seeded control share,
    and write its audit row and members on `conn` (commit with the caller).

    The controls are recorded as such in raw.export_members and are not in the file; the
    seed is the export's audit ID, written in its filters, so the draw can be replayed.
    """
    sql, params = audience_query(dealer_code, brand, channel=channel)
    rows = pd.read_sql_query(sa.text(sql), conn, params=params)
    export_id = next_export_id(conn)
    controls = control_group(list(rows["customer_id"]), control_share, export_id)
    targets = rows[~rows["customer_id"].isin(controls)]
    data = audience_csv(targets)
    export = AudienceExport(
        data, len(targets), hashlib.sha256(data).hexdigest(), export_id, len(controls)
    )
    sender = conn.scalar(
        sa.text(f"select {DEALER_SENDER}" if dealer_code else "select 'oem:' || :brand"),
        {"dealer_code": dealer_code} if dealer_code else {"brand": brand},
    )
    filters = {
        "dealer_code": dealer_code,
        "brand": brand,
        "sender": sender,
        "channel": channel,
        "control_share": control_share,
        "controls": len(controls),
        "seed": export_id,
    }
    record_audit(
        conn, "export_audience", filters, export.row_count, export.sha256, actor, export_id
    )
    record_members(conn, export_id, list(targets["customer_id"]), controls)
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


def leads_csv(rows: pd.DataFrame) -> bytes:
    """The bytes of a leads file: UTF-8 CSV with a header, one lead per line."""
    return rows.to_csv(index=False, columns=list(LEAD_COLUMNS)).encode("utf-8")


def export_leads(
    conn: Connection,
    dealer_code: str | None = None,
    outcome: str | None = None,
    *,
    actor: str | None = None,
) -> AudienceExport:
    """Build the leads file and write its audit row on `conn` (commit with the caller)."""
    sql, params = leads_query(dealer_code, outcome)
    filters = {"dealer_code": dealer_code, "outcome": outcome}
    return _export_rows(conn, "export_leads", sql, params, leads_csv, filters, actor)


WORKLIST_COLUMNS = (
    "dealer_code",
    "reason",
    "due_date",
    "detail",
    "customer_id",
    *PERSON_COLUMNS,
    "contact_channels",
    "vin",
    "make",
    "model",
    "model_year",
)
# `--reason`: the mart's reasons, in the order the Service lane page shows them.
WORKLIST_REASONS = (
    "open_recall",
    "maintenance_due",
    "warranty_ending",
    "lapsed_service",
    "new_owner_never_seen",
)


def worklist_query(
    dealer_code: str, reason: str | None = None, *, contactable_only: bool = True
) -> tuple[str, dict[str, str]]:
    """SQL over marts.service_worklist (and the person's golden record) for one rooftop: one
    place for the Service lane page and `dealer360 export worklist`. Exports are contactable
    rows only (the consent rule per sender decided it in dbt); the page also shows the others,
    marked, for a customer who comes in."""
    where, params = ["w.dealer_code = :dealer_code"], {"dealer_code": dealer_code}
    if reason in WORKLIST_REASONS:
        where.append("w.reason = :reason")
        params["reason"] = reason
    elif reason:
        raise UserError(
            f"Unknown worklist reason {reason!r}: use one of {', '.join(WORKLIST_REASONS)}."
        )
    if contactable_only:
        where.append("w.is_contactable")
    columns = ", ".join(
        f"c.{c}" if c in PERSON_COLUMNS else f"w.{c}" for c in (*WORKLIST_COLUMNS, "is_contactable")
    )
    order = " ".join(f"when '{r}' then {i}" for i, r in enumerate(WORKLIST_REASONS))
    sql = (
        f"select {columns} from marts.service_worklist as w"
        " left join marts.customers as c on c.customer_id = w.customer_id"
        f" where {' and '.join(where)}"
        f" order by case w.reason {order} end, w.due_date, w.customer_id, w.vin"
    )
    return sql, params


def worklist_csv(rows: pd.DataFrame) -> bytes:
    """The bytes of a worklist file: UTF-8 CSV with a header, one (customer, vehicle, reason)
    per line; the contact channels `|`-separated."""
    rows = rows.assign(
        contact_channels=[
            "|".join(channels) if isinstance(channels, list | tuple) else channels
            for channels in rows["contact_channels"]
        ]
    )
    return rows.to_csv(index=False, columns=list(WORKLIST_COLUMNS)).encode("utf-8")


def export_worklist(
    conn: Connection, dealer_code: str, reason: str | None = None, *, actor: str | None = None
) -> AudienceExport:
    """Build one rooftop's worklist file (contactable customers only) and write its audit row
    on `conn` (commit with the caller)."""
    sql, params = worklist_query(dealer_code, reason)
    filters = {"dealer_code": dealer_code, "reason": reason}
    return _export_rows(conn, "export_worklist", sql, params, worklist_csv, filters, actor)


def _export_rows(
    conn: Connection,
    action: str,
    sql: str,
    params: dict,
    to_csv: Callable[[pd.DataFrame], bytes],
    filters: dict,
    actor: str | None,
) -> AudienceExport:
    """Read an export's rows, make its bytes and write its audit row on `conn`."""
    rows = pd.read_sql_query(sa.text(sql), conn, params=params)
    data = to_csv(rows)
    export = AudienceExport(data, len(rows), hashlib.sha256(data).hexdigest())
    record_audit(conn, action, filters, export.row_count, export.sha256, actor)
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
    export_id: int | None = None
    controls: int = 0


def write_audience(
    engine: Engine,
    out: Path,
    dealer_code: str | None = None,
    brand: str | None = None,
    *,
    channel: str = "email",
    control_share: float = 0.0,
) -> WrittenExport:
    """`dealer360 export audience`: one sender's campaign list for one channel to `out`,
    audited, its members and held-out controls recorded.

    A dealer or brand the data does not know is an error naming it (a typo must not
    silently produce an empty list).
    """

    def build(conn: Connection) -> tuple[AudienceExport, dict]:
        dealer = _canonical_dealer(conn, dealer_code) if dealer_code else None
        make = _canonical_brand(conn, brand) if brand else None
        export = export_audience(
            conn,
            dealer,
            make,
            channel=channel,
            control_share=control_share,
            actor=cli_actor(),
        )
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


def write_worklist(
    engine: Engine, out: Path, dealer_code: str, reason: str | None = None
) -> WrittenExport:
    """`dealer360 export worklist`: one rooftop's service-lane worklist, contactable customers
    only, audited. An unknown reason is an error naming the known ones, before any file."""

    def build(conn: Connection) -> tuple[AudienceExport, dict]:
        worklist_query(dealer_code, reason)  # an unknown reason fails before any read
        dealer = _canonical_dealer(conn, dealer_code)
        export = export_worklist(conn, dealer, reason, actor=cli_actor())
        return export, {"dealer_code": dealer, "reason": reason}

    return _write_audited(engine, out, "marts.service_worklist", "service worklist", build)


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
        out,
        export.row_count,
        export.sha256,
        filters.get("dealer_code"),
        filters.get("brand"),
        export.export_id,
        export.controls,
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
