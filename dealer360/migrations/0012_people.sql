-- People, not roles: who may sign in to the dashboard, and what each person sees.
--
-- A signed-in person's queries run as the role they were granted (`set local role`, in the
-- transaction of each query: dashboard/connection.py), so row-level security decides what
-- they see, exactly as for the role's own login. Written by `dealer360 grant user` and
-- `dealer360 revoke user` (dealer360/access.py); read by the dashboard's own connection
-- (the pipeline's role) and by nothing else: no granted role may read it.
--
-- kind:
-- - dealer: a rooftop's staff, as that dealer's role (access.roles);
-- - oem: a manufacturer's staff, as that brand's role: aggregates, no personal data;
-- - group: the group's own people, as the dashboard's own connection (the pipeline's role:
--   every rooftop, data health, identity review); they are also whom an unknown person is
--   told to ask.
-- Revoking a dealer's or a brand's role removes the people granted it (on delete cascade):
-- they become unknown and see nothing, never more.
create table if not exists access.users (
    email text primary key check (
        email = lower(btrim(email)) and position('@' in email) > 1
    ),
    kind text not null check (kind in ('dealer', 'oem', 'group')),
    role_name text references access.roles (role_name) on delete cascade,
    granted_at timestamptz not null default now(),
    granted_by text not null,
    check ((kind = 'group') = (role_name is null))
);
create index if not exists users_role_idx on access.users (role_name);

comment on table access.users is
    'One row per person who may use the signed-in dashboard: their e-mail (as the OpenID '
    'Connect provider gives it, lower-case), what they were granted (dealer, oem, group) and '
    'the role their queries run as (null for group: the dashboard''s own role).';

comment on table raw.audit_log is
    'One row per export or erasure of personal data, and per identity review verdict. actor: '
    'the operating-system user for the CLI, the signed-in person''s e-mail for the dashboard '
    '(the database role, current_user, when sign-in is off); action: export_audience, '
    'export_links, export_leads, forget_customer, review_decision, ...; sha256: of the exact '
    'bytes handed over.';
