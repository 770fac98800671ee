-- What changed, record by record, since the marts were last built: the incremental marts
-- (dbt_project, materialized='incremental') rebuild only the rows these notes reach. Written
-- by triggers, so every writer is covered (landing, resolve, forget, a person at psql):
-- each person record inserted, updated or deleted in raw, with its VINs before and after (a
-- new sale of a VIN changes who owned it before), and each record of
-- resolve.customer_source_map that was added, moved to another customer (a merge, a split,
-- a forgotten person) or removed. A statement that changes more rows than an increment would
-- (a first landing, a first resolve) or a truncation notes `everything` instead: the next
-- build rebuilds in full. A build removes the notes it saw when it started
-- (orchestration/builds.py), like raw.model_input_changes.
create table if not exists raw.model_changed_records (
    change_id bigint generated always as identity primary key,
    source text not null,
    source_record_id text,  -- null with source 'everything'
    vin text,
    trade_in_vin text
);

-- Rows one statement may change and still be noted one by one; past it, `everything`.
create or replace function raw.changed_rows_limit() returns bigint
language sql immutable as $$ select 100000::bigint $$;

-- Each transition table is read only in a branch of the events that have it: PL/pgSQL plans
-- a statement when it first runs, and one naming a table its trigger lacks would not plan.
create or replace function raw.note_changed_records() returns trigger
language plpgsql security definer set search_path = pg_catalog, raw as $$
declare
    changed bigint := 0;
begin
    if tg_op = 'TRUNCATE' then
        changed := raw.changed_rows_limit() + 1;
    elsif tg_op = 'DELETE' then
        changed := (select count(*) from old_rows);
    else
        changed := (select count(*) from new_rows);
    end if;
    if changed > raw.changed_rows_limit() then
        insert into raw.model_changed_records (source) values ('everything');
        return null;
    end if;
    -- (each statement is planned for the table whose trigger runs it: sales have a trade-in
    -- VIN, leads no VIN)
    if tg_op <> 'DELETE' and tg_table_name = 'dealer_sales' then
        insert into raw.model_changed_records (source, source_record_id, vin, trade_in_vin)
        select tg_table_name, source_record_id, vin, trade_in_vin from new_rows;
    elsif tg_op <> 'DELETE' and tg_table_name = 'crm_leads' then
        insert into raw.model_changed_records (source, source_record_id)
        select tg_table_name, source_record_id from new_rows;
    elsif tg_op <> 'DELETE' then
        insert into raw.model_changed_records (source, source_record_id, vin)
        select tg_table_name, source_record_id, vin from new_rows;
    end if;
    if tg_op <> 'INSERT' and tg_table_name = 'dealer_sales' then
        insert into raw.model_changed_records (source, source_record_id, vin, trade_in_vin)
        select tg_table_name, source_record_id, vin, trade_in_vin from old_rows;
    elsif tg_op <> 'INSERT' and tg_table_name = 'crm_leads' then
        insert into raw.model_changed_records (source, source_record_id)
        select tg_table_name, source_record_id from old_rows;
    elsif tg_op <> 'INSERT' then
        insert into raw.model_changed_records (source, source_record_id, vin)
        select tg_table_name, source_record_id, vin from old_rows;
    end if;
    return null;
end
$$;

create or replace function raw.note_changed_map() returns trigger
language plpgsql security definer set search_path = pg_catalog, raw as $$
begin
    if tg_op = 'TRUNCATE' then
        insert into raw.model_changed_records (source) values ('everything');
    elsif tg_op = 'UPDATE' then
        -- a record that stays with its customer (a new match probability: an increment
        -- rescores every record it re-clusters) changes no mart row
        insert into raw.model_changed_records (source, source_record_id)
        select n.source, n.source_record_id
        from old_rows as o
        inner join new_rows as n using (source, source_record_id)
        where o.customer_id is distinct from n.customer_id;
    elsif tg_op = 'INSERT' and (select count(*) from new_rows) > raw.changed_rows_limit() then
        insert into raw.model_changed_records (source) values ('everything');
    elsif tg_op = 'INSERT' then
        insert into raw.model_changed_records (source, source_record_id)
        select source, source_record_id from new_rows;
    elsif (select count(*) from old_rows) > raw.changed_rows_limit() then
        insert into raw.model_changed_records (source) values ('everything');
    else
        insert into raw.model_changed_records (source, source_record_id)
        select source, source_record_id from old_rows;
    end if;
    return null;
end
$$;

-- One trigger per event: PostgreSQL gives transition tables only to single-event triggers.
do $$
declare
    target text;
    noting text;
begin
    foreach target in array array[
        'raw.dealer_sales', 'raw.service_orders', 'raw.oem_registrations', 'raw.crm_leads',
        'resolve.customer_source_map'
    ] loop
        noting := case when target = 'resolve.customer_source_map'
            then 'raw.note_changed_map()' else 'raw.note_changed_records()' end;
        execute 'drop trigger if exists note_inserted_rows on ' || target;
        execute 'drop trigger if exists note_updated_rows on ' || target;
        execute 'drop trigger if exists note_deleted_rows on ' || target;
        execute 'drop trigger if exists note_truncation on ' || target;
        execute 'create trigger note_inserted_rows after insert on ' || target
            || ' referencing new table as new_rows for each statement execute function ' || noting;
        execute 'create trigger note_updated_rows after update on ' || target
            || ' referencing old table as old_rows new table as new_rows'
            || ' for each statement execute function ' || noting;
        execute 'create trigger note_deleted_rows after delete on ' || target
            || ' referencing old table as old_rows for each statement execute function ' || noting;
        execute 'create trigger note_truncation after truncate on ' || target
            || ' for each statement execute function ' || noting;
    end loop;
end
$$;

-- Nothing noted yet says nothing about what was built before this migration: rebuild in full.
insert into raw.model_changed_records (source) values ('everything');
