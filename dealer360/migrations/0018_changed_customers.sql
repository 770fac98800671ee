-- The customer a record of resolve.customer_source_map belonged to before it moved or went
-- (a merge, a split, a forget): customer-grain incremental models (int_customer_golden_record)
-- rebuild that customer too, or drop it when it has no record left. Otherwise as in 0016.
alter table raw.model_changed_records add column if not exists customer_id text;

create or replace function raw.note_changed_map() returns trigger
language plpgsql security definer set search_path = pg_catalog, raw as $$
begin
    if tg_op = 'TRUNCATE' then
        insert into raw.model_changed_records (source) values ('everything');
    elsif tg_op = 'UPDATE' then
        -- a record that stays with its customer (a new match probability: an increment
        -- rescores every record it re-clusters) changes no mart row
        insert into raw.model_changed_records (source, source_record_id, customer_id)
        select n.source, n.source_record_id, o.customer_id
        from old_rows as o
        inner join new_rows as n using (source, source_record_id)
        where o.customer_id is distinct from n.customer_id;
    elsif tg_op = 'INSERT' and (select count(*) from new_rows) > raw.changed_rows_limit() then
        insert into raw.model_changed_records (source) values ('everything');
    elsif tg_op = 'INSERT' then
        insert into raw.model_changed_records (source, source_record_id, customer_id)
        select source, source_record_id, customer_id from new_rows;
    elsif (select count(*) from old_rows) > raw.changed_rows_limit() then
        insert into raw.model_changed_records (source) values ('everything');
    else
        insert into raw.model_changed_records (source, source_record_id, customer_id)
        select source, source_record_id, customer_id from old_rows;
    end if;
    return null;
end
$$;

-- int_customer_golden_record becomes incremental with this migration: build it once in full.
insert into raw.model_changed_records (source) values ('everything');
