"""Widgets that keep their choice in the page's address, so a view can be shared as a link."""

from __future__ import annotations

import streamlit as st


def dealer_picker(labels: dict[str, str], key: str | None = None) -> str:
    """A rooftop picker (`labels`: dealer code → what to show) that starts at `?dealer=` when
    the address names one of them and writes the choice back there."""
    codes = list(labels)
    requested = st.query_params.get("dealer")
    dealer_code = st.selectbox(
        "Dealer",
        codes,
        index=codes.index(requested) if requested in codes else 0,
        format_func=labels.get,
        key=key,
    )
    st.query_params["dealer"] = dealer_code
    return dealer_code
