"""The profile's title, who the customer is in one line, and their key numbers."""

from __future__ import annotations

import streamlit as st

from dashboard import format as fmt


def header(customer_id: str, golden: dict, name: str, dealer_names: dict[str, str]) -> None:
    st.title(name)
    st.caption(
        " · ".join(
            part
            for part in (
                "Business customer" if golden["is_business"] else None,
                f"Customer since {fmt.day(golden['first_seen_date'])}",
                f"home dealer {fmt.dealer(golden['home_dealer_code'], dealer_names)}"
                if not fmt.is_missing(golden["home_dealer_code"])
                else None,
                f"ID {customer_id}",
            )
            if part
        )
    )

    lifetime = golden["lifetime_sales_amount"] + golden["lifetime_service_amount"]
    metrics = st.columns(5)
    metrics[0].metric(
        "Lifetime value",
        fmt.money(lifetime),
        help="Vehicle purchases plus customer-pay service, in Canadian dollars.",
    )
    metrics[1].metric(
        "Vehicle purchases",
        fmt.money(golden["lifetime_sales_amount"]),
        help=fmt.count(golden["purchase_count"], "deal"),
    )
    metrics[2].metric(
        "Service (customer pay)",
        fmt.money(golden["lifetime_service_amount"]),
        help=f"{fmt.count(golden['service_visit_count'], 'repair order')}, every pay type",
    )
    metrics[3].metric(
        "Vehicles owned now",
        f"{int(golden['vehicles_currently_owned_count'])}",
        help=f"{int(golden['vehicles_owned_count'])} owned over time",
    )
    metrics[4].metric("Last seen", fmt.day(golden["last_seen_date"]))
