"""Customer profile: everything dealer360 knows about one person, and why.

`?customer_id=C000000123` opens a profile, so a link can be shared.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import connection, pages, queries
from dashboard import format as fmt

EVENT_ORDER = ["Sale", "Registration", "Transfer", "Service", "Lead"]
VALUE_CATEGORIES = {
    ("sale", None): "Vehicle purchases",
    ("service", "customer"): "Service (customer pay)",
    ("service", "warranty"): "Warranty (paid by the maker)",
    ("service", "internal"): "Internal",
    ("service", None): "Service (pay type unknown)",
}


def ask_for_a_customer(message: str) -> None:
    st.info(message)
    st.page_link(pages.link("search"), label="Find a customer", icon=":material/person_search:")
    st.stop()


customer_id = (st.query_params.get("customer_id") or "").strip().upper()
if not customer_id:
    st.title("Customer profile")
    ask_for_a_customer("Search for a customer by name, phone, e-mail or VIN, then open a profile.")

golden = queries.customer(customer_id)
if golden is None:
    st.title("Customer profile")
    successor = queries.customer_successor(customer_id)
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
timeline = queries.events(customer_id)
name = fmt.person_name(golden["first_name"], golden["last_name"], golden["company_name"])


# The date of each of the customer's records (its first event), for saying where a field
# came from.
record_dates: dict[tuple, object] = {}
for key, when in zip(
    zip(timeline["source"], timeline["source_record_id"], strict=True),
    timeline["event_date"],
    strict=True,
):
    record_dates.setdefault(key, when)


def record_said(source: object, source_record_id: object) -> str:
    """Where a golden-record field came from: "OEM registration AUD005463004 · Mar 5, 2023"."""
    if fmt.is_missing(source):
        return "—"
    said = fmt.record(source, source_record_id)
    if (source, source_record_id) in record_dates:
        said += f" · {fmt.day(record_dates[(source, source_record_id)])}"
    return said


# --- Header -----------------------------------------------------------------------------------
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

# --- Golden record, consent, household --------------------------------------------------------
record_col, side_col = st.columns([3, 2])
with record_col:
    st.subheader("Golden record")
    address = ", ".join(
        str(p)
        for p in (golden["street"], golden["city"], golden["region"], golden["postal_code"])
        if not fmt.is_missing(p)
    )
    fields = [
        ("Name", " ".join(
            str(p) for p in (golden["first_name"], golden["last_name"]) if not fmt.is_missing(p)
        ), "name"),
        ("Company", golden["company_name"], "company_name"),
        ("E-mail", golden["email"], "email"),
        ("Phone", fmt.phone(golden["phone"]) if not fmt.is_missing(golden["phone"]) else None, "phone"),
        ("Address", address, "address"),
        ("Birth date", fmt.day(golden["birth_date"]) if not fmt.is_missing(golden["birth_date"]) else None, "birth_date"),
    ]  # fmt: skip
    st.table(
        pd.DataFrame(
            [
                {
                    "Field": field,
                    "Value": "—" if fmt.is_missing(value) else str(value),
                    "Taken from": "—"
                    if fmt.is_missing(value)
                    else record_said(
                        golden[f"{group}_source"], golden[f"{group}_source_record_id"]
                    ),
                }
                for field, value, group in fields
            ]
        ).set_index("Field"),
    )
    st.caption(
        f"Built from {int(golden['source_record_count'])} landed records; "
        "see *Why one person* below."
    )

with side_col:
    st.subheader("Consent")
    consent = golden["marketing_consent"]
    contactable = not fmt.is_missing(golden.get("consent_source"))
    badge = {"express": "green", "implied": "blue", "none": "gray", "withdrawn": "red"}.get(
        consent, "gray"
    )
    st.markdown(
        f":{badge}-badge[{fmt.label(fmt.CONSENT_LABELS, consent)}] "
        + (":green-badge[May be contacted]" if contactable else ":red-badge[Do not contact]")
    )
    consent_lines = []
    if not fmt.is_missing(golden["consent_basis"]):
        consent_lines.append(f"Basis: {fmt.label({}, golden['consent_basis'])}")
    if not fmt.is_missing(golden["consent_statement_date"]):
        consent_lines.append(f"Stated on {fmt.day(golden['consent_statement_date'])}")
    if not fmt.is_missing(golden["consent_expires_on"]):
        consent_lines.append(f"Expires on {fmt.day(golden['consent_expires_on'])}")
    if contactable:
        consent_lines.append(
            f"From {record_said(golden['consent_source'], golden['consent_source_record_id'])}"
        )
    st.markdown("  \n".join(consent_lines) or "No consent statement on record.")

    st.subheader("Household and business")
    if golden["is_business"]:
        st.markdown(f"Business account: **{golden['company_name']}**")
    members = queries.household(customer_id)
    if members.empty:
        st.caption(
            "No one else lives at this address as far as we know."
            if not golden["is_business"]
            else "Businesses are not grouped into households."
        )
    else:
        st.caption(f"Household of {len(members) + 1} at {golden['city'] or 'the same address'}:")
        for member in members.itertuples(index=False):
            st.page_link(
                pages.link("profile"),
                label=f"{fmt.person_name(member.first_name, member.last_name, member.company_name)}"
                f" · {fmt.count(member.vehicles_currently_owned_count, 'vehicle')}"
                f" · last seen {fmt.day(member.last_seen_date)}",
                icon=":material/home:",
                query_params={"customer_id": member.customer_id},
            )

# --- Timeline ---------------------------------------------------------------------------------
st.subheader("Timeline")
if timeline.empty:
    st.info("No sale, service visit, registration or lead is attached to this customer yet.")
else:
    shown = timeline.assign(
        event=timeline["event_type"].map(lambda t: fmt.label(fmt.EVENT_LABELS, t)),
        brand=timeline["brand"].fillna("Unknown make"),
        when=timeline["event_date"].map(fmt.day),
        where=timeline["dealer_code"].map(lambda c: fmt.dealer(c, dealer_names)),
        amount_text=timeline["amount"].map(fmt.money),
        vin_text=timeline["vin"].fillna("—"),
        event_date=pd.to_datetime(timeline["event_date"]),
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
    with st.expander(f"All {len(timeline)} events"):
        st.dataframe(
            shown[["event_date", "event", "brand", "where", "description", "amount", "vin"]],
            hide_index=True,
            column_config={
                "event_date": st.column_config.DateColumn("Date", format="MMM D, YYYY"),
                "event": "Event",
                "brand": "Make",
                "where": "Dealer",
                "description": st.column_config.TextColumn("What happened", width="large"),
                "amount": st.column_config.NumberColumn("Amount (CAD)", format="$%,.0f"),
                "vin": "VIN",
            },
        )


# --- Garage -----------------------------------------------------------------------------------
def garage(customer_id: str, timeline: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    """Every vehicle owned, now and before, with its service visits and odometer."""
    vehicles = queries.garage(customer_id)
    if vehicles.empty:
        st.info(
            "No vehicle with a valid VIN is on record for this customer "
            "(leads and service on untracked VINs still show in the timeline)."
        )
    service = timeline[timeline["event_type"] == "service"]
    for current, title in ((True, "Owned now"), (False, "Owned before")):
        group = vehicles[vehicles["owned_to"].isna() == current]
        if group.empty:
            continue
        st.markdown(f"#### {title}")
        for car in group.itertuples(index=False):
            visits = service[
                (service["vin"] == car.vin)
                & (pd.to_datetime(service["event_date"]) >= pd.to_datetime(car.owned_from))
                & (
                    True
                    if fmt.is_missing(car.owned_to)
                    else pd.to_datetime(service["event_date"]) <= pd.to_datetime(car.owned_to)
                )
            ]
            with st.container(border=True):
                info_col, chart_col = st.columns([2, 3])
                info_col.markdown(f"**{fmt.vehicle(car.model_year, car.make, car.model)}**")
                info_col.caption(f"VIN {car.vin}")
                ended = (
                    f", {fmt.label(fmt.ENDED_LABELS, car.ended_by)}"
                    if not fmt.is_missing(car.ended_by)
                    else ""
                )
                info_col.markdown(
                    f"{fmt.label(fmt.ACQUIRED_LABELS, car.acquired_as)} · "
                    f"{fmt.period(car.owned_from, car.owned_to)}{ended}"
                )
                info_col.markdown(
                    f"{fmt.count(len(visits), 'service visit')} · {fmt.money(visits['amount'].sum())} billed"
                    if not visits.empty
                    else "No service visit on record while owned."
                )
                readings = visits.dropna(subset=["mileage"])
                if len(readings) >= 2:
                    # One chart per vehicle, so a fleet shows dozens: graph_objects builds one
                    # in ~3 ms of CPU where Plotly Express takes ~40 ms, and the server's one
                    # Python process is what 20 concurrent users wait for
                    # (benchmarks/dashboard_load.py).
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
                                where=visits["dealer_code"].map(
                                    lambda c: fmt.dealer(c, dealer_names)
                                ),
                            )[["event_date", "where", "description", "mileage", "amount"]],
                            hide_index=True,
                            column_config={
                                "event_date": st.column_config.DateColumn(
                                    "Date", format="MMM D, YYYY"
                                ),
                                "where": "Dealer",
                                "description": st.column_config.TextColumn("Work", width="large"),
                                "mileage": st.column_config.NumberColumn(
                                    "Odometer (km)", format="%,d"
                                ),
                                "amount": st.column_config.NumberColumn(
                                    "Amount (CAD)", format="$%,.0f"
                                ),
                            },
                        )


# --- Lifetime value ---------------------------------------------------------------------------
def lifetime_value(customer_id: str, timeline: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    """What the customer spent, per year and per dealer and make."""
    split = queries.value_by_dealer_brand(customer_id)
    if split.empty and timeline["amount"].isna().all():
        st.info("This customer has no purchase or repair order yet.")
    else:
        spent = timeline.dropna(subset=["amount"])
        spent = spent[spent["event_type"].isin(["sale", "service"])]
        if not spent.empty:
            categories = [
                VALUE_CATEGORIES.get(
                    (kind, None if kind == "sale" else pay),
                    VALUE_CATEGORIES[(kind, None)],
                )
                for kind, pay in zip(spent["event_type"], spent["pay_type"], strict=True)
            ]
            by_year = (
                spent.assign(
                    year=pd.to_datetime(spent["event_date"]).dt.year.astype(str),
                    category=categories,
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
                        hovertemplate="%{x}: $%{y:,.0f}<extra></extra>",
                    )
                    for category in dict.fromkeys(VALUE_CATEGORIES.values())
                    if not (rows := by_year[by_year["category"] == category]).empty
                ]
            )
            bars.update_yaxes(tickprefix="$", tickformat=",.0f", title_text="CAD")
            bars.update_xaxes(type="category", categoryorder="category ascending")
            bars.update_layout(barmode="stack", height=320)
            bars.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0})
            st.markdown("**Spending per year**")
            st.plotly_chart(bars, key="value-by-year")
            st.caption(
                "Lifetime value counts vehicle purchases and customer-pay service; warranty and "
                "internal work are shown apart because the customer did not pay for them."
            )
        if not split.empty:
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
                    "sales_amount": st.column_config.NumberColumn("Purchases", format="$%,.0f"),
                    "service_amount": st.column_config.NumberColumn(
                        "Service (customer pay)", format="$%,.0f"
                    ),
                    "warranty_amount": st.column_config.NumberColumn("Warranty", format="$%,.0f"),
                    "purchase_count": st.column_config.NumberColumn("Deals", format="%d"),
                    "service_visit_count": st.column_config.NumberColumn(
                        "Repair orders", format="%d"
                    ),
                    "last_transaction_date": st.column_config.DateColumn(
                        "Last transaction", format="MMM D, YYYY"
                    ),
                },
            )


# --- Opportunities ----------------------------------------------------------------------------
def opportunities(customer_id: str, timeline: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    """Open sales and service opportunities for this customer."""
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


# --- Why these records are one person ---------------------------------------------------------
def why_one_person(customer_id: str, timeline: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    """The landed records that make this customer and the links that join them."""
    if not connection.can("select", "resolve.customer_source_map"):
        connection.explain_limited_role("Which records make this customer")
        return
    found = queries.identity(customer_id)
    records, links = found["records"], found["links"]
    if records.empty:
        st.info("The identity layer has no record for this customer; run the pipeline again.")
    else:
        st.markdown(
            f"This customer gathers **{fmt.count(len(records), 'landed record')}** from "
            f"{fmt.count(records['source'].nunique(), 'source')}. "
            "Values are shown as the matcher compared them (lower case, unaccented)."
        )
        st.dataframe(
            records.assign(
                record=[
                    fmt.record(s, r)
                    for s, r in zip(records["source"], records["source_record_id"], strict=True)
                ],
                record_date=pd.to_datetime(records["record_date"]),
                name=[
                    fmt.person_name(f, lst, c)
                    for f, lst, c in zip(
                        records["first_name"], records["last_name"], records["company"], strict=True
                    )
                ],
            ).fillna(
                {c: "—" for c in ("dealer_name", "phone", "email", "street", "postal_code", "vin")}
            )[
                [
                    "record",
                    "record_date",
                    "dealer_name",
                    "name",
                    "phone",
                    "email",
                    "street",
                    "postal_code",
                    "vin",
                    "match_probability",
                ]
            ],
            hide_index=True,
            column_config={
                "record": st.column_config.TextColumn("Record", width="medium"),
                "record_date": st.column_config.DateColumn("Date", format="MMM D, YYYY"),
                "dealer_name": "Dealer",
                "name": "Name",
                "phone": "Phone",
                "email": "E-mail",
                "street": "Street",
                "postal_code": "Postal code",
                "vin": "VIN",
                "match_probability": st.column_config.ProgressColumn(
                    "Confidence",
                    help="Probability that the record belongs to this customer.",
                    format="percent",
                    min_value=0.0,
                    max_value=1.0,
                ),
            },
        )
        if links.empty:
            st.caption(
                "A single record, or records identical on every identity field: nothing to link."
            )
        else:
            st.markdown(
                "**The links that join them**, strongest first. Each comparison shows its level "
                "and its weight of evidence in bits (positive: same person; negative: different)."
            )
            present = {key for ev in links["evidence"] for key in ev}
            swapped = any(ev.get("names_swapped") for ev in links["evidence"])
            comparisons = [
                key
                for key in [*fmt.COMPARISON_LABELS, *sorted(present - set(fmt.COMPARISON_LABELS))]
                if key in present and (key != "names_swapped" or swapped)
            ]
            evidence = pd.DataFrame(
                [
                    {
                        fmt.label(fmt.COMPARISON_LABELS, key): (
                            ("yes" if ev.get(key) else "no")
                            if key == "names_swapped"
                            else fmt.evidence_level(
                                (ev.get(key) or {}).get("level"), (ev.get(key) or {}).get("weight")
                            )
                        )
                        for key in comparisons
                    }
                    for ev in links["evidence"]
                ]
            )
            table = pd.concat(
                [
                    pd.DataFrame(
                        {
                            "first": [
                                fmt.record(s, r)
                                for s, r in zip(
                                    links["source_a"], links["source_record_id_a"], strict=True
                                )
                            ],
                            "second": [
                                fmt.record(s, r)
                                for s, r in zip(
                                    links["source_b"], links["source_record_id_b"], strict=True
                                )
                            ],
                            "probability": links["match_probability"],
                            "weight": links["match_weight"],
                        }
                    ),
                    evidence,
                ],
                axis=1,
            )
            st.dataframe(
                table,
                hide_index=True,
                column_config={
                    "first": "Record",
                    "second": "Linked to",
                    "probability": st.column_config.ProgressColumn(
                        "Match", format="percent", min_value=0.0, max_value=1.0
                    ),
                    "weight": st.column_config.NumberColumn(
                        "Total (bits)", format="%+.1f", help="Sum of the comparisons' weights"
                    ),
                },
            )


# --- The four panels ----------------------------------------------------------------------------
PANELS = {
    "Garage": garage,
    "Lifetime value": lifetime_value,
    "Opportunities": opportunities,
    "Why one person": why_one_person,
}


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


panels(customer_id, timeline, dealer_names)
