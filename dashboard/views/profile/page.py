"""Customer profile: everything dealer360 knows about one person, and why.

`?customer_id=C000000123` opens a profile, so a link can be shared. The page reads the
customer, draws the header, golden record and timeline, then the open tab's panel; each
part is a module of this package.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import connection, pages, queries
from dashboard import format as fmt
from dashboard.views.profile.garage import garage
from dashboard.views.profile.golden_record import overview
from dashboard.views.profile.header import header
from dashboard.views.profile.identity import why_one_person
from dashboard.views.profile.lifetime_value import lifetime_value
from dashboard.views.profile.opportunities import opportunities
from dashboard.views.profile.timeline import timeline

# The tabs, in order; each panel draws from (customer_id, timeline, dealer_names).
PANELS = {
    "Garage": garage,
    "Lifetime value": lifetime_value,
    "Opportunities": opportunities,
    "Why one person": why_one_person,
}


def ask_for_a_customer(message: str) -> None:
    st.info(message)
    st.page_link(pages.link("search"), label="Find a customer", icon=":material/person_search:")
    st.stop()


@st.fragment
def panels(customer_id: str, timeline: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    """Only the open tab's panel runs (st.tabs alone computes every panel and hides all but
    one in the browser; a fleet's garage draws dozens of charts). Switching tabs reruns this
    fragment, not the page, and `?section=` in the URL keeps the open tab when a link is
    shared."""
    tabs = st.tabs(list(PANELS), key="section", bind="query-params")
    for tab, draw in zip(tabs, PANELS.values(), strict=True):
        if tab.open:
            with tab:
                draw(customer_id, timeline, dealer_names)


customer_id = (st.query_params.get("customer_id") or "").strip().upper()
if not customer_id:
    st.title("Customer profile")
    ask_for_a_customer("Search for a customer by name, phone, e-mail or VIN, then open a profile.")

golden = queries.customer(customer_id)
if golden is None:
    st.title("Customer profile")
    # Where an ID went is identity data: a manufacturer's role may not read it.
    successor = (
        queries.customer_successor(customer_id)
        if connection.can("select", "resolve.customer_id_history")
        else None
    )
    if successor is not None:
        st.info(
            f"Customer {customer_id} no longer exists: its records now belong to another "
            f"customer ({successor['reason']} on {fmt.day(successor['changed_at'])}), because "
            "identity resolution found they are the same person."
        )
        st.page_link(
            pages.link("profile"),
            label="Open the current profile",
            icon=":material/person:",
            query_params={"customer_id": successor["new_customer_id"]},
        )
        st.stop()
    ask_for_a_customer(
        f"There is no customer {customer_id}, or you may not see it. "
        "Search again by name, phone, e-mail or VIN."
    )

dealer_names = queries.dealer_names()
events = queries.events(customer_id)
name = fmt.person_name(golden["first_name"], golden["last_name"], golden["company_name"])

header(customer_id, golden, name, dealer_names)
overview(customer_id, golden, events)
timeline(events, dealer_names)
panels(customer_id, events, dealer_names)
