"""A marketer's fixes to who is who, made where the mistake shows: on the profile.

"This record is not this person" splits a record out of its customer; "same person as
customer C…" joins two customers. Each fix is a set of reviewer decisions
(resolve.review_decisions: cannot_link pairs between the record and every other record of
its customer, or one must_link pair between the two customers), which every later resolve
run honours, full or incremental. Each fix and each undo is a row of raw.audit_log
(action `merge_fix` / `merge_fix_undone`); the decisions carry the fix's audit ID in their
note, so an undo removes exactly what the fix wrote.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dealer360.errors import UserError
from dealer360.exports import record_audit

NOT_THIS_PERSON = "not_this_person"
SAME_PERSON = "same_person"
_NOTE = "merge fix {fix_id}"


@dataclass(frozen=True)
class Fix:
    fix_id: int
    kind: str  # NOT_THIS_PERSON or SAME_PERSON
    customer_id: str
    record: str | None  # source:source_record_id split out (NOT_THIS_PERSON)
    other_customer_id: str | None  # the customer joined (SAME_PERSON)
    actor: str
    at: object
    decisions: int


def _records(conn: Connection, customer_id: str) -> list[tuple[str, str]]:
    return [
        (row.source, row.source_record_id)
        for row in conn.execute(
            sa.text(
                "select source, source_record_id from resolve.customer_source_map"
                " where customer_id = :c order by source, source_record_id"
            ),
            {"c": customer_id},
        )
    ]


Record = tuple[str, str]  # (source, source_record_id)


def write_decisions(
    conn: Connection,
    pairs: list[tuple[Record, Record]],
    decision: str,
    actor: str | None,
    note: str | None = None,
) -> None:
    """Settle record pairs (`must_link` or `cannot_link`) on `conn`, committed with the
    caller; deciding a pair again replaces the earlier verdict. Without an actor, the
    database role decided. The review page and the fixes below write through here."""
    if decision not in ("must_link", "cannot_link"):
        raise ValueError(f"Unknown review decision {decision!r}.")
    conn.execute(
        sa.text(
            """
            insert into resolve.review_decisions
                (source_a, source_record_id_a, source_b, source_record_id_b, decision,
                 decided_by, note)
            values (:sa, :ra, :sb, :rb, :decision, coalesce(:actor, current_user), :note)
            on conflict (source_a, source_record_id_a, source_b, source_record_id_b) do update
            set decision = excluded.decision, decided_by = excluded.decided_by,
                decided_at = now(), note = excluded.note
            """
        ),
        [
            {
                "sa": a[0],
                "ra": a[1],
                "sb": b[0],
                "rb": b[1],
                "decision": decision,
                "actor": actor,
                "note": note,
            }
            for a, b in pairs
        ],
    )


def split_record(
    conn: Connection, customer_id: str, source: str, source_record_id: str, actor: str | None
) -> int:
    """ "This record is not this person": keep the record apart from every other record of
    the customer from the next run on. Returns the fix's ID (its audit row); committed with
    the caller's transaction."""
    record = (source, source_record_id)
    records = _records(conn, customer_id)
    if record not in records:
        raise UserError(f"The record {source}:{source_record_id} is not in {customer_id}.")
    others = [r for r in records if r != record]
    if not others:
        raise UserError(
            f"{source}:{source_record_id} is the only record of {customer_id}: there is"
            " nothing to split it from."
        )
    fix_id = record_audit(
        conn,
        "merge_fix",
        {
            "fix": NOT_THIS_PERSON,
            "customer_id": customer_id,
            "record": f"{source}:{source_record_id}",
        },
        row_count=len(others),
        sha256=None,
        actor=actor,
    )
    pairs = [(record, other) for other in others]
    write_decisions(conn, pairs, "cannot_link", actor, _NOTE.format(fix_id=fix_id))
    return fix_id


def join_customers(
    conn: Connection, customer_id: str, other_customer_id: str, actor: str | None
) -> int:
    """ "Same person as customer C…": join the two customers from the next run on (the
    older ID survives, as for any merge). Returns the fix's ID (its audit row); committed
    with the caller's transaction."""
    other_customer_id = other_customer_id.strip().upper()
    if other_customer_id == customer_id:
        raise UserError(f"{customer_id} is this customer: name another customer ID.")
    mine, theirs = _records(conn, customer_id), _records(conn, other_customer_id)
    if not mine:
        raise UserError(f"There is no customer {customer_id}.")
    if not theirs:
        raise UserError(
            f"There is no customer {other_customer_id}: copy the ID from its profile"
            " (C and nine digits)."
        )
    fix_id = record_audit(
        conn,
        "merge_fix",
        {
            "fix": SAME_PERSON,
            "customer_id": customer_id,
            "other_customer_id": other_customer_id,
        },
        row_count=1,
        sha256=None,
        actor=actor,
    )
    write_decisions(conn, [(mine[0], theirs[0])], "must_link", actor, _NOTE.format(fix_id=fix_id))
    return fix_id


def undo_fix(conn: Connection, fix_id: int, actor: str | None) -> int:
    """Withdraw a fix's decisions (the next run decides those records on the evidence
    again); returns how many decisions were withdrawn. Audited as `merge_fix_undone`."""
    fix = conn.execute(
        sa.text("select filters from raw.audit_log where audit_id = :f and action = 'merge_fix'"),
        {"f": fix_id},
    ).first()
    if fix is None:
        raise UserError(f"There is no merge fix {fix_id}.")
    undone = conn.scalar(
        sa.text(
            "select exists (select 1 from raw.audit_log where action = 'merge_fix_undone'"
            " and (filters ->> 'fix_id')::bigint = :f)"
        ),
        {"f": fix_id},
    )
    if undone:
        raise UserError(f"Merge fix {fix_id} was already undone.")
    withdrawn = conn.execute(
        sa.text("delete from resolve.review_decisions where note = :note"),
        {"note": _NOTE.format(fix_id=fix_id)},
    ).rowcount
    record_audit(
        conn,
        "merge_fix_undone",
        {"fix_id": fix_id, **fix.filters},
        row_count=withdrawn,
        sha256=None,
        actor=actor,
    )
    return withdrawn


def fixes_of(conn: Connection, customer_id: str) -> list[Fix]:
    """The fixes that name this customer and were not undone, newest first."""
    rows = conn.execute(
        sa.text(
            """
            select f.audit_id, f.filters, f.actor, f.at, f.row_count
            from raw.audit_log as f
            where f.action = 'merge_fix'
                and :c in (f.filters ->> 'customer_id', f.filters ->> 'other_customer_id')
                and not exists (
                    select 1 from raw.audit_log as u
                    where u.action = 'merge_fix_undone'
                        and (u.filters ->> 'fix_id')::bigint = f.audit_id
                )
            order by f.audit_id desc
            """
        ),
        {"c": customer_id},
    ).all()
    return [
        Fix(
            fix_id=row.audit_id,
            kind=row.filters["fix"],
            customer_id=row.filters["customer_id"],
            record=row.filters.get("record"),
            other_customer_id=row.filters.get("other_customer_id"),
            actor=row.actor,
            at=row.at,
            decisions=row.row_count,
        )
        for row in rows
    ]
