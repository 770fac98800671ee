"""Leads: which sources sell cars at a rooftop, what each provider costs, and the two worklists
a sales manager acts on (paid leads for people already known, lost leads who bought at a
sister rooftop), each downloadable and audited like every export."""

from __future__ import annotations

import hashlib

import plotly.graph_objects as go
import streamlit as st

from dashboard import connection, pickers, queries
from dashboard import format as fmt

st.title("Leads")
st.caption(
    "What became of each lead within 120 days, across every rooftop of the group: bought "
    "here, at a sister rooftop, or (per the manufacturer) elsewhere. Identity resolution "
    "recognizes the shopper who is already a customer under another spelling."
)

dealers = queries.lead_dealers()
if dealers.empty:
    st.info(
        "No lead has landed yet. Lead outcomes are built by `dealer360 run` from the CRM's "
        "lead exports (crm_leads)."
    )
    st.stop()

names = dict(zip(dealers["dealer_code"], dealers["dealer_name"], strict=True))
labels = {
    row.dealer_code: fmt.dealer(row.dealer_code, names) + f" · {fmt.count(int(row.leads), 'lead')}"
    for row in dealers.itertuples(index=False)
}
dealer_code = pickers.dealer_picker(labels, key="leads_dealer")

funnel = queries.lead_funnel(dealer_code)
totals = funnel[["leads", "sold", "sold_here", "sold_elsewhere"]].sum()
numbers = st.columns(4)
numbers[0].metric("Leads", f"{int(totals['leads']):,}")
numbers[1].metric(
    "Sold in the group",
    f"{int(totals['sold']):,}",
    help="Bought at this rooftop or a sister rooftop within 120 days of the lead.",
)
numbers[2].metric("Sold here", f"{int(totals['sold_here']):,}")
numbers[3].metric(
    "Bought elsewhere",
    f"{int(totals['sold_elsewhere']):,}",
    help="The manufacturer registered a new vehicle of the lead's make to the person, "
    "and no rooftop of the group sold it.",
)

st.subheader("Funnel by lead source")
figure = go.Figure()
for row in funnel.itertuples(index=False):
    figure.add_trace(
        go.Funnel(
            name=fmt.label(fmt.LEAD_SOURCE_LABELS, row.lead_source),
            y=["Leads", "Sold in the group", "Sold here"],
            x=[int(row.leads), int(row.sold), int(row.sold_here)],
            textinfo="value+percent initial",
        )
    )
figure.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=320)
st.plotly_chart(figure, key="leads-funnel")

st.subheader("Providers")
providers = queries.lead_providers(dealer_code)
st.dataframe(
    providers.assign(
        lead_source=providers["lead_source"].map(lambda s: fmt.label(fmt.LEAD_SOURCE_LABELS, s)),
        provider=providers["provider"].replace("", "—"),
    )[
        [
            "lead_source",
            "provider",
            "leads",
            "sold",
            "close_rate",
            "sales_amount",
            "cost_amount",
            "cost_per_sale",
            "paid_leads",
            "known_customer_share",
        ]
    ],
    hide_index=True,
    key="lead_providers",
    column_config={
        "lead_source": "Source",
        "provider": "Provider",
        "leads": fmt.count_column("Leads"),
        "sold": fmt.count_column("Sold in the group"),
        "close_rate": fmt.share_column("Close rate"),
        "sales_amount": fmt.money_column("Sales"),
        "cost_amount": fmt.money_column("Cost"),
        "cost_per_sale": fmt.money_column("Cost per sale"),
        "paid_leads": fmt.count_column("Paid leads"),
        "known_customer_share": fmt.share_column(
            "Paid for people already known",
            help="Paid leads whose person had already bought or serviced at a rooftop of the "
            "group: money spent on a customer the group had.",
        ),
    },
)

# Every download is audited: a dashboard that may not write the audit log offers none.
may_export = connection.can_audit()
WORKLISTS = {
    "known_paid": (
        "Paid leads for people already known",
        "The dealer paid for these leads, yet the person had already bought or had a repair "
        "order at a rooftop of the group: the earlier record is the proof for a credit claim "
        "to the vendor.",
    ),
    "lost_in_group": (
        "Lost leads who bought in the group",
        "Marked lost in the CRM, yet the person bought at a sister rooftop within 120 days.",
    ),
}
for worklist, (heading, explanation) in WORKLISTS.items():
    st.subheader(heading)
    st.caption(explanation)
    rows = queries.lead_worklist(dealer_code, worklist)
    if rows.empty:
        st.info(f"No lead of {fmt.dealer(dealer_code, names)} is on this list.")
        continue
    st.dataframe(
        rows.assign(
            name=[
                fmt.person_name(f, last)
                for f, last in zip(rows["first_name"], rows["last_name"], strict=True)
            ],
            outcome=rows["outcome"].map(lambda o: fmt.label(fmt.LEAD_OUTCOME_LABELS, o)),
            profile="profile?customer_id=" + rows["customer_id"],
        )[
            [
                "name",
                "created_date",
                "provider",
                "cost_amount",
                "outcome",
                "sale_dealer_code",
                "sale_date",
                "known_since_date",
                "known_since_source_record_id",
                "source_record_id",
                "profile",
            ]
        ],
        hide_index=True,
        key=f"worklist_{worklist}",
        column_config={
            "name": st.column_config.TextColumn("Customer"),
            "created_date": fmt.date_column("Lead"),
            "provider": "Provider",
            "cost_amount": fmt.money_column("Cost"),
            "outcome": "Outcome",
            "sale_dealer_code": "Bought at",
            "sale_date": fmt.date_column("Bought on"),
            "known_since_date": fmt.date_column("Customer since"),
            "known_since_source_record_id": "Earlier record",
            "source_record_id": "Lead record",
            "profile": st.column_config.LinkColumn("Profile", display_text="Open profile"),
        },
    )
    data = queries.leads_csv(rows)
    st.download_button(
        f"Download: {heading.lower()} (CSV)",
        data=data,
        file_name=f"leads_{worklist}_{dealer_code}.csv",
        mime="text/csv",
        icon=":material/download:",
        disabled=not may_export,
        on_click=queries.record_audit,
        args=(
            "export_leads",
            {"dealer_code": dealer_code, "outcome": worklist},
            len(rows),
            hashlib.sha256(data).hexdigest(),
        ),
        key=f"download_{worklist}",
    )
    st.caption(
        f"The same list as `dealer360 export leads --dealer {dealer_code} --outcome {worklist}`;"
        " each download is written to the audit log with its filters and checksum."
    )
if not may_export:
    connection.explain_limited_role("Downloading a worklist (every export is audited)")
