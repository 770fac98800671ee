-- Access: who may read what, enforced by PostgreSQL row-level security (never by filters in
-- Python). The pipeline's role owns every table and so bypasses the policies; the login roles
-- `dealer360 grant` creates (dealer360/access.py) are read-only and see what the policies let
-- them see. Roles are cluster-wide but these tables are per database: a role means something
-- only in the database whose access.roles lists it (its name also carries that database's
-- name, see access.role_name), so databases sharing one server never see each other's grants.
--
-- The marts are rebuilt by dbt on every run; their policies and grants are applied by the
-- `protect()` post-hook (dbt_project/macros/access.sql) in the same transaction as the
-- rebuild. The tables below are created by migrations and keep their policies.

create schema if not exists access;

-- One row per login role dealer360 granted in this database.
create table if not exists access.roles (
    role_name text primary key,
    kind text not null check (kind in ('dealer', 'oem')),
    dealer_code text,
    brand text,
    granted_at timestamptz not null default now(),
    refreshed_at timestamptz not null default now(),
    check ((kind = 'dealer') = (dealer_code is not null)),
    check ((kind = 'oem') = (brand is not null))
);
create unique index if not exists roles_dealer_idx on access.roles (dealer_code)
    where kind = 'dealer';
create unique index if not exists roles_brand_idx on access.roles (brand) where kind = 'oem';

-- The group's one sharing setting: off, each rooftop sees only its own customers and rows;
-- on, every rooftop sees every customer the group served and all of their events.
create table if not exists access.settings (
    is_singleton boolean primary key default true check (is_singleton),
    is_group_sharing boolean not null default false,
    changed_at timestamptz not null default now()
);
insert into access.settings (is_singleton) values (true) on conflict do nothing;

-- What the role running the query was granted: one row for a granted role, none for any
-- other. A view, so its owner (the pipeline) reads access.roles while current_user is still
-- the querying role; policies read it through scalar sub-selects, which PostgreSQL runs once
-- per query, not once per row. For an unknown role every sub-select is null and every policy
-- is false: fail closed.
create or replace view access.current_grant as
select
    roles.kind,
    roles.dealer_code,
    roles.brand,
    roles.kind = 'dealer' and settings.is_group_sharing as sees_group
from access.roles
cross join access.settings
where roles.role_name = current_user;

comment on view access.current_grant is
    'The grant of the querying role (no row for an ungranted role); read by every policy.';

-- The customers the querying role may see: access.customer_dealers (a dbt model, row-level
-- secured itself) read with the caller's rights. Mart policies go through this function rather
-- than naming the table, because a policy that names a table depends on it, and dbt drops the
-- previous copy of a rebuilt table with CASCADE: every mart's policy would go with it. A
-- plain SQL function is resolved by name when a query is planned (and inlined there, so the
-- planner still sees a semi-join it can run on the table's indexes), so it records no such
-- dependency; the table need not exist yet when this migration runs.
set local check_function_bodies = off;
create or replace function access.visible_customers()
returns table (customer_id text)
language sql
stable
as $$ select customer_id from access.customer_dealers $$;

-- Dealer rows of raw.*: a dealer role reads the rows of its own rooftop, or of every rooftop
-- when the group shares. raw.oem_registrations belongs to the manufacturers: an OEM role
-- reads its brand's rows, a dealer role none (registrations reach dealers, when the group
-- shares, as events in marts.customer_events).
alter table raw.dealer_sales enable row level security;
alter table raw.service_orders enable row level security;
alter table raw.crm_leads enable row level security;
alter table raw.oem_registrations enable row level security;

drop policy if exists dealer_rows on raw.dealer_sales;
create policy dealer_rows on raw.dealer_sales for select using (
    dealer_code = (select dealer_code from access.current_grant)
    or (select sees_group from access.current_grant)
);
drop policy if exists dealer_rows on raw.service_orders;
create policy dealer_rows on raw.service_orders for select using (
    dealer_code = (select dealer_code from access.current_grant)
    or (select sees_group from access.current_grant)
);
drop policy if exists dealer_rows on raw.crm_leads;
create policy dealer_rows on raw.crm_leads for select using (
    dealer_code = (select dealer_code from access.current_grant)
    or (select sees_group from access.current_grant)
);
drop policy if exists brand_rows on raw.oem_registrations;
create policy brand_rows on raw.oem_registrations for select using (
    lower(brand) = lower((select brand from access.current_grant))
);

-- A granted role may create nothing; the pipeline's role owns the schemas it writes.
revoke create on schema public from public;
