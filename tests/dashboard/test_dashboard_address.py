"""The dashboard's own address, as `dealer360 dashboard` prints it, with `?customer_id=`:
the outputs contract promises that it opens that customer's profile."""

from __future__ import annotations

import streamlit as st
from dashboard_apptest import APP
from dashboard_scenario import Scenario
from streamlit.testing.v1 import AppTest


def open_address(**query: str) -> AppTest:
    """Run the app as a browser opening `/` with these query parameters (no page chosen)."""
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_address_with_a_customer_id_opens_that_profile(dashboard_env: Scenario):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    at = open_address(customer_id=gisele)
    assert at.title[0].value == "Gisèle Thibodeau"
    assert at.query_params["customer_id"] == gisele


def test_the_address_with_a_customer_id_keeps_the_chosen_section(dashboard_env: Scenario):
    gisele = dashboard_env.customer_of(dashboard_env.gisele)
    at = open_address(customer_id=gisele, section="Lifetime value")
    assert "Spending per year" in " ".join(m.value for m in at.markdown)


def test_the_address_without_a_customer_id_is_still_the_search(dashboard_env: Scenario):
    assert open_address().title[0].value == "Find a customer"


def test_before_the_first_run_the_address_with_a_customer_id_is_the_profile(database_url):
    at = open_address(customer_id="C000000001")
    assert at.title[0].value == "Customer profile"
    assert "dealer360 run" in " ".join(i.value for i in at.info)
