"""Opportunities panel: the customer's open sales and service opportunities."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import format as fmt
from dashboard import queries


def opportunities(customer_id: str, timeline: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    found = queries.opportunities(customer_id)
    in_market, ladder, lapsed = (
        found["in_market"],
        found["brand_ladder"],
        found["service_defection"],
    )
    if in_market.empty and ladder.empty and lapsed.empty:
        st.info("No open opportunity: this customer is not in market, on a ladder step or lapsed.")
    if not in_market.empty:
        st.markdown("**In market**")
        for row in in_market.itertuples(index=False):
            with st.container(border=True):
                score_col, text_col = st.columns([1, 5])
                score_col.metric("Score", f"{int(row.score)}/100")
                text_col.markdown(
                    f"**{fmt.dealer(row.dealer_code, dealer_names)}** — {row.drivers}"
                )
                text_col.caption(f"Next best action: {row.next_best_action}")
    if not ladder.empty:
        st.markdown("**Brand ladder**")
        for row in ladder.itertuples(index=False):
            with st.container(border=True):
                score_col, text_col = st.columns([1, 5])
                score_col.metric("Score", f"{int(row.score)}/100")
                text_col.markdown(
                    f"**{row.current_brand} → {row.target_brand}** ({row.manufacturer_group})"
                )
                text_col.caption(row.reasons)
    if not lapsed.empty:
        st.markdown("**Stopped coming for service**")
        for row in lapsed.itertuples(index=False):
            st.markdown(f"- **{fmt.vehicle(row.model_year, row.make, row.model)}**: {row.reasons}")
