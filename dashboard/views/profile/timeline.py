"""The customer's journey: every event on one chart, and all of them in a table."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import format as fmt

EVENT_ORDER = ["Sale", "Registration", "Transfer", "Service", "Lead"]


def timeline(events: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    st.subheader("Timeline")
    if events.empty:
        st.info("No sale, service visit, registration or lead is attached to this customer yet.")
        return
    shown = events.assign(
        event=events["event_type"].map(lambda t: fmt.label(fmt.EVENT_LABELS, t)),
        brand=events["brand"].fillna("Unknown make"),
        when=events["event_date"].map(fmt.day),
        where=events["dealer_code"].map(lambda c: fmt.dealer(c, dealer_names)),
        amount_text=events["amount"].map(fmt.money),
        vin_text=events["vin"].fillna("—"),
        event_date=pd.to_datetime(events["event_date"]),
    )
    # graph_objects, not Plotly Express: Express spends ~40 ms building each figure, which
    # under 20 concurrent users is most of a profile's time (benchmarks/dashboard_load.py).
    figure = go.Figure()
    for brand, rows in shown.groupby("brand", sort=True):
        figure.add_trace(
            go.Scatter(
                x=rows["event_date"],
                y=rows["event"],
                mode="markers",
                name=brand,
                customdata=rows[["when", "description", "where", "amount_text", "vin_text"]],
                marker={"size": 12, "opacity": 0.85, "line": {"width": 1, "color": "white"}},
                hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]}"
                "<br>Amount: %{customdata[3]}<br>VIN: %{customdata[4]}<extra></extra>",
            )
        )
    figure.update_layout(
        height=300,
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        legend_title_text="Make",
        yaxis={
            "categoryorder": "array",
            "categoryarray": [e for e in EVENT_ORDER if e in set(shown["event"])][::-1],
        },
    )
    st.plotly_chart(figure, key="timeline")
    with st.expander(f"All {len(events)} events"):
        st.dataframe(
            shown[["event_date", "event", "brand", "where", "description", "amount", "vin"]],
            hide_index=True,
            column_config={
                "event_date": fmt.date_column("Date"),
                "event": "Event",
                "brand": "Make",
                "where": "Dealer",
                "description": fmt.text_column("What happened"),
                "amount": fmt.money_column("Amount (CAD)"),
                "vin": "VIN",
            },
        )
