"""The golden record (each field with the record it was taken from), consent, household."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard import format as fmt
from dashboard import pages, queries


def record_teller(timeline: pd.DataFrame) -> Callable[[object, object], str]:
    """A function saying where a golden-record field came from:
    "OEM registration AUD005463004 · Mar 5, 2023" (the date of the record's first event)."""
    record_dates: dict[tuple, object] = {}
    for key, when in zip(
        zip(timeline["source"], timeline["source_record_id"], strict=True),
        timeline["event_date"],
        strict=True,
    ):
        record_dates.setdefault(key, when)

    def record_said(source: object, source_record_id: object) -> str:
        if fmt.is_missing(source):
            return "—"
        said = fmt.record(source, source_record_id)
        if (source, source_record_id) in record_dates:
            said += f" · {fmt.day(record_dates[(source, source_record_id)])}"
        return said

    return record_said


def golden_record(golden: dict, record_said: Callable[[object, object], str]) -> None:
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


def consent(golden: dict, record_said: Callable[[object, object], str]) -> None:
    st.subheader("Consent")
    basis = golden["marketing_consent"]
    contactable = not fmt.is_missing(golden.get("consent_source"))
    badge = {"express": "green", "implied": "blue", "none": "gray", "withdrawn": "red"}.get(
        basis, "gray"
    )
    st.markdown(
        f":{badge}-badge[{fmt.label(fmt.CONSENT_LABELS, basis)}] "
        + (":green-badge[May be contacted]" if contactable else ":red-badge[Do not contact]")
    )
    lines = []
    if not fmt.is_missing(golden["consent_basis"]):
        lines.append(f"Basis: {fmt.label({}, golden['consent_basis'])}")
    if not fmt.is_missing(golden["consent_statement_date"]):
        lines.append(f"Stated on {fmt.day(golden['consent_statement_date'])}")
    if not fmt.is_missing(golden["consent_expires_on"]):
        lines.append(f"Expires on {fmt.day(golden['consent_expires_on'])}")
    if contactable:
        lines.append(
            f"From {record_said(golden['consent_source'], golden['consent_source_record_id'])}"
        )
    st.markdown("  \n".join(lines) or "No consent statement on record.")
    senders = queries.consent_by_sender(golden["customer_id"])
    if not senders.empty:
        st.markdown("**Who may write, on what ground** (consent belongs to its sender)")
        st.markdown(
            "  \n".join(
                f"{fmt.literal(row.sender)} · {row.channels} · "
                f"{fmt.label({}, row.consent_basis)} from "
                f"{record_said(row.consent_source, row.source_record_id)}"
                + (
                    f", given to {fmt.literal(row.granted_to)}"
                    if row.granted_to != row.sender
                    else ""
                )
                + (
                    f" · holds through {fmt.day(row.consent_expires_on)}"
                    if not fmt.is_missing(row.consent_expires_on)
                    else ""
                )
                for row in senders.itertuples(index=False)
            )
        )
        st.caption("Whether a phone takes text messages is not known.")


def household(customer_id: str, golden: dict) -> None:
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
        return
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


def overview(customer_id: str, golden: dict, timeline: pd.DataFrame) -> None:
    """The golden record beside consent and household."""
    record_said = record_teller(timeline)
    record_col, side_col = st.columns([3, 2])
    with record_col:
        golden_record(golden, record_said)
    with side_col:
        consent(golden, record_said)
        household(customer_id, golden)
