"""The dashboard's one connection to the database, shared by every page and session.

A role decides what a viewer may see (row-level security in PostgreSQL):
- signed in (`dashboard/sign_in.py`), every query runs in its own read-only transaction as the
  person's granted role (`set local role`): the connection is the pipeline's, but a person's
  query never runs as it unless they were granted the whole group;
- without sign-in, as the connection's own role: `DEALER360_DASHBOARD_URL` lets an operator
  run a dashboard as a dealer's role; without it the dashboard uses the pipeline's database
  (DATABASE_URL or the embedded one).
Pages never narrow what a role may see in Python: every filter is a parameter of the SQL that
runs as that role. What the dashboard writes about a person (the audit log) it writes as
itself, naming the person: their role may only read.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pandas as pd
import sqlalchemy as sa
import streamlit as st
from psycopg.types.numeric import FloatLoader
from sqlalchemy.engine import Connection, Engine

from dealer360 import access, db
from dealer360.settings import sign_in_configured

# st.session_state key of the signed-in person (an access.Person), set by sign_in.gate().
VIEWER = "dealer360_viewer"
F = TypeVar("F", bound=Callable)


def _numerics_as_floats(dbapi_connection, _record) -> None:
    """numeric columns (money) arrive as floats, not Decimal objects: the pages only chart and
    format them, and converting them afterwards took 8 % of a profile's server time under
    load, more than executing its queries (py-spy, benchmarks/dashboard_load.py)."""
    dbapi_connection.adapters.register_loader("numeric", FloatLoader)


@st.cache_resource(show_spinner=False)
def _engine(dashboard_url: str | None, database_url: str | None, home: str | None) -> Engine:
    # The environment is the key: a test or an operator pointing at another database gets
    # another engine, never a pooled connection to the previous one. The dashboard's own
    # engine (not `db.get_engine`'s shared one), so its float numerics stay in the dashboard.
    url = db.normalize_url(dashboard_url) if dashboard_url else db.database_url()
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    sa.event.listen(engine, "connect", _numerics_as_floats)
    return engine


def engine() -> Engine:
    return _engine(
        os.environ.get("DEALER360_DASHBOARD_URL"),
        os.environ.get("DATABASE_URL"),
        os.environ.get("DEALER360_HOME"),
    )


def viewer() -> access.Person | None:
    """The signed-in person of this session; None when sign-in is off.

    With sign-in on, a query asked for before `sign_in.gate()` said who is looking is a bug,
    and fails rather than run as the pipeline."""
    if not sign_in_configured():
        return None
    person = st.session_state.get(VIEWER)
    if person is None:
        raise RuntimeError("A query ran before sign-in said who is looking.")
    return person


def actor() -> str | None:
    """Whom the audit log names for this session: the signed-in person, else (None) the
    database role."""
    person = viewer()
    return None if person is None else person.email


@contextmanager
def as_viewer(read_only: bool = True) -> Iterator[Connection]:
    """A transaction that runs as the signed-in person's role (the connection's own role when
    sign-in is off); committed, or rolled back, back to the pipeline's."""
    with engine().begin() as conn:
        person = viewer()
        if person is not None:
            access.become(conn, person, read_only=read_only)
        yield conn


def cached(ttl: int) -> Callable[[F], F]:
    """`st.cache_data` for a query whose rows depend on who asks: the result is cached per
    role, so one person's rows are never served to another from the cache."""

    def decorate(func: F) -> F:
        def by_role(role: str | None, /, *args, **kwargs):
            return func(*args, **kwargs)

        # Streamlit keys a cache by module, qualified name and source: the function's own.
        by_role.__module__, by_role.__qualname__ = func.__module__, func.__qualname__
        results = st.cache_data(ttl=ttl, show_spinner=False)(by_role)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            person = viewer()
            return results(None if person is None else person.role, *args, **kwargs)

        wrapper.clear = results.clear
        return wrapper  # type: ignore[return-value]

    return decorate


def read(sql: str, **params) -> pd.DataFrame:
    """Run one parameterized query (never string-formatted SQL) and return its rows."""
    with as_viewer() as conn:
        return pd.read_sql_query(sa.text(sql), conn, params=params)


def read_row(sql: str, **params) -> dict | None:
    """Run one parameterized query and return its first row as a dict (None when it has none),
    without building a DataFrame: for the one-row reads every profile makes."""
    with as_viewer() as conn:
        row = conn.execute(sa.text(sql), params).mappings().first()
    return None if row is None else dict(row)


def _has_privilege(conn: Connection, privilege: str, table: str) -> bool:
    return bool(
        conn.scalar(
            sa.text("select has_table_privilege(to_regclass(:t), :p)"),
            {"t": table, "p": privilege},
        )
    )


def can(privilege: str, table: str) -> bool:
    """Whether the viewer's role holds `privilege` on `table`.

    Not a filter: PostgreSQL decides what a role sees. Pages ask only to say why a part is
    missing ("needs the pipeline's role") instead of failing on "permission denied".
    """
    with as_viewer() as conn:
        return _has_privilege(conn, privilege, table)


def can_audit() -> bool:
    """Whether downloads can be audited: the dashboard writes the audit row as itself, naming
    the signed-in person; without sign-in, its role must be allowed to."""
    with engine().connect() as conn:
        return _has_privilege(conn, "insert", "raw.audit_log")


def explain_limited_role(what: str) -> None:
    """One sentence for a part of a page that the viewer's role may not read."""
    person = viewer()
    if person is not None:
        st.info(
            f"{what} needs the group's access: you are signed in as {person.email}, who sees "
            f"{person.sees}."
        )
        return
    with engine().connect() as conn:
        role = conn.scalar(sa.text("select current_user"))
    st.info(
        f"{what} needs the pipeline's role: this dashboard connects as `{role}`, which "
        "row-level security limits to one dealer's or one brand's data "
        "(see Access in the README)."
    )
