"""Find a customer: one box for a name, a phone, an e-mail or a VIN."""

from __future__ import annotations

import streamlit as st

from dashboard import format as fmt
from dashboard import lookup, pages, queries

st.title("Find a customer")
st.caption(
    "Type a name (accents and typos are fine), a phone in any format, an e-mail or a VIN. "
    "Open a profile to see everything about that person."
)

text = st.text_input(
    "Search",
    value=st.query_params.get("q", ""),
    placeholder="Marie Côté · (514) 555-0199 · marie@example.com · 2T3R1RFV8MW123456",
    label_visibility="collapsed",
    key="search_text",
)
search = lookup.parse(text)
if search.kind == "empty":
    st.query_params.pop("q", None)
    st.info("Start typing to search every customer of the dealer group.")
    st.stop()

st.query_params["q"] = text
results = queries.search_customers(search.kind, search.value)
if results.empty:
    st.warning(
        f"No customer matches the {search.described}. Check the spelling, try the last "
        "name alone, or search by phone, e-mail or VIN instead."
    )
    st.stop()

many = len(results) >= queries.SEARCH_LIMIT
st.caption(
    f"{'Best ' if many else ''}{len(results)} customer{'s' if len(results) != 1 else ''} "
    f"matching the {search.described}"
    + (" — add a first name or a city to narrow it down." if many else ".")
)

# Each result is a card of three elements (the profile link and two lines of facts): every
# element costs the one server process time, and twenty cards of a dozen elements each were
# most of a search's time under 20 concurrent users (benchmarks/dashboard_load.py).
for row in results.itertuples(index=False):
    with st.container(border=True):
        name = fmt.person_name(row.first_name, row.last_name, row.company_name)
        st.page_link(
            pages.link("profile"),
            label=f"**{fmt.literal(name)}**",
            icon=":material/person:",
            query_params={"customer_id": row.customer_id},
        )
        matched = (
            f"name {row.match_score:.0%} similar" if row.matched_on == "name" else row.matched_on
        )
        facts = [
            " · ".join(p for p in (row.city, row.region) if not fmt.is_missing(p)) or "No address",
            fmt.phone(row.phone),
            row.vehicles if not fmt.is_missing(row.vehicles) else "No vehicle owned now",
            f"Home dealer: {row.home_dealer_name}"
            if not fmt.is_missing(row.home_dealer_name)
            else "No home dealer",
        ]
        context = [
            f"Matched on {matched}",
            fmt.label(fmt.CONSENT_LABELS, row.marketing_consent),
            f"Last seen {fmt.day(row.last_seen_date)}",
            f"Customer since {fmt.day(row.first_seen_date)}",
        ]
        st.markdown(
            " · ".join(fmt.literal(fact) for fact in facts if fact and fact != "—")
            + "  \n:small[:gray["
            + fmt.literal(" · ".join(context))
            + "]]"
        )
