"""The dashboard's one connection to the database, shared by every page and session.

The connection's role decides what a viewer may see (row-level security in PostgreSQL):
`DEALER360_DASHBOARD_URL` lets an operator run a dashboard as a dealer's role; without it the
dashboard uses the pipeline's database (DATABASE_URL or the embedded one).
"""

from __future__ import annotations

import os

import pandas as pd
import sqlalchemy as sa
import streamlit as st
from sqlalchemy.engine import Engine

from dealer360 import db


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    url = os.environ.get("DEALER360_DASHBOARD_URL")
    return db.get_engine(url) if url else db.get_engine()


def read(sql: str, **params) -> pd.DataFrame:
    """Run one parameterized query and return its rows (never string-formatted SQL)."""
    with engine().connect() as conn:
        return pd.read_sql_query(sa.text(sql), conn, params=params)
