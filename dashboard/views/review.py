"""Identity review: pairs of records the matcher is unsure about, settled by a person.

A verdict is written to resolve.review_decisions and honoured by every later resolve run.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import connection, pages, queries
from dashboard import format as fmt

# (label, record fields shown, the matcher's comparisons of them)
FIELDS = [
    ("Name", ("first_name", "last_name"), ("first_name", "last_name", "names_swapped")),
    ("Suffix", ("suffix",), ("suffix",)),
    ("Company", ("company",), ("company",)),
    ("Birth date", ("birth_date",), ("birth_date",)),
    ("E-mail", ("email",), ("email",)),
    ("Phone", ("phone",), ("phone",)),
    ("Street", ("street",), ("street",)),
    ("City", ("city",), ()),
    ("Postal code", ("postal_code",), ("postal_code",)),
    ("VIN", ("vin",), ("vehicle",)),
]


def verdict(evidence: dict, comparisons: tuple[str, ...]) -> str:
    """The matcher's comparisons of one field, e.g. "first: exact (+2.2); last: one typo (+1.1)"."""
    parts = []
    for key in comparisons:
        found = evidence.get(key)
        if isinstance(found, bool):
            if found:
                parts.append("first and last names swapped")
        elif found:
            text = fmt.evidence_level(found.get("level"), found.get("weight"))
            parts.append(f"{key.split('_')[0]}: {text}" if len(comparisons) > 1 else text)
    return "; ".join(parts)


st.title("Identity review")
st.caption(
    "The matcher was unsure whether these records are the same person. Your verdict is kept "
    "and applied on the next pipeline run, and it teaches the matcher: the pairs whose verdict "
    "would teach it most come first."
)

if not connection.can("select", "resolve.review_queue"):
    connection.explain_limited_role("Identity review")
    st.stop()
summary = queries.review_summary()
counts = st.columns(3)
counts[0].metric("Waiting for review", f"{int(summary['pending']):,}")
counts[1].metric("Linked by a person", f"{int(summary['linked']):,}")
counts[2].metric("Kept apart by a person", f"{int(summary['kept_apart']):,}")

pairs = queries.review_pairs()
if pairs.empty:
    st.success("Nothing to review: every uncertain pair has a verdict.")
else:
    position = st.session_state.get("review_position", 0) % len(pairs)
    pair = pairs.iloc[position]
    a, b = pair["record_a"], pair["record_b"]

    def decide(decision: str) -> None:
        queries.record_review_decision(
            pair["source_a"],
            pair["source_record_id_a"],
            pair["source_b"],
            pair["source_record_id_b"],
            decision,
            decided_by=st.session_state.get("reviewer") or None,
            note=st.session_state.get("review_note") or None,
        )
        st.session_state["review_note"] = ""
        st.toast(
            "Linked: they will be one customer after the next run."
            if decision == "must_link"
            else "Kept apart: they will stay two customers after the next run."
        )

    def skip() -> None:
        st.session_state["review_position"] = position + 1

    st.subheader(f"Pair {position + 1} of the {len(pairs)} that would teach the matcher most")
    st.markdown(
        f"The matcher gives **{pair['match_probability']:.0%}** that these are the same person "
        f"({pair['match_weight']:+.1f} bits of evidence)."
        + (
            ""
            if fmt.is_missing(pair.get("learnt_probability"))
            else f" What reviewers' verdicts taught it says **{pair['learnt_probability']:.0%}**."
        )
    )

    sides = st.columns(2)
    for column, side, title in ((sides[0], a, "First record"), (sides[1], b, "Second record")):
        with column, st.container(border=True):
            st.markdown(f"**{title}: {fmt.record(side['source'], side['source_record_id'])}**")
            st.caption(
                " · ".join(
                    part
                    for part in (
                        fmt.day(side.get("record_date")),
                        side.get("dealer_name"),
                        side.get("description"),
                    )
                    if not fmt.is_missing(part)
                )
            )
            st.page_link(
                pages.link("profile"),
                label=f"Now in {side.get('customer_name') or 'customer'}"
                f" ({fmt.count(side.get('customer_records'), 'record')})",
                icon=":material/person:",
                query_params={"customer_id": side["customer_id"]},
            )

    evidence = pair["evidence"] or {}
    rows = [
        {
            "field": label,
            "first": " ".join(str(a[k]) for k in keys if not fmt.is_missing(a.get(k))) or "—",
            "second": " ".join(str(b[k]) for k in keys if not fmt.is_missing(b.get(k))) or "—",
            "verdict": verdict(evidence, comparisons),
        }
        for label, keys, comparisons in FIELDS
    ]
    st.table(
        pd.DataFrame(rows)
        .rename(
            columns={
                "field": "Field",
                "first": "First record",
                "second": "Second record",
                "verdict": "Matcher's comparison (weight in bits)",
            }
        )
        .set_index("Field")
    )
    st.caption("Values as the matcher compared them: lower case, unaccented, phones in E.164.")

    st.text_input(
        "Note (optional)", key="review_note", placeholder="e.g. checked by phone with the customer"
    )
    buttons = st.container(horizontal=True)
    buttons.button(
        "Same person",
        type="primary",
        icon=":material/link:",
        on_click=decide,
        args=("must_link",),
        key="review_same",
    )
    buttons.button(
        "Different people",
        icon=":material/link_off:",
        on_click=decide,
        args=("cannot_link",),
        key="review_apart",
    )
    buttons.button("Skip", icon=":material/skip_next:", on_click=skip, key="review_skip")


def why_not() -> None:
    """Two customer IDs, and what keeps them apart field by field."""
    st.subheader("Why not one person?")
    st.caption(
        "Two customer IDs: the values each side holds, field by field, as the matcher"
        " compared them, the closest pairs it weighed, and any verdict that keeps them apart."
    )
    left, right = st.columns(2)
    a = left.text_input("First customer", key="why_a", placeholder="C000001234")
    b = right.text_input("Second customer", key="why_b", placeholder="C000005678")
    a, b = a.strip().upper(), b.strip().upper()
    if not a or not b:
        return
    if a == b:
        st.warning("Those are one customer: name two different customer IDs.")
        return
    found = queries.why_apart(a, b)
    sides = found["sides"].set_index("customer_id")
    missing = [c for c in (a, b) if c not in sides.index]
    if missing:
        st.warning(f"There is no customer {' or '.join(missing)}, or you may not see it.")
        return
    rows, apart, shared = [], [], []
    for field in queries.WHY_NOT_FIELDS:
        label = fmt.label(fmt.COMPARISON_LABELS, "vehicle" if field == "vin" else field)
        va, vb = set(sides.at[a, field]), set(sides.at[b, field])
        if va and vb:
            state = "shared" if va & vb else "differ"
            (shared if va & vb else apart).append(label)
        else:
            state = "on one side only" if va or vb else "on neither"
        rows.append(
            {
                "Field": label,
                a: ", ".join(sorted(va)) or "—",
                b: ", ".join(sorted(vb)) or "—",
                "Values": state,
            }
        )
    decisions = found["decisions"]
    reasons = []
    if (decisions["decision"] == "cannot_link").any():
        who = ", ".join(sorted(set(decisions["decided_by"])))
        reasons.append(f"a reviewer's verdict ({who}) says they are different people")
    if apart:
        reasons.append("their " + ", ".join(apart).lower() + " differ")
    if not shared:
        reasons.append("they share no value the matcher could link on")
    st.markdown(
        f"**{a}** ({fmt.count(int(sides.at[a, 'records']), 'record')}) and **{b}** "
        f"({fmt.count(int(sides.at[b, 'records']), 'record')}) stay apart: "
        + ("; ".join(reasons) if reasons else "their shared values were not evidence enough")
        + "."
    )
    st.table(pd.DataFrame(rows).set_index("Field"))
    pairs = found["pairs"]
    if not pairs.empty:
        best = pairs.iloc[0]
        st.markdown(
            f"The closest pair the matcher weighed gives **{best['match_probability']:.0%}** "
            f"({best['match_weight']:+.1f} bits): "
            f"{fmt.record(best['source_a'], best['source_record_id_a'])} and "
            f"{fmt.record(best['source_b'], best['source_record_id_b'])}."
        )
        evidence = best["evidence"] or {}
        st.table(
            pd.DataFrame(
                [
                    {"Field": label, "Matcher's comparison (weight in bits)": verdict(evidence, c)}
                    for label, _, c in FIELDS
                    if c and verdict(evidence, c)
                ]
            ).set_index("Field")
        )


why_not()

with st.sidebar:
    if connection.actor() is None:
        st.text_input(
            "Reviewer",
            key="reviewer",
            placeholder="your name",
            help="Kept with each verdict; without it, the database role is recorded.",
        )
    else:
        st.caption(f"Verdicts are recorded as yours ({connection.actor()}).")

decisions = queries.recent_decisions()
if not decisions.empty:
    st.subheader("Recent verdicts")
    st.dataframe(
        pd.DataFrame(
            {
                "decided_at": decisions["decided_at"],
                "decision": decisions["decision"].map(
                    {"must_link": "Same person", "cannot_link": "Different people"}
                ),
                "first": [
                    fmt.record(s, r)
                    for s, r in zip(
                        decisions["source_a"], decisions["source_record_id_a"], strict=True
                    )
                ],
                "second": [
                    fmt.record(s, r)
                    for s, r in zip(
                        decisions["source_b"], decisions["source_record_id_b"], strict=True
                    )
                ],
                "decided_by": decisions["decided_by"],
                "note": decisions["note"].fillna("—"),
            }
        ),
        hide_index=True,
        column_config={
            "decided_at": fmt.moment_column("When"),
            "decision": "Verdict",
            "first": "First record",
            "second": "Second record",
            "decided_by": "By",
            "note": st.column_config.TextColumn("Note", width="large"),
        },
    )
