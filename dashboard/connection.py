"""The dashboard's one connection to the database, shared by every page and session.

The connection's role decides what a viewer may see (row-level security in PostgreSQL):
`DEALER360_DASHBOARD_URL` lets an operator run a dashboard as a dealer's role; without it the
dashboard uses the pipeline's database (DATABASE_URL or the embedded one). Pages never narrow
what a role may see in Python: every filter is a parameter of the SQL that runs as that role.
"""

from __future__ import annotations

import os

import pandas as pd
import sqlalchemy as sa
import streamlit as st
from psycopg.types.numeric import FloatLoader
from sqlalchemy.engine import Engine

from dealer360 import db


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


def read(sql: str, **params) -> pd.DataFrame:
    """Run one parameterized query (never string-formatted SQL) and return its rows."""
    with engine().connect() as conn:
        return pd.read_sql_query(sa.text(sql), conn, params=params)


def read_row(sql: str, **params) -> dict | None:
    """Run one parameterized query and return its first row as a dict (None when it has none),
    without building a DataFrame: for the one-row reads every profile makes."""
    with engine().connect() as conn:
        row = conn.execute(sa.text(sql), params).mappings().first()
    return None if row is None else dict(row)


def can(privilege: str, table: str) -> bool:
    """Whether the connection's role holds `privilege` on `table`.

    Not a filter: PostgreSQL decides what a role sees. Pages ask only to say why a part is
    missing ("needs the pipeline's role") instead of failing on "permission denied".
    """
    with engine().connect() as conn:
        return bool(
            conn.scalar(
                sa.text("select has_table_privilege(to_regclass(:t), :p)"),
                {"t": table, "p": privilege},
            )
        )


def explain_limited_role(what: str) -> None:
    """One sentence for a part of a page that the connection's role may not read."""
    with engine().connect() as conn:
        role = conn.scalar(sa.text("select current_user"))
    st.info(
        f"{what} needs the pipeline's role: this dashboard connects as `{role}`, which "
        "row-level security limits to one dealer's or one brand's data "
        "(see Access in the README)."
    )


def execute(sql: str, **params) -> None:
    """Run one parameterized write in its own transaction."""
    with engine().begin() as conn:
        conn.execute(sa.text(sql), params)
