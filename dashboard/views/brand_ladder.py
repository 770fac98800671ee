"""Brand ladder: how customers move between a manufacturer group's makes, and who to offer the next step."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from dashboard import format as fmt
from dashboard import queries

st.title("Brand ladder")
st.caption(
    "Where a group's customers went on their next purchase, how often they climbed to the "
    "next make up the ladder, and the customers most ready to climb now."
)

groups = queries.ladder_groups()
if groups.empty:
    st.info(
        "No repeat purchase yet: the ladder appears once customers have bought twice. "
        "Run `dealer360 run --inbox DIR` with sales history."
    )
    st.stop()

group = st.selectbox(
    "Manufacturer group",
    groups["manufacturer_group"].tolist(),
    format_func=lambda g: (
        f"{g} · "
        + f"{int(groups.set_index('manufacturer_group').at[g, 'moves']):,} repeat purchases"
    ),
)

# --- Sankey -----------------------------------------------------------------------------------
st.subheader("Next purchase after each make")
flows = queries.ladder_flows(group)
if flows.empty:
    st.info(f"No {group} customer has bought again yet.")
else:
    sources = sorted(
        flows["from_brand"].unique(),
        key=lambda b: (flows.loc[flows["from_brand"] == b, "from_tier"].min(), b),
    )
    targets = sorted(
        flows["to_brand"].unique(),
        key=lambda b: (b == "Another group", flows.loc[flows["to_brand"] == b, "to_tier"].min(), b),
    )
    palette = px.colors.qualitative.Safe
    brands = list(dict.fromkeys([*sources, *targets]))
    color = {b: palette[i % len(palette)] for i, b in enumerate(brands)}
    color["Another group"] = "#9e9e9e"

    def translucent(hex_color: str) -> str:
        if hex_color.startswith("rgb"):
            return hex_color.replace("rgb", "rgba").replace(")", ", 0.35)")
        red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgba({red}, {green}, {blue}, 0.35)"

    figure = go.Figure(
        go.Sankey(
            node={
                "label": [*sources, *targets],
                "color": [color[b] for b in (*sources, *targets)],
                "pad": 24,
                "thickness": 18,
                "line": {"width": 0},
                "customdata": [*(f"Bought {b}" for b in sources), *(f"Next: {b}" for b in targets)],
                "hovertemplate": "%{customdata}: %{value:,} purchases<extra></extra>",
            },
            link={
                "source": [sources.index(b) for b in flows["from_brand"]],
                "target": [len(sources) + targets.index(b) for b in flows["to_brand"]],
                "value": flows["moves"].tolist(),
                "color": [translucent(color[b]) for b in flows["from_brand"]],
                "hovertemplate": "%{source.label} → %{target.label}: %{value:,} purchases"
                "<extra></extra>",
            },
            textfont={"size": 14},
        )
    )
    figure.update_layout(height=380, margin={"l": 0, "r": 0, "t": 10, "b": 10})
    st.plotly_chart(figure, key="ladder-sankey")
    st.caption(
        "Left: the make a customer bought; right: the make of their next purchase "
        "(any make outside the group counts as “Another group”)."
    )

# --- Conversion per step over time ------------------------------------------------------------
st.subheader("Conversion up the ladder, per step and year")
conversion = queries.ladder_conversion(group)
if conversion.empty:
    st.info(f"{group} has no ladder step with a repeat purchase yet.")
else:
    conversion = conversion.assign(rate=conversion["climbs"] / conversion["moves"])
    stacked = pd.concat(
        [
            conversion.assign(outcome="Climbed the ladder", purchases=conversion["climbs"]),
            conversion.assign(
                outcome="Did not climb", purchases=conversion["moves"] - conversion["climbs"]
            ),
        ]
    )
    stacked["step"] = "After a " + stacked["from_brand"]
    steps = stacked["step"].nunique()
    chart = px.bar(
        stacked,
        x="year",
        y="purchases",
        color="outcome",
        facet_row="step" if steps > 1 else None,
        custom_data=["rate", "climbs", "moves"],
        color_discrete_map={"Climbed the ladder": "#2e7d32", "Did not climb": "#c7c7c7"},
        labels={"year": "Year of the next purchase", "purchases": "Next purchases", "outcome": ""},
        height=260 + 160 * (steps - 1),
    )
    chart.update_xaxes(dtick=1)
    chart.update_traces(
        hovertemplate="%{x}: %{customdata[1]} of %{customdata[2]} next purchases climbed "
        "(%{customdata[0]:.0%})<extra></extra>"
    )
    chart.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1]))
    chart.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0})
    st.plotly_chart(chart, key="ladder-conversion")
    totals = conversion.groupby("from_brand", as_index=False)[["moves", "climbs"]].sum()
    st.caption(
        "All years: "
        + "; ".join(
            f"{r.from_brand} {r.climbs / r.moves:.0%} ({r.climbs:,} of {r.moves:,})"
            for r in totals.itertuples(index=False)
        )
        + ". Hover a bar for the year's conversion rate."
    )

# --- Upsell list ------------------------------------------------------------------------------
st.subheader("Who to offer the next step")
targets = queries.ladder_targets(group)
if targets.empty:
    st.info(f"No {group} customer scores high enough for the next make up the ladder today.")
    st.stop()
target = st.selectbox(
    "Target make",
    targets["target_brand"].tolist(),
    format_func=lambda t: (
        f"{t} · " + f"{int(targets.set_index('target_brand').at[t, 'candidates']):,} candidates"
    ),
)
candidates = queries.ladder_upsell(target)
table = candidates.assign(
    name=[
        fmt.person_name(f, lst, c)
        for f, lst, c in zip(
            candidates["first_name"],
            candidates["last_name"],
            candidates["company_name"],
            strict=True,
        )
    ],
    dealer=[
        fmt.dealer(code, {code: name})
        for code, name in zip(candidates["dealer_code"], candidates["dealer_name"], strict=True)
    ],
    last_purchase_date=pd.to_datetime(candidates["last_purchase_date"]),
    profile="profile?customer_id=" + candidates["customer_id"],
    city=candidates["city"].fillna("—"),
)
st.dataframe(
    table[
        [
            "name",
            "city",
            "current_brand",
            "score",
            "reasons",
            "dealer",
            "last_purchase_date",
            "last_price_amount",
            "is_contactable",
            "profile",
        ]
    ],
    hide_index=True,
    column_config={
        "name": st.column_config.TextColumn("Customer"),
        "city": "City",
        "current_brand": "Drives",
        "score": st.column_config.ProgressColumn("Score", min_value=0, max_value=100, format="%d"),
        "reasons": fmt.text_column("Why"),
        "dealer": "Sold by",
        "last_purchase_date": fmt.date_column("Last purchase"),
        "last_price_amount": fmt.money_column("Paid (CAD)"),
        "is_contactable": st.column_config.CheckboxColumn("May be contacted"),
        "profile": st.column_config.LinkColumn("Profile", display_text="Open profile"),
    },
)
if len(candidates) < int(targets.set_index("target_brand").at[target, "candidates"]):
    st.caption(f"Showing the {len(candidates):,} best-scored candidates.")
