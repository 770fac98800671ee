-- Privacy: what `dealer360 forget` leaves behind so a forgotten person stays forgotten
-- (dealer360/privacy.py explains the design). Everything lives in its own schema, which no
-- granted role may use: it holds the secret salt, and the keys of the records that were
-- a forgotten person's.

create schema if not exists privacy;
revoke all on schema privacy from public;

-- The secret of the suppression list's keyed hashes: generated once, here, from the
-- server's strong random source (two version-4 UUIDs: 244 random bits), never written to
-- a file or the repository. Losing it (restoring the data without this table) would let a
-- forgotten person's identifiers land again, so it travels with the database.
create table if not exists privacy.salt (
    is_singleton boolean primary key default true check (is_singleton),
    salt text not null,
    created_at timestamptz not null default now()
);
insert into privacy.salt (salt)
values (replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))
on conflict do nothing;

-- Keyed hashes (HMAC-SHA-256 with privacy.salt) of a forgotten person's normalized
-- identifiers. kind: email (an address only they used), email_name (an address they shared,
-- with their name), phone_name (a phone, always with their name: landlines are shared and
-- numbers are reassigned), name_birth (their name and birth date). No customer ID and no
-- anonymous key: the list says "someone with this identifier was forgotten", nothing more.
create table if not exists privacy.suppression_list (
    kind text not null check (kind in ('email', 'email_name', 'phone_name', 'name_birth')),
    identifier_hash text not null,
    added_at timestamptz not null default now(),
    primary key (kind, identifier_hash)
);

-- Person records that belong to no one any more: each keeps an anonymous customer key, to
-- which entity resolution pins it (it is never matched again), so its amounts and vehicle
-- history still count. Written by `dealer360 forget` and by landing, for a new row whose
-- identifiers are on the suppression list.
create table if not exists privacy.forgotten_records (
    source text not null,
    source_record_id text not null,
    anonymous_id text not null,
    forgotten_at timestamptz not null default now(),
    primary key (source, source_record_id)
);
create index if not exists forgotten_records_anonymous_idx
    on privacy.forgotten_records (anonymous_id);

-- Customer IDs that were erased, so forgetting again says so. Deliberately without the
-- anonymous key: someone holding an old ID (in an old export) cannot follow it to the facts.
create table if not exists privacy.forgotten_customers (
    customer_id text primary key,
    forgotten_at timestamptz not null default now()
);

-- Rows landed without their identifying values because their person was forgotten.
alter table raw.files add column if not exists rows_suppressed integer not null default 0;
comment on column raw.files.rows_suppressed is
    'Rows of this file that belong to a forgotten person (privacy.forgotten_records or the '
    'suppression list): landed or quarantined without their identifying values.';

-- The audit log names the database role beside the actor (the OS user for the CLI).
alter table raw.audit_log add column if not exists db_role text not null default current_user;

-- The audit log is append-only: an UPDATE, DELETE or TRUNCATE fails, whoever runs it.
create or replace function raw.audit_log_is_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'raw.audit_log is append-only: its rows are never updated or deleted';
end;
$$;
drop trigger if exists audit_log_append_only on raw.audit_log;
create trigger audit_log_append_only
    before update or delete or truncate on raw.audit_log
    for each statement execute function raw.audit_log_is_append_only();
