"""Every SQL statement the dashboard runs, in one place. Pages call these functions only.

Results are cached for a short time: the data changes when the pipeline runs, not per click.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.connection import read

TTL = 60


@st.cache_data(ttl=TTL, show_spinner=False)
def files_by_source() -> pd.DataFrame:
    return read(
        """
        select source,
               count(*) filter (where status = 'loaded') as files_loaded,
               count(*) filter (where status = 'unchanged') as files_unchanged,
               count(*) filter (where status = 'rejected') as files_rejected,
               coalesce(sum(rows_loaded), 0) as rows_loaded,
               coalesce(sum(rows_quarantined), 0) as rows_quarantined,
               max(loaded_at) as last_loaded_at
        from raw.files
        group by source
        order by source
        """
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def rows_per_source() -> pd.DataFrame:
    return read(
        """
        select 'dealers' as source, count(*) as rows from raw.dealers
        union all select 'dealer_sales', count(*) from raw.dealer_sales
        union all select 'service_orders', count(*) from raw.service_orders
        union all select 'oem_registrations', count(*) from raw.oem_registrations
        union all select 'crm_leads', count(*) from raw.crm_leads
        """
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def quarantine_reasons(limit: int = 50) -> pd.DataFrame:
    return read(
        """
        select source, reason, count(*) as rows, min(file_name) as example_file
        from raw.quarantine
        group by source, reason
        order by rows desc
        limit :limit
        """,
        limit=limit,
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def rejected_files() -> pd.DataFrame:
    return read(
        """
        select file_name, source, message, loaded_at
        from raw.files
        where status = 'rejected'
        order by loaded_at desc
        """
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def pipeline_runs(limit: int = 10) -> pd.DataFrame:
    return read(
        """
        select run_id, started_at, finished_at, status, summary
        from raw.pipeline_runs
        order by started_at desc
        limit :limit
        """,
        limit=limit,
    )
