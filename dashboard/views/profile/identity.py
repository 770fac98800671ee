"""Why one person panel: the landed records that make this customer and the links that
join them, with the evidence of each comparison."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import connection, queries
from dashboard import format as fmt
from dealer360 import merge_fixes
from dealer360.errors import UserError


def why_one_person(customer_id: str, timeline: pd.DataFrame, dealer_names: dict[str, str]) -> None:
    if not connection.can("select", "resolve.customer_source_map"):
        connection.explain_limited_role("Which records make this customer")
        return
    found = queries.identity(customer_id)
    records, links = found["records"], found["links"]
    if records.empty:
        st.info("The identity layer has no record for this customer; run the pipeline again.")
        return
    _records(records)
    if links.empty:
        st.caption(
            "A single record, or records identical on every identity field: nothing to link."
        )
    else:
        _links(links)
    if connection.can("insert", "resolve.review_decisions"):
        _fixes(customer_id, records)


def _fixes(customer_id: str, records: pd.DataFrame) -> None:
    """Fix who is who where the mistake shows; the next run applies the fix."""
    st.markdown("**Fix who is who.** The next pipeline run applies a fix; each is audited.")
    shown = st.session_state.pop("merge_fix_message", None)
    if shown is not None:
        (st.success if shown[0] == "done" else st.error)(shown[1])
    labels = {
        fmt.record(s, r): (s, r)
        for s, r in zip(records["source"], records["source_record_id"], strict=True)
    }
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.selectbox("This record is not this person", list(labels), key="split_pick")
        st.button(
            "Split it out",
            key="split_record",
            disabled=len(labels) < 2,
            on_click=lambda: _apply(
                lambda conn: merge_fixes.split_record(
                    conn, customer_id, *labels[st.session_state["split_pick"]], connection.actor()
                ),
                f"{st.session_state['split_pick']} will be a customer of its own after the"
                " next run.",
            ),
        )
    with right, st.container(border=True):
        st.text_input("Same person as customer", placeholder="C000001234", key="join_other")
        st.button(
            "Join them",
            key="join_customer",
            on_click=lambda: _apply(
                lambda conn: merge_fixes.join_customers(
                    conn, customer_id, st.session_state.get("join_other") or "", connection.actor()
                ),
                f"{customer_id} and {(st.session_state.get('join_other') or '').strip().upper()}"
                " will be one customer after the next run.",
            ),
        )
    with connection.as_viewer() as conn:
        fixes = merge_fixes.fixes_of(conn, customer_id)
    for fix in fixes:
        what = (
            f"{fix.record} is not {fix.customer_id}"
            if fix.kind == merge_fixes.NOT_THIS_PERSON
            else f"{fix.customer_id} is the same person as {fix.other_customer_id}"
        )
        line, button = st.columns([4, 1])
        line.caption(f"Fix {fix.fix_id}: {what} (by {fix.actor}, {fmt.day(fix.at)})")
        button.button(
            "Undo",
            key=f"undo_fix_{fix.fix_id}",
            on_click=lambda fix_id=fix.fix_id: _apply(
                lambda conn: merge_fixes.undo_fix(conn, fix_id, connection.actor()),
                f"Fix {fix_id} undone: the next run decides on the evidence again.",
            ),
        )


def _apply(fix, done: str) -> None:
    """Run a fix from a button's callback, in a transaction as the viewer (a role that may
    write decisions); its outcome shows on the rerun that follows."""
    try:
        with connection.as_viewer(read_only=False) as conn:
            fix(conn)
    except UserError as error:
        st.session_state["merge_fix_message"] = ("error", str(error))
        return
    st.session_state["merge_fix_message"] = ("done", done)


def _records(records: pd.DataFrame) -> None:
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
            "record_date": fmt.date_column("Date"),
            "dealer_name": "Dealer",
            "name": "Name",
            "phone": "Phone",
            "email": "E-mail",
            "street": "Street",
            "postal_code": "Postal code",
            "vin": "VIN",
            "match_probability": fmt.share_column(
                "Confidence", help="Probability that the record belongs to this customer."
            ),
        },
    )


def _links(links: pd.DataFrame) -> None:
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
                        for s, r in zip(links["source_a"], links["source_record_id_a"], strict=True)
                    ],
                    "second": [
                        fmt.record(s, r)
                        for s, r in zip(links["source_b"], links["source_record_id_b"], strict=True)
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
            "probability": fmt.share_column("Match"),
            "weight": st.column_config.NumberColumn(
                "Total (bits)", format="%+.1f", help="Sum of the comparisons' weights"
            ),
        },
    )
