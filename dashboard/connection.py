"""The dashboard's one connection to the database, shared by every page and session.

The connection's role decides what a viewer may see (row-level security in PostgreSQL):
`DEALER360_DASHBOARD_URL` lets an operator run a dashboard as a dealer's role; without it the
dashboard uses the pipeline's database (DATABASE_URL or the embedded one). Pages never narrow
what a role may see in Python: every filter is a parameter of the SQL that runs as that role.
"""

from __future__ import annotations

import os
from decimal import Decimal

import pandas as pd
import sqlalchemy as sa
import streamlit as st
from sqlalchemy.engine import Connection, Engine

from dealer360 import db


@st.cache_resource(show_spinner=False)
def _engine(dashboard_url: str | None, database_url: str | None, home: str | None) -> Engine:
    # The environment is the key: a test or an operator pointing at another database gets
    # another engine, never a pooled connection to the previous one.
    return db.get_engine(dashboard_url) if dashboard_url else db.get_engine()


def engine() -> Engine:
    return _engine(
        os.environ.get("DEALER360_DASHBOARD_URL"),
        os.environ.get("DATABASE_URL"),
        os.environ.get("DEALER360_HOME"),
    )


def _numbers_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    """numeric columns arrive as Decimal objects; charts and number columns want floats."""
    for column in frame.select_dtypes(include="object").columns:
        first = frame[column].dropna()
        if not first.empty and isinstance(first.iloc[0], Decimal):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def frame(conn: Connection, sql: str, params: dict) -> pd.DataFrame:
    """One parameterized query on an open connection (never string-formatted SQL)."""
    return _numbers_as_floats(pd.read_sql_query(sa.text(sql), conn, params=params))


def read(sql: str, **params) -> pd.DataFrame:
    """Run one parameterized query and return its rows."""
    with engine().connect() as conn:
        return frame(conn, sql, params)


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
