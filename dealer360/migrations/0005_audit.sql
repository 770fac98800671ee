-- Who took personal data out of dealer360, when, with which filters, and exactly what
-- (row count and the sha256 of the bytes handed over). Written by every audience export
-- (dashboard and CLI) and by erasures; rows are never updated or deleted.
create table if not exists raw.audit_log (
    audit_id bigserial primary key,
    at timestamptz not null default now(),
    actor text not null default current_user,
    action text not null,
    filters jsonb not null default '{}'::jsonb,
    row_count integer,
    sha256 text
);
create index if not exists audit_log_at_idx on raw.audit_log (at);

comment on table raw.audit_log is
    'One row per export or erasure of personal data. actor: the operating-system user for the '
    'CLI, the database role (current_user) for the dashboard; action: export_audience, '
    'export_links, forget_customer, ...; sha256: of the exact bytes handed over.';
