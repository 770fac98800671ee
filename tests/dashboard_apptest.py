"""Opening dashboard pages with Streamlit's AppTest, shared by the tests that do."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import streamlit as st
from streamlit.testing.v1 import AppTest

import dashboard
from dashboard import pages

APP = Path(dashboard.__file__).with_name("app.py")


def open_page(page: pages.Name, **query: str) -> AppTest:
    """Run the page `page` (its file in `views/`) with these query parameters; fail on an
    error box."""
    st.cache_data.clear()  # results are cached for a minute; a test wants what it just wrote
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    # Before its first run AppTest knows a page by its file name only, which is not the
    # address of a page with its own url_path (brand-ladder, service-lane): run once first.
    at.run()
    at.switch_page(str(pages.script(page).relative_to(APP.parent)))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def profile_links(at: AppTest) -> list[str]:
    """Customer IDs of the profile links on the page, in order."""
    return [
        parse_qs(link.proto.query_string)["customer_id"][0]
        for link in at.get("page_link")
        if "customer_id" in link.proto.query_string
    ]
