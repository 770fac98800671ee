"""Garage panel: every vehicle owned, now and before, with its service visits and odometer."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import format as fmt
from dashboard import queries


def garage(customer_id: str, timeline: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    vehicles = queries.garage(customer_id)
    if vehicles.empty:
        st.info(
            "No vehicle with a valid VIN is on record for this customer "
            "(leads and service on untracked VINs still show in the timeline)."
        )
    for current, title in ((True, "Owned now"), (False, "Owned before")):
        group = vehicles[vehicles["owned_to"].isna() == current]
        if group.empty:
            continue
        st.markdown(f"#### {title}")
        for car in group.itertuples(index=False):
            # the visits of this ownership period, as marts.customer_events assigns them
            visits = timeline[timeline["ownership_id"] == car.ownership_id]
            with st.container(border=True):
                _vehicle(car, visits, dealer_names)


def _vehicle(car, visits: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    info_col, chart_col = st.columns([2, 3])
    info_col.markdown(f"**{fmt.vehicle(car.model_year, car.make, car.model)}**")
    info_col.caption(f"VIN {car.vin}")
    ended = (
        f", {fmt.label(fmt.ENDED_LABELS, car.ended_by)}" if not fmt.is_missing(car.ended_by) else ""
    )
    info_col.markdown(
        f"{fmt.label(fmt.ACQUIRED_LABELS, car.acquired_as)} · "
        f"{fmt.period(car.owned_from, car.owned_to)}{ended}"
    )
    info_col.markdown(
        f"{fmt.count(car.service_visit_count, 'service visit')} · "
        f"{fmt.money(car.service_billed_amount)} billed"
        if car.service_visit_count
        else "No service visit on record while owned."
    )
    readings = visits.dropna(subset=["mileage"])
    if len(readings) >= 2:
        # One chart per vehicle, so a fleet shows dozens: graph_objects builds one in ~3 ms
        # of CPU where Plotly Express takes ~40 ms, and the server's one Python process is
        # what 20 concurrent users wait for (benchmarks/dashboard_load.py).
        trend = go.Figure(
            go.Scatter(
                x=pd.to_datetime(readings["event_date"]),
                y=readings["mileage"],
                mode="lines+markers",
                hovertemplate="%{x|%b %-d, %Y}: %{y:,} km<extra></extra>",
            ),
            layout={
                "height": 180,
                "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
                "yaxis": {"title": {"text": "Odometer (km)"}, "tickformat": ","},
            },
        )
        chart_col.plotly_chart(trend, key=f"mileage-{car.ownership_id}")
    elif len(readings) == 1:
        chart_col.caption(
            f"One odometer reading: {int(readings.iloc[0]['mileage']):,} km "
            f"on {fmt.day(readings.iloc[0]['event_date'])}."
        )
    if not visits.empty:
        with st.expander("Service history"):
            st.dataframe(
                visits.assign(
                    event_date=pd.to_datetime(visits["event_date"]),
                    where=visits["dealer_code"].map(lambda c: fmt.dealer(c, dealer_names)),
                )[["event_date", "where", "description", "mileage", "amount"]],
                hide_index=True,
                column_config={
                    "event_date": fmt.date_column("Date"),
                    "where": "Dealer",
                    "description": fmt.text_column("Work"),
                    "mileage": st.column_config.NumberColumn("Odometer (km)", format="%,d"),
                    "amount": fmt.money_column("Amount (CAD)"),
                },
            )
