"""Data health: what was loaded, what was quarantined or rejected, and when the pipeline last ran."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from dashboard import queries

st.title("Data health")
st.caption("What arrived in the inbox, what landed, and what was set aside for a person to fix.")

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
    last_run["finished_at"].strftime("%Y-%m-%d %H:%M")
    if last_run is not None and last_run["finished_at"] is not None
    else "never",
    help=f"Status: {last_run['status']}" if last_run is not None else None,
)

st.subheader("Loads per source")
left, right = st.columns([3, 2])
left.dataframe(
    files,
    hide_index=True,
    column_config={
        "source": "Source",
        "files_loaded": st.column_config.NumberColumn("Files loaded", format="%d"),
        "files_unchanged": st.column_config.NumberColumn("Files unchanged", format="%d"),
        "files_rejected": st.column_config.NumberColumn("Files rejected", format="%d"),
        "rows_loaded": st.column_config.NumberColumn("Rows loaded", format="%d"),
        "rows_quarantined": st.column_config.NumberColumn("Rows quarantined", format="%d"),
        "last_loaded_at": st.column_config.DatetimeColumn("Last load", format="YYYY-MM-DD HH:mm"),
    },
)
right.plotly_chart(
    px.bar(
        rows, x="source", y="rows", labels={"source": "Source", "rows": "Rows in the raw layer"}
    ),
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
            "reason": st.column_config.TextColumn("Reason", width="large"),
            "rows": st.column_config.NumberColumn("Rows", format="%d"),
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
            "message": st.column_config.TextColumn("Why", width="large"),
            "loaded_at": st.column_config.DatetimeColumn("Seen", format="YYYY-MM-DD HH:mm"),
        },
    )

st.subheader("Recent pipeline runs")
if runs.empty:
    st.info("No pipeline run recorded yet.")
else:
    st.dataframe(
        runs[["started_at", "finished_at", "status"]],
        hide_index=True,
        column_config={
            "started_at": st.column_config.DatetimeColumn("Started", format="YYYY-MM-DD HH:mm:ss"),
            "finished_at": st.column_config.DatetimeColumn(
                "Finished", format="YYYY-MM-DD HH:mm:ss"
            ),
            "status": "Status",
        },
    )
