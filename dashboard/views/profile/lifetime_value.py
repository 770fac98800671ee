"""Lifetime value panel: what the customer spent, per year and per dealer and make."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import format as fmt
from dashboard import queries

VALUE_CATEGORIES = {
    ("sale", None): "Vehicle purchases",
    ("service", "customer"): "Service (customer pay)",
    ("service", "warranty"): "Warranty (paid by the maker)",
    ("service", "internal"): "Internal",
    ("service", None): "Service (pay type unknown)",
}


def lifetime_value(customer_id: str, timeline: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    split = queries.value_by_dealer_brand(customer_id)
    if split.empty and timeline["amount"].isna().all():
        st.info("This customer has no purchase or repair order yet.")
        return
    spent = timeline.dropna(subset=["amount"])
    spent = spent[spent["event_type"].isin(["sale", "service"])]
    if not spent.empty:
        _by_year(spent)
    if not split.empty:
        _by_dealer_and_make(split, dealer_names)


def _by_year(spent: pd.DataFrame) -> None:
    categories = [
        VALUE_CATEGORIES.get(
            (kind, None if kind == "sale" else pay), VALUE_CATEGORIES[(kind, None)]
        )
        for kind, pay in zip(spent["event_type"], spent["pay_type"], strict=True)
    ]
    by_year = (
        spent.assign(
            year=pd.to_datetime(spent["event_date"]).dt.year.astype(str), category=categories
        )
        .groupby(["year", "category"], as_index=False)["amount"]
        .sum()
    )
    bars = go.Figure(
        [
            go.Bar(
                x=rows["year"],
                y=rows["amount"],
                name=category,
                hovertemplate=f"%{{x}}: {fmt.PLOTLY_MONEY_HOVER}<extra></extra>",
            )
            for category in dict.fromkeys(VALUE_CATEGORIES.values())
            if not (rows := by_year[by_year["category"] == category]).empty
        ]
    )
    bars.update_yaxes(tickprefix="$", tickformat=fmt.PLOTLY_MONEY, title_text="CAD")
    bars.update_xaxes(type="category", categoryorder="category ascending")
    bars.update_layout(barmode="stack", height=320)
    bars.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0})
    st.markdown("**Spending per year**")
    st.plotly_chart(bars, key="value-by-year")
    st.caption(
        "Lifetime value counts vehicle purchases and customer-pay service; warranty and "
        "internal work are shown apart because the customer did not pay for them."
    )


def _by_dealer_and_make(split: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    st.markdown("**By dealer and make**")
    st.dataframe(
        split.assign(where=split["dealer_code"].map(lambda c: fmt.dealer(c, dealer_names)))[
            [
                "where",
                "brand",
                "sales_amount",
                "service_amount",
                "warranty_amount",
                "purchase_count",
                "service_visit_count",
                "last_transaction_date",
            ]
        ],
        hide_index=True,
        column_config={
            "where": "Dealer",
            "brand": "Make",
            "sales_amount": fmt.money_column("Purchases"),
            "service_amount": fmt.money_column("Service (customer pay)"),
            "warranty_amount": fmt.money_column("Warranty"),
            "purchase_count": fmt.count_column("Deals"),
            "service_visit_count": fmt.count_column("Repair orders"),
            "last_transaction_date": fmt.date_column("Last transaction"),
        },
    )
