"""The dealer360 dashboard: `dealer360 dashboard` serves this file with Streamlit.

One file per page in `views/`; `dashboard/pages.py` names them. Before any page runs,
`sign_in.gate()` decides who is looking (and draws sign-out, or the sign-in-is-off notice).
"""

from __future__ import annotations

import streamlit as st

from dashboard import pages, queries, sign_in

st.set_page_config(page_title="dealer360", page_icon="🚗", layout="wide")
sign_in.gate()

navigation = st.navigation(pages.navigation())
if navigation.url_path == "" and "customer_id" in st.query_params:
    # The dashboard's own address with `?customer_id=` is a shared profile (outputs contract).
    st.switch_page(pages.link("profile"), query_params=st.query_params.to_dict())
if navigation.url_path != "health" and not queries.marts_ready():
    st.title(navigation.title)
    st.info(
        "dealer360 has no customers yet: run `dealer360 run --inbox DIR` to land your exports, "
        "resolve identities and build the customer views. Data health shows what has landed."
    )
    st.page_link(pages.link("health"), label="Data health", icon=":material/monitor_heart:")
    st.stop()
navigation.run()
