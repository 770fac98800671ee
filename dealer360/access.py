"""Login roles that row-level security limits: one per dealer, one per manufacturer (OEM).

PostgreSQL enforces who sees what (policies in `migrations/0006_access.sql` for `raw.*`, the
dbt post-hook `macros/access.sql` for every mart); this module only creates the roles, grants
them SELECT on the tables whose policies speak for them, and records them in `access.roles`,
which the policies read. A granted role:

- logs in with a generated password (sent to the server as a SCRAM verifier, so the password
  itself never reaches a server log) and may read, nothing else: no INSERT, UPDATE, DELETE,
  TRUNCATE or CREATE anywhere, not even a temporary table;
- is a member of no other role, so `SET ROLE` to the pipeline's role or a superuser fails;
- is named after the database and what it was granted (`dealer360_dealer_toy_lav`): roles
  are cluster-wide, and two databases on one server (the tests make hundreds) must never
  share one; a role means something only where `access.roles` lists it.

Granting again refreshes: the same privileges, exactly, and a new password.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Connection, Engine

from dealer360 import db
from dealer360.errors import UserError

MAX_IDENTIFIER_BYTES = 63  # PostgreSQL truncates longer names silently; we never let it

# What each kind of role may read beyond the marts. Rows are decided by policies; a table
# listed here without a policy is one whose rows are all readable.
_READABLE = {
    "dealer": (
        "raw.dealers",  # the rooftop list: no personal data
        "raw.dealer_sales",
        "raw.service_orders",
        "raw.crm_leads",
        "resolve.customer_id_history",  # old ID -> new ID, so shared profile links still work
        "access.current_grant",
    ),
    "oem": ("raw.dealers", "raw.oem_registrations", "access.current_grant"),
}
# Schemas whose dbt-rebuilt tables carry policies (`protect()`); granted only when protected.
_PROTECTED_SCHEMAS = ("marts", "access")
# Every schema dealer360 writes: a refresh revokes whatever a role held in them first.
_SCHEMAS = ("raw", "resolve", "marts", "access", "staging", "intermediate", "reference")


@dataclass(frozen=True)
class Grant:
    role: str
    url: str  # libpq URL with the new password, for psql, a BI tool or DEALER360_DASHBOARD_URL


def role_name(database: str, kind: str, subject: str) -> str:
    """`<database>_<kind>_<subject>` in lower-case letters, digits and underscores.

    Anything else in a dealer code or brand becomes `_`, so the name needs no quoting in a URL
    or psql; a name longer than PostgreSQL's 63 bytes keeps a hash of the whole instead of its
    tail, so two long codes never meet in one role.
    """
    name = "_".join(
        re.sub(r"[^a-z0-9]+", "_", part.lower()).strip("_") for part in (database, kind, subject)
    )
    if len(name) > MAX_IDENTIFIER_BYTES:
        digest = hashlib.sha256(f"{database}\0{kind}\0{subject}".encode()).hexdigest()[:10]
        name = f"{name[: MAX_IDENTIFIER_BYTES - 11]}_{digest}"
    return name


def _scram_verifier(conn: Connection, role: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password`, computed by libpq on this
    connection (with the server's `scram_iterations`), so the password never leaves the client."""
    pgconn = conn.connection.driver_connection.pgconn
    return pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()


def _run(conn: Connection, statement: sql.Composable) -> None:
    conn.exec_driver_sql(statement.as_string(conn.connection.driver_connection))


def _require_createrole(conn: Connection) -> None:
    user, allowed = conn.execute(
        sa.text(
            "select rolname, rolsuper or rolcreaterole from pg_roles where rolname = current_user"
        )
    ).one()
    if not allowed:
        raise UserError(
            f"The database user {user!r} may not create roles: `dealer360 grant` needs a user "
            "with CREATEROLE (or a superuser) in DATABASE_URL."
        )


def _pick(wanted: str, known: list[str], what: str) -> str:
    """The known spelling of `wanted` (case-insensitive), or one sentence naming the choices."""
    by_key = {k.lower(): k for k in known}
    if wanted.lower() in by_key:
        return by_key[wanted.lower()]
    if not known:
        raise UserError(f"No {what}s are known yet: run `dealer360 run --inbox DIR` first.")
    raise UserError(f"Unknown {what} {wanted!r}; known {what}s: {', '.join(sorted(known))}.")


def _known_dealers(conn: Connection) -> list[str]:
    return list(conn.scalars(sa.text("select distinct dealer_code from raw.dealers")))


def _known_brands(conn: Connection) -> list[str]:
    canonical = conn.scalar(sa.text("select to_regclass('reference.brands') is not null"))
    brands = list(conn.scalars(sa.text("select distinct brand from raw.oem_registrations")))
    if canonical:
        brands += list(conn.scalars(sa.text("select make from reference.brands")))
        # The seed's spelling wins over a registration file's.
        seeded = {b.lower(): b for b in conn.scalars(sa.text("select make from reference.brands"))}
        brands = [seeded.get(b.lower(), b) for b in brands]
    return sorted(set(brands))


def _create_or_refresh_role(conn: Connection, role: str, password: str | None) -> None:
    """Create `role`, or bring an existing one back to exactly what a granted role may do.

    With a password the role logs in with it (a refresh gives it a new one); without, an
    existing role keeps its login and password, and a new one cannot log in at all: it exists
    for the people the dashboard serves as it (`grant_user`)."""
    exists = conn.scalar(sa.text("select 1 from pg_roles where rolname = :r"), {"r": role})
    listed = conn.scalar(sa.text("select 1 from access.roles where role_name = :r"), {"r": role})
    if exists and not listed:
        raise UserError(
            f"A role named {role!r} already exists and dealer360 did not create it; "
            "drop or rename it first."
        )
    attributes = sql.SQL("nosuperuser nocreatedb nocreaterole noinherit noreplication nobypassrls")
    if password is not None:
        verifier = sql.Literal(_scram_verifier(conn, role, password))
        attributes = sql.SQL("login {} password {}").format(attributes, verifier)
    elif not exists:
        attributes = sql.SQL("nologin {}").format(attributes)
    verb = sql.SQL("alter role" if exists else "create role")
    _run(conn, sql.SQL("{} {} with {}").format(verb, sql.Identifier(role), attributes))
    # A read-only role is a member of nothing: no SET ROLE to anything wider.
    for parent in conn.scalars(
        sa.text(
            "select parent.rolname from pg_auth_members m"
            " join pg_roles parent on parent.oid = m.roleid"
            " join pg_roles member on member.oid = m.member where member.rolname = :r"
        ),
        {"r": role},
    ):
        _run(
            conn, sql.SQL("revoke {} from {}").format(sql.Identifier(parent), sql.Identifier(role))
        )
    _run(
        conn,
        sql.SQL("alter role {} set default_transaction_read_only = on").format(
            sql.Identifier(role)
        ),
    )


def _grant_reads(conn: Connection, role: str, kind: str) -> None:
    """Exactly the reads `kind` is due: revoke everything in dealer360's schemas, grant again."""
    who = sql.Identifier(role)
    database = sql.Identifier(conn.scalar(sa.text("select current_database()")))
    # Temporary tables are the one thing PUBLIC may create by default: not for these roles.
    _run(conn, sql.SQL("revoke temporary on database {} from public").format(database))
    _run(conn, sql.SQL("grant temporary on database {} to current_user").format(database))
    _run(conn, sql.SQL("grant connect on database {} to {}").format(database, who))
    present = set(
        conn.scalars(
            sa.text("select nspname from pg_namespace where nspname = any(:s)"),
            {"s": list(_SCHEMAS)},
        )
    )
    for schema in sorted(present):
        name = sql.Identifier(schema)
        _run(conn, sql.SQL("revoke all on all tables in schema {} from {}").format(name, who))
        _run(conn, sql.SQL("revoke all on schema {} from {}").format(name, who))
    for schema in ("raw", "resolve", "marts", "access"):
        _run(conn, sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(schema), who))
    protected = conn.execute(
        sa.text(
            "select n.nspname, c.relname from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(:s) and c.relkind in ('r', 'p') and c.relrowsecurity"
        ),
        {"s": list(_PROTECTED_SCHEMAS)},
    )
    tables = [tuple(t.split(".")) for t in _READABLE[kind]] + [tuple(r) for r in protected]
    for schema, table in tables:
        _run(
            conn,
            sql.SQL("grant select on {} to {}").format(sql.Identifier(schema, table), who),
        )


def _url_for(engine: Engine, role: str, password: str) -> str:
    return db.libpq_url(engine.url.set(username=role, password=password))


def _grant(engine: Engine, kind: str, subject: str, password: str | None) -> str:
    """Create or refresh the role of a dealer or a brand in one transaction; its name."""
    with engine.connect() as conn:
        _require_createrole(conn)
    db.migrate(engine)
    with engine.begin() as conn:
        return _grant_on(conn, kind, subject, password)


def _grant_on(conn: Connection, kind: str, subject: str, password: str | None) -> str:
    # One grant at a time per database: two refreshes at once would race on the role.
    conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": db.LockKey.GRANTS})
    if kind == "dealer":
        subject = _pick(subject, _known_dealers(conn), "dealer code")
    else:
        subject = _pick(subject, _known_brands(conn), "brand")
    database = conn.scalar(sa.text("select current_database()"))
    role = role_name(database, kind, subject)
    other = conn.scalar(
        sa.text(
            "select coalesce(dealer_code, brand) from access.roles"
            " where role_name = :r and coalesce(dealer_code, brand) <> :s"
        ),
        {"r": role, "s": subject},
    )
    if other is not None:
        raise UserError(
            f"{kind} {subject!r} would share the role {role!r} with {other!r}; "
            "rename one of them in the inbox."
        )
    _create_or_refresh_role(conn, role, password)
    _grant_reads(conn, role, kind)
    conn.execute(
        sa.text(
            "insert into access.roles (role_name, kind, dealer_code, brand)"
            " values (:r, :k, :d, :b)"
            " on conflict (role_name) do update set refreshed_at = now()"
        ),
        {
            "r": role,
            "k": kind,
            "d": subject if kind == "dealer" else None,
            "b": subject if kind == "oem" else None,
        },
    )
    return role


def _wrap_permission_errors(func):
    """A server that refuses (no CREATEROLE on a managed PostgreSQL, ...) is one sentence."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except sa.exc.ProgrammingError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise UserError(f"The database refused to grant access: {reason}") from None

    return wrapper


@_wrap_permission_errors
def grant_dealer(engine: Engine, dealer_code: str) -> Grant:
    """Create or refresh the login role of a dealer: its customers, its rows, read-only."""
    password = secrets.token_urlsafe(24)
    role = _grant(engine, "dealer", dealer_code, password)
    return Grant(role=role, url=_url_for(engine, role, password))


@_wrap_permission_errors
def grant_oem(engine: Engine, brand: str) -> Grant:
    """Create or refresh the login role of a manufacturer: its brand's registrations and
    aggregates, no customer's personal data."""
    password = secrets.token_urlsafe(24)
    role = _grant(engine, "oem", brand, password)
    return Grant(role=role, url=_url_for(engine, role, password))


def set_group_sharing(engine: Engine, enabled: bool) -> None:
    """Let every rooftop of the group see the group's customers and all their events (on),
    or each rooftop only its own (off). Takes effect on the next query of every role."""
    db.migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text("update access.settings set is_group_sharing = :on, changed_at = now()"),
            {"on": enabled},
        )


def group_sharing(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.scalar(sa.text("select is_group_sharing from access.settings")))


def revoke(engine: Engine, role: str) -> None:
    """Drop a role dealer360 granted in this database, and its privileges."""
    with engine.begin() as conn:
        listed = conn.scalar(
            sa.text("select 1 from access.roles where role_name = :r"), {"r": role}
        )
        if not listed:
            raise UserError(f"No role named {role!r} was granted in this database.")
        if conn.scalar(sa.text("select 1 from pg_roles where rolname = :r"), {"r": role}):
            # Also revokes its privileges on this database (CONNECT).
            _run(conn, sql.SQL("drop owned by {}").format(sql.Identifier(role)))
            _run(conn, sql.SQL("drop role {}").format(sql.Identifier(role)))
        conn.execute(sa.text("delete from access.roles where role_name = :r"), {"r": role})


# ---------------------------------------------------------------------------------------------
# People: who may use the signed-in dashboard, and as which role (access.users).

PERSON_KINDS = ("dealer", "oem", "group")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Person:
    """A person the dashboard knows: what they were granted and the role their queries run as
    (None for the group's people: the dashboard's own connection)."""

    email: str
    kind: str
    role: str | None
    dealer_code: str | None = None
    brand: str | None = None

    @property
    def sees(self) -> str:
        """What this person sees, in words, for the page shell."""
        if self.kind == "dealer":
            return f"the customers of dealer {self.dealer_code}"
        if self.kind == "oem":
            return f"{self.brand}'s aggregates, no personal data"
        return "the whole group"


def normalize_email(email: str) -> str:
    """The e-mail as access.users keeps it (lower-case); one sentence when it is not one."""
    normalized = (email or "").strip().lower()
    if not _EMAIL.match(normalized):
        raise UserError(f"{email!r} is not an e-mail address.")
    return normalized


def _let_pipeline_become(conn: Connection, role: str) -> None:
    """Let the pipeline's role (the dashboard's connection) `set role` to `role`, without
    inheriting anything from it. A superuser may already; a CREATEROLE user administers the
    roles it created, and grants itself the right to become them (PostgreSQL 16 and later
    separate becoming a role from inheriting its privileges; before that, both come
    together, which gives the pipeline nothing it lacks)."""
    if conn.scalar(sa.text("select rolsuper from pg_roles where rolname = current_user")):
        return
    who = sql.Identifier(role)
    if conn.scalar(sa.text("select current_setting('server_version_num')::int")) >= 160000:
        _run(conn, sql.SQL("grant {} to current_user with inherit false, set true").format(who))
    else:
        _run(conn, sql.SQL("grant {} to current_user").format(who))


@_wrap_permission_errors
def grant_user(
    engine: Engine,
    email: str,
    *,
    dealer: str | None = None,
    brand: str | None = None,
    group: bool = False,
    granted_by: str,
) -> Person:
    """Let a person who signs in with `email` see what a dealer's role, a brand's role or the
    group sees. The role is created when it does not exist yet (unable to log in: the
    dashboard becomes it), or refreshed without touching its password; granting a person
    again replaces what they had."""
    if sum((dealer is not None, brand is not None, group)) != 1:
        raise UserError("Give exactly one of --dealer CODE, --oem BRAND or --group.")
    email = normalize_email(email)
    kind = "dealer" if dealer is not None else "oem" if brand is not None else "group"
    with engine.connect() as conn:
        if not group:
            _require_createrole(conn)
    db.migrate(engine)
    with engine.begin() as conn:
        role = None
        if not group:
            role = _grant_on(conn, kind, dealer if dealer is not None else brand, None)
            _let_pipeline_become(conn, role)
        conn.execute(
            sa.text(
                "insert into access.users (email, kind, role_name, granted_by)"
                " values (:e, :k, :r, :by)"
                " on conflict (email) do update set kind = excluded.kind,"
                " role_name = excluded.role_name, granted_at = now(),"
                " granted_by = excluded.granted_by"
            ),
            {"e": email, "k": kind, "r": role, "by": granted_by},
        )
        return _person(conn, email)


def revoke_user(engine: Engine, email: str) -> None:
    """Forget what a person was granted: at their next click they see nothing."""
    db.migrate(engine)
    with engine.begin() as conn:
        removed = conn.scalar(
            sa.text("delete from access.users where email = :e returning email"),
            {"e": (email or "").strip().lower()},
        )
    if removed is None:
        raise UserError(f"No person {email!r} was granted access in this database.")


def _person(conn: Connection, email: str) -> Person | None:
    row = conn.execute(
        sa.text(
            "select u.email, u.kind, u.role_name, r.dealer_code, r.brand"
            " from access.users u left join access.roles r on r.role_name = u.role_name"
            " where u.email = :e"
        ),
        {"e": email},
    ).first()
    return None if row is None else Person(*row)


def person(conn: Connection, email: str | None) -> Person | None:
    """Who `email` is to dealer360, or None: an unknown person, who must see nothing."""
    if not email or not conn.scalar(sa.text("select to_regclass('access.users') is not null")):
        return None
    return _person(conn, email.strip().lower())


def administrators(conn: Connection) -> list[str]:
    """The e-mails of the group's people: whom someone without access is told to ask."""
    if not conn.scalar(sa.text("select to_regclass('access.users') is not null")):
        return []
    return list(
        conn.scalars(sa.text("select email from access.users where kind = 'group' order by 1"))
    )


def become(conn: Connection, person: Person, read_only: bool = True) -> None:
    """Run the rest of this transaction as the person's role (read-only unless a write is
    asked for: the role's own privileges still decide what it may write).

    `set local`: commit or rollback gives the connection back to the pipeline's role, so a
    pooled connection never carries a person's role into someone else's query, nor the
    pipeline's into theirs. Must come first in the transaction (read-only must)."""
    if read_only:
        conn.execute(sa.text("set transaction read only"))
    if person.role is not None:
        conn.execute(sa.text("select set_config('role', :r, true)"), {"r": person.role})
