-- One row per pipeline run (CLI or Dagster), so people can see when data last moved.
create table if not exists raw.pipeline_runs (
    run_id text primary key,
    started_at timestamptz not null,
    finished_at timestamptz,
    status text not null check (status in ('running', 'succeeded', 'failed')),
    summary jsonb not null default '{}'::jsonb
);
