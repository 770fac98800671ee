"""Service lane: a rooftop's daily worklist (marts.service_worklist) by reason: open recalls,
maintenance due, warranties ending, lapsed service and new owners never seen, each with why
and by when, and an audited download of the customers the rooftop may contact."""

from __future__ import annotations

import hashlib

import streamlit as st

from dashboard import connection, pickers, queries
from dashboard import format as fmt

st.title("Service lane")
st.caption(
    "Who to call today, and why: recalls still open on a customer's vehicle (done at any "
    "rooftop of the group counts), maintenance due by the make's schedule and the vehicle's "
    "own mileage, warranties ending within 90 days, vehicles past their usual service "
    "interval, and new owners of vehicles the group sold whom no rooftop has served. A row is "
    "on the list of the rooftop whose service lane the owner last used, else the one that "
    "sold the vehicle."
)

dealers = queries.worklist_dealers()
if dealers.empty:
    st.info(
        "No vehicle is on a service worklist yet. The worklist is built by `dealer360 run` "
        "from the sales, repair orders, OEM registrations and recall files (oem_recalls)."
    )
    st.stop()

names = dict(zip(dealers["dealer_code"], dealers["dealer_name"], strict=True))
labels = {
    row.dealer_code: fmt.dealer(row.dealer_code, names) + f" · {fmt.count(int(row.rows), 'row')}"
    for row in dealers.itertuples(index=False)
}
dealer_code = pickers.dealer_picker(labels, key="service_dealer")

counts = queries.worklist_reasons(dealer_code).set_index("reason")
numbers = st.columns(len(queries.WORKLIST_REASONS))
for column, reason in zip(numbers, queries.WORKLIST_REASONS, strict=True):
    rows = int(counts["rows"].get(reason, 0))
    column.metric(
        fmt.label(fmt.WORKLIST_REASON_LABELS, reason),
        f"{rows:,}",
        help=f"{int(counts['contactable'].get(reason, 0)):,} may be contacted, "
        f"{int(counts['overdue'].get(reason, 0)):,} overdue.",
    )

present = [reason for reason in queries.WORKLIST_REASONS if reason in counts.index]
requested_reason = st.query_params.get("reason")
reason = st.radio(
    "Reason",
    present,
    index=present.index(requested_reason) if requested_reason in present else 0,
    format_func=lambda r: fmt.label(fmt.WORKLIST_REASON_LABELS, r),
    horizontal=True,
    key="service_reason",
)
st.query_params["reason"] = reason

rows = queries.service_worklist(dealer_code, reason, False)
st.dataframe(
    rows.assign(
        name=[
            fmt.person_name(f, last, company)
            for f, last, company in zip(
                rows["first_name"], rows["last_name"], rows["company_name"], strict=True
            )
        ],
        vehicle=[
            fmt.vehicle(year, make, model)
            for year, make, model in zip(
                rows["model_year"], rows["make"], rows["model"], strict=True
            )
        ],
        profile="profile?customer_id=" + rows["customer_id"],
    )[["name", "due_date", "vehicle", "is_contactable", "detail", "vin", "profile"]],
    hide_index=True,
    key="service_worklist",
    column_config={
        "name": st.column_config.TextColumn("Customer"),
        "due_date": fmt.date_column("Due", help="A date past is overdue."),
        "detail": fmt.text_column("Why"),
        "vehicle": "Vehicle",
        "vin": "VIN",
        "is_contactable": st.column_config.CheckboxColumn(
            "May contact",
            help="This rooftop's sender may contact the customer on some channel (CASL "
            "consent per sender); the download lists these customers only.",
        ),
        "profile": st.column_config.LinkColumn("Profile", display_text="Open profile"),
    },
)

# Every download is audited; a role that may not write the audit log may not download.
may_export = connection.can_audit()
contactable = queries.service_worklist(dealer_code, reason, True)
data = queries.worklist_csv(contactable)
heading = fmt.label(fmt.WORKLIST_REASON_LABELS, reason).lower()
st.download_button(
    f"Download: {heading} (CSV)",
    data=data,
    file_name=f"worklist_{reason}_{dealer_code}.csv",
    mime="text/csv",
    icon=":material/download:",
    disabled=not may_export or contactable.empty,
    on_click=queries.record_audit,
    args=(
        "export_worklist",
        {"dealer_code": dealer_code, "reason": reason},
        len(contactable),
        hashlib.sha256(data).hexdigest(),
    ),
    key="download_worklist",
)
st.caption(
    f"{fmt.count(len(contactable), 'customer')} of this list may be contacted. The same list as "
    f"`dealer360 export worklist --dealer {dealer_code} --reason {reason}`; each download is "
    "written to the audit log with its filters and checksum."
)
if not may_export:
    connection.explain_limited_role("Downloading a worklist (every export is audited)")
