"""The dealer360 dashboard: `dealer360 dashboard` serves this file with Streamlit."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="dealer360", page_icon="🚗", layout="wide")

navigation = st.navigation(
    {
        "Operations": [
            st.Page(
                PAGES / "health.py", title="Data health", icon="🩺", url_path="health", default=True
            ),
        ],
    }
)
navigation.run()
