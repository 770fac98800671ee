"""The dealer360 dashboard: `dealer360 dashboard` serves this file with Streamlit.

One file per page in `views/`. Not `pages/`: Streamlit still treats a `pages/` folder beside
the main script as a v1 multipage app until `st.navigation` has run once in the process, so
the first visitor after a restart who opens a shared link (`/profile?customer_id=…`) would get
the file-name sidebar and none of this file's settings.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import queries

VIEWS = Path(__file__).parent / "views"

st.set_page_config(page_title="dealer360", page_icon="🚗", layout="wide")

navigation = st.navigation(
    {
        "Customers": [
            st.Page(
                VIEWS / "search.py",
                title="Find a customer",
                icon=":material/person_search:",
                default=True,  # served at "/": the default page has no path of its own
            ),
            st.Page(
                VIEWS / "profile.py",
                title="Customer profile",
                icon=":material/person:",
                url_path="profile",
            ),
        ],
        "Marketing": [
            st.Page(
                VIEWS / "opportunities.py",
                title="Opportunities",
                icon=":material/campaign:",
                url_path="opportunities",
            ),
            st.Page(
                VIEWS / "brand_ladder.py",
                title="Brand ladder",
                icon=":material/stairs:",
                url_path="brand-ladder",
            ),
        ],
        "Operations": [
            st.Page(
                VIEWS / "review.py",
                title="Identity review",
                icon=":material/join_inner:",
                url_path="review",
            ),
            st.Page(
                VIEWS / "health.py",
                title="Data health",
                icon=":material/monitor_heart:",
                url_path="health",
            ),
        ],
    }
)
if navigation.url_path != "health" and not queries.marts_ready():
    st.title(navigation.title)
    st.info(
        "dealer360 has no customers yet: run `dealer360 run --inbox DIR` to land your exports, "
        "resolve identities and build the customer views. Data health shows what has landed."
    )
    st.page_link("views/health.py", label="Data health", icon=":material/monitor_heart:")
    st.stop()
navigation.run()
