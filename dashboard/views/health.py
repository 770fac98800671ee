"""Data health: what was loaded, what was quarantined or rejected, and when the pipeline last ran."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import connection, queries
from dashboard import format as fmt

STAGES = {
    "land": "Land the inbox",
    "check": "Check landed rows",
    "resolve": "Resolve identities",
    "model": "Build the marts (dbt)",
}

st.title("Data health")
st.caption("What arrived in the inbox, what landed, and what was set aside for a person to fix.")
if not connection.can("select", "raw.files"):
    connection.explain_limited_role("Data health")
    st.stop()

files = queries.files_by_source()
if files.empty:
    st.info(
        "Nothing has been loaded yet. Put CSV exports in the inbox and run "
        "`dealer360 run --inbox DIR` (or let the Dagster sensor pick them up)."
    )
    st.stop()

runs = queries.pipeline_runs()
last_run = runs.iloc[0] if not runs.empty else None
rows = queries.rows_per_source()

col1, col2, col3, col4 = st.columns(4)
col1.metric("Rows landed", f"{int(rows['rows'].sum()):,}")
col2.metric("Rows quarantined", f"{int(files['rows_quarantined'].sum()):,}")
col3.metric("Files rejected", f"{int(files['files_rejected'].sum()):,}")
col4.metric(
    "Last pipeline run",
    "never"
    if last_run is None
    else "running now"
    if pd.isna(last_run["finished_at"])
    else fmt.day(last_run["finished_at"]),
    help=None if last_run is None else f"Status: {last_run['status']}",
)

st.subheader("Loads per source")
left, right = st.columns([3, 2])
left.dataframe(
    files.assign(source=files["source"].map(lambda s: fmt.label(fmt.SOURCE_LABELS, s))),
    hide_index=True,
    column_config={
        "source": "Source",
        "files_loaded": fmt.count_column("Files loaded"),
        "files_unchanged": fmt.count_column("Files unchanged"),
        "files_rejected": fmt.count_column("Files rejected"),
        "rows_loaded": fmt.count_column("Rows loaded"),
        "rows_quarantined": fmt.count_column("Rows quarantined"),
        "last_loaded_at": fmt.moment_column("Last load"),
    },
)
right.plotly_chart(
    px.bar(
        rows.assign(source=rows["source"].map(lambda s: fmt.label(fmt.SOURCE_LABELS, s))),
        x="source",
        y="rows",
        labels={"source": "", "rows": "Rows in the raw layer"},
        height=300,
    ),
    key="rows-per-source",
)

st.subheader("Quarantined rows by reason")
reasons = queries.quarantine_reasons()
if reasons.empty:
    st.success("No row has been quarantined.")
else:
    st.dataframe(
        reasons,
        hide_index=True,
        column_config={
            "source": "Source",
            "reason": fmt.text_column("Reason"),
            "rows": fmt.count_column("Rows"),
            "example_file": "Example file",
        },
    )

st.subheader("Rejected files")
rejected = queries.rejected_files()
if rejected.empty:
    st.success("No file has been rejected.")
else:
    st.dataframe(
        rejected,
        hide_index=True,
        column_config={
            "file_name": "File",
            "source": "Source",
            "message": fmt.text_column("Why"),
            "loaded_at": fmt.moment_column("Seen"),
        },
    )

st.subheader("Last pipeline run")
if last_run is None:
    st.info("No pipeline run recorded yet. Run `dealer360 run --inbox DIR`.")
else:
    run_summary = last_run["summary"] or {}
    badge = {"succeeded": "green", "failed": "red", "running": "blue"}.get(
        last_run["status"], "gray"
    )
    finished = last_run["finished_at"]
    took = (
        f" in {(finished - last_run['started_at']).total_seconds():,.0f} s"
        if finished is not None and not pd.isna(finished)
        else ""
    )
    st.markdown(
        f":{badge}-badge[{str(last_run['status']).capitalize()}] · started "
        f"{fmt.moment(last_run['started_at'])}{took}"
    )
    if run_summary.get("error"):
        st.error(run_summary["error"])
    stage_col, marts_col = st.columns(2)
    stages = run_summary.get("stage_seconds") or {}
    if stages:
        stage_col.dataframe(
            pd.DataFrame(
                {
                    "stage": [STAGES.get(stage, stage) for stage in stages],
                    "seconds": list(stages.values()),
                    "order": [list(STAGES).index(s) if s in STAGES else 99 for s in stages],
                }
            )
            .sort_values("order")
            .drop(columns="order"),
            hide_index=True,
            column_config={
                "stage": "Stage",
                "seconds": st.column_config.NumberColumn("Seconds", format="%.1f"),
            },
        )
    marts = run_summary.get("marts") or {}
    if marts:
        marts_col.dataframe(
            pd.DataFrame({"table": list(marts), "rows": list(marts.values())}).sort_values("table"),
            hide_index=True,
            column_config={
                "table": "Table",
                "rows": st.column_config.NumberColumn("Rows", format="%,d"),
            },
        )

st.subheader("Identity resolution")
identity_run = queries.last_identity_run()
sizes = queries.cluster_sizes() if queries.marts_ready() else pd.DataFrame()
if identity_run is None or sizes.empty:
    st.info("Identities have not been resolved yet; the pipeline does it after landing.")
else:
    records = int((sizes["records"] * sizes["customers"]).sum())
    customers = int(sizes["customers"].sum())
    cols = st.columns(4)
    cols[0].metric("Person records", f"{records:,}")
    cols[1].metric("Customers", f"{customers:,}")
    cols[2].metric("Records per customer", f"{records / customers:.1f}")
    cols[3].metric(
        "Largest customer",
        f"{int(sizes['records'].max()):,} records",
        help="A very large customer can be a sign that different people were chained together.",
    )
    histogram = px.bar(
        sizes,
        x="records",
        y="customers",
        labels={"records": "Landed records per customer", "customers": "Customers"},
        height=280,
    )
    logarithmic = bool(sizes["customers"].max() > 50 * sizes["customers"].min())
    if logarithmic:
        histogram.update_yaxes(type="log", dtick=1)
    histogram.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0})
    st.plotly_chart(histogram, key="cluster-sizes")
    st.caption(
        f"Last resolved {fmt.moment(identity_run['finished_at'] or identity_run['started_at'])}. "
        "Most people have a handful of records (a sale, its registration, service visits)."
        + (
            " The customer axis is logarithmic, so the rare large customers show."
            if logarithmic
            else ""
        )
    )

st.subheader("Recent pipeline runs")
if runs.empty:
    st.info("No pipeline run recorded yet.")
else:
    st.dataframe(
        runs[["started_at", "finished_at", "status"]],
        hide_index=True,
        column_config={
            "started_at": fmt.moment_column("Started"),
            "finished_at": fmt.moment_column("Finished"),
            "status": "Status",
        },
    )
