-- Who was on each campaign list: one row per (audience export, customer), the targets
-- written to the file and the controls held out of it. With raw.audit_log (the export's
-- who, when, filters and sha256) it answers "was this person on the list we sent on 2 May?"
-- and is what marts.campaign_results measures.
create table if not exists raw.export_members (
    export_id bigint not null references raw.audit_log (audit_id),
    customer_id text not null,
    is_control boolean not null
);
-- No primary key on (export_id, customer_id): an export lists each customer once, but two
-- customers later merged and then forgotten share one anonymous key.
create index if not exists export_members_export_idx on raw.export_members (export_id);
create index if not exists export_members_customer_idx on raw.export_members (customer_id);

comment on table raw.export_members is
    'One row per customer listed by an audience export (export_id = raw.audit_log.audit_id): '
    'is_control marks the held-out control group, not written to the file. Append-only; '
    'forget replaces a person''s customer_id by their anonymous key and keeps the row.';

-- Append-only like the audit log: no DELETE or TRUNCATE, and the one UPDATE allowed is
-- forget's, which replaces a customer_id by an anonymous `anon-` key and changes nothing else.
create or replace function raw.export_members_is_append_only() returns trigger
language plpgsql as $$
begin
    if tg_op = 'UPDATE' then
        if new.export_id = old.export_id
            and new.is_control = old.is_control
            and left(new.customer_id, 5) = 'anon-'
            and left(old.customer_id, 5) <> 'anon-' then
            return new;
        end if;
    end if;
    raise exception 'raw.export_members is append-only: its rows are never updated or deleted';
end;
$$;
drop trigger if exists export_members_append_only on raw.export_members;
create trigger export_members_append_only
    before update or delete on raw.export_members
    for each row execute function raw.export_members_is_append_only();
drop trigger if exists export_members_no_truncate on raw.export_members;
create trigger export_members_no_truncate
    before truncate on raw.export_members
    for each statement execute function raw.export_members_is_append_only();
