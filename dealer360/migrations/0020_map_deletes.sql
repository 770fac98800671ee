-- A record deleted from raw leaves resolve.customer_source_map at the next run, and the
-- delete failed: the note of 0018 read `new_rows` in a condition PL/pgSQL also evaluates on
-- a DELETE, whose trigger has no such transition table ("relation new_rows does not
-- exist"), so the run stopped. Each transition table is now read only in the branch of the
-- event that has it (as 0017 does for the standardized rows). Otherwise as in 0018.
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
    elsif tg_op = 'INSERT' then
        if (select count(*) from new_rows) > raw.changed_rows_limit() then
            insert into raw.model_changed_records (source) values ('everything');
        else
            insert into raw.model_changed_records (source, source_record_id, customer_id)
            select source, source_record_id, customer_id from new_rows;
        end if;
    elsif (select count(*) from old_rows) > raw.changed_rows_limit() then
        insert into raw.model_changed_records (source) values ('everything');
    else
        insert into raw.model_changed_records (source, source_record_id, customer_id)
        select source, source_record_id, customer_id from old_rows;
    end if;
    return null;
end
$$;
