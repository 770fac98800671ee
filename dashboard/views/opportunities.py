"""Opportunities: who is in market at a rooftop, why, and a campaign list that respects consent."""

from __future__ import annotations

import hashlib

import streamlit as st

from dashboard import connection, pickers, queries
from dashboard import format as fmt

st.title("Opportunities")
st.caption(
    "Customers in market at a rooftop today, with the reasons. Export a campaign list: "
    "only customers who may be contacted are in it, and every export is logged."
)

dealers = queries.in_market_dealers()
if dealers.empty:
    st.info(
        "No customer is in market yet. In-market scores are built by `dealer360 run`; "
        "they need sales, leads or service history."
    )
    st.stop()

labels = {
    row.dealer_code: fmt.dealer(row.dealer_code, {row.dealer_code: row.dealer_name})
    + f" · {int(row.customers):,} in market"
    for row in dealers.itertuples(index=False)
}
dealer_code = pickers.dealer_picker(labels)
dealer_sender = queries.dealer_sender(dealer_code)

filters = st.columns([2, 2, 3, 2])
min_score = filters[0].slider("Minimum score", 0, 100, 0, step=5)
brands = queries.dealer_brands(dealer_code)
brand = filters[1].selectbox(
    "Make", [None, *brands], format_func=lambda b: "Every make" if b is None else b
)
drivers = queries.dealer_drivers(dealer_code)
chosen_drivers = filters[2].multiselect(
    "Drivers",
    drivers["driver_code"].tolist(),
    format_func=lambda d: fmt.label(fmt.DRIVER_LABELS, d),
    placeholder="Any driver",
)
consent_view = filters[3].radio(
    "Consent", ["Everyone", "May be contacted"], horizontal=True, key="consent_view"
)

listed = queries.in_market(
    dealer_code,
    min_score=min_score,
    brand=brand,
    driver_codes=tuple(chosen_drivers),
    contactable_only=consent_view == "May be contacted",
)
total = 0 if listed.empty else int(listed["total"].iloc[0])
contactable = 0 if listed.empty else int(listed["total_contactable"].iloc[0])

numbers = st.columns(3)
numbers[0].metric("In market", f"{total:,}")
numbers[1].metric(
    "May be contacted",
    f"{contactable:,}",
    help="Express or implied consent, not withdrawn or expired, and an e-mail or phone.",
)
numbers[2].metric("Average score", f"{listed['score'].mean():.0f}" if total else "—")

if listed.empty:
    st.info(
        "No in-market customer matches these filters. Lower the minimum score or clear a filter."
    )
else:
    table = listed.assign(
        name=[
            fmt.person_name(f, lst, c)
            for f, lst, c in zip(
                listed["first_name"], listed["last_name"], listed["company_name"], strict=True
            )
        ],
        consent=listed["marketing_consent"].map(lambda c: fmt.label(fmt.CONSENT_LABELS, c)),
        profile="profile?customer_id=" + listed["customer_id"],
        city=listed["city"].fillna("—"),
    )
    st.dataframe(
        table[
            [
                "name",
                "city",
                "score",
                "drivers",
                "next_best_action",
                "consent",
                "is_contactable",
                "last_seen_date",
                "profile",
            ]
        ],
        hide_index=True,
        column_config={
            "name": st.column_config.TextColumn("Customer"),
            "city": "City",
            "score": st.column_config.ProgressColumn(
                "Score", min_value=0, max_value=100, format="%d"
            ),
            "drivers": st.column_config.TextColumn("Why in market", width="large"),
            "next_best_action": st.column_config.TextColumn("Next best action", width="large"),
            "consent": "Consent",
            "is_contactable": st.column_config.CheckboxColumn("May be contacted"),
            "last_seen_date": fmt.date_column("Last seen"),
            "profile": st.column_config.LinkColumn("Profile", display_text="Open profile"),
        },
    )
    if total > len(listed):
        st.caption(
            f"Showing the {len(listed):,} best of {total:,}; raise the minimum score to see fewer."
        )

st.subheader("Campaign list")
channel = st.radio(
    "Channel",
    ["email", "sms"],
    horizontal=True,
    key="channel",
    help="Email needs a usable e-mail, SMS a phone (whether it takes texts is not known).",
)
audience = queries.audience(
    dealer_code,
    brand,
    min_score=min_score,
    driver_codes=tuple(chosen_drivers),
    channel=channel,
)
data = queries.audience_csv(audience)
digest = hashlib.sha256(data).hexdigest()
export_filters = {
    "dealer_code": dealer_code,
    "brand": brand,
    "min_score": min_score,
    "driver_codes": sorted(chosen_drivers),
    "sender": dealer_sender,
    "channel": channel,
}
left_out = total - len(audience) if consent_view == "Everyone" else 0
st.markdown(
    f"**{fmt.count(len(audience), 'customer')}** may be contacted with these filters"
    + (
        f"; {fmt.count(left_out, 'in-market customer')} left out for consent."
        if left_out > 0
        else "."
    )
)
# Every download is audited: a dashboard that may not write the audit log offers none.
may_export = connection.can_audit()
if not may_export:
    connection.explain_limited_role("Downloading the campaign list (every export is audited)")
st.download_button(
    "Download the campaign list (CSV)",
    data=data,
    file_name=f"audience_{dealer_code}{'_' + brand if brand else ''}.csv",
    mime="text/csv",
    icon=":material/download:",
    disabled=audience.empty or not may_export,
    on_click=queries.record_audience_download,
    args=(export_filters, list(audience["customer_id"]), digest),
    key="download_audience",
)
st.caption(
    f"Sent as {dealer_sender}: the customers that rooftop's sender may contact, the list of"
    f" `dealer360 export audience --dealer {dealer_code} --channel {channel}`, narrowed to"
    " those in market with the filters above. Each download is written to the audit log with"
    " its filters, checksum and members; its results show on the Campaigns page."
)

exports = queries.recent_exports() if connection.can("select", "raw.audit_log") else None
if exports is not None and not exports.empty:
    with st.expander("Recent exports"):
        st.dataframe(
            exports.assign(
                filters=exports["filters"].map(
                    lambda f: ", ".join(f"{k}={v}" for k, v in f.items() if v not in (None, [], 0))
                )
            ),
            hide_index=True,
            column_config={
                "at": fmt.moment_column("When"),
                "actor": "Who",
                "action": "What",
                "filters": "Filters",
                "row_count": st.column_config.NumberColumn("Customers", format="%,d"),
                "sha256": st.column_config.TextColumn("SHA-256", width="small"),
            },
        )
