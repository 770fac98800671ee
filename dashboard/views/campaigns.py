"""Campaigns: did a list work? Each audited audience export with its targets and its
held-out controls, how many of each bought, serviced or enquired at the sender within 90
days, and the lift with its 95 % interval (marts.campaign_results)."""

from __future__ import annotations

import streamlit as st

from dashboard import connection, queries

st.title("Campaigns")
st.caption(
    "Every campaign list exported with `dealer360 export audience` or downloaded here is "
    "recorded with its members. With `--control-share` a random share of the list is held "
    "out and not contacted; a customer responded when they bought, had a repair order or "
    "made an inquiry at the sender within 90 days after the export. Lift is the targets' "
    "response rate minus the controls'; it is only known when there were controls."
)

if not connection.can("select", "marts.campaign_results"):
    connection.explain_limited_role("Campaign results")
    st.stop()

results = queries.campaign_results()
if results.empty:
    st.info(
        "No campaign list has been exported yet: `dealer360 export audience --dealer CODE "
        "--out FILE --control-share 0.1` exports one with a control group."
    )
    st.stop()

percent = st.column_config.NumberColumn(format="percent")
st.dataframe(
    results,
    hide_index=True,
    column_config={
        "export_id": st.column_config.NumberColumn("Export", format="%d"),
        "exported_at": st.column_config.DatetimeColumn("Exported", format="MMM D, YYYY HH:mm"),
        "sender": st.column_config.TextColumn("Sender"),
        "channel": st.column_config.TextColumn("Channel"),
        "targets": st.column_config.NumberColumn("Targets"),
        "controls": st.column_config.NumberColumn("Controls"),
        "target_responders": st.column_config.NumberColumn("Targets who responded"),
        "control_responders": st.column_config.NumberColumn("Controls who responded"),
        "target_response_rate": st.column_config.NumberColumn("Target rate", format="percent"),
        "control_response_rate": st.column_config.NumberColumn("Control rate", format="percent"),
        "lift": st.column_config.NumberColumn("Lift", format="percent"),
        "lift_low": st.column_config.NumberColumn("Lift, 95 % low", format="percent"),
        "lift_high": st.column_config.NumberColumn("Lift, 95 % high", format="percent"),
        "response_window_ends_on": st.column_config.DateColumn("Window ends"),
    },
)
