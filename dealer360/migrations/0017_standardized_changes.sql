-- resolve writes only the standardized rows whose values changed (entity_resolution/pipeline.py
-- `_write_standardized`): each row carries a hash of its values as resolve computed them. A
-- row without one (written before this migration, or blanked by a forget) is written again.
alter table resolve.standardized_records add column if not exists values_hash bigint;

-- Each standardized record written, rewritten or removed is a changed record for the
-- incremental marts (raw.model_changed_records, migration 0016): a repair order's name as
-- the resolver split it is what int_person_records shows.
create or replace function raw.note_changed_standardized() returns trigger
language plpgsql security definer set search_path = pg_catalog, raw as $$
begin
    -- (each transition table is read only in the branch of the event that has it)
    if tg_op = 'TRUNCATE' then
        insert into raw.model_changed_records (source) values ('everything');
    elsif tg_op = 'DELETE' then
        if (select count(*) from old_rows) > raw.changed_rows_limit() then
            insert into raw.model_changed_records (source) values ('everything');
        else
            insert into raw.model_changed_records (source, source_record_id)
            select source, source_record_id from old_rows;
        end if;
    elsif (select count(*) from new_rows) > raw.changed_rows_limit() then
        insert into raw.model_changed_records (source) values ('everything');
    else
        -- an insert, or an update (a forget): the rows as they are now name the records
        insert into raw.model_changed_records (source, source_record_id)
        select source, source_record_id from new_rows;
    end if;
    return null;
end
$$;

drop trigger if exists note_inserted_rows on resolve.standardized_records;
drop trigger if exists note_updated_rows on resolve.standardized_records;
drop trigger if exists note_deleted_rows on resolve.standardized_records;
drop trigger if exists note_truncation on resolve.standardized_records;
create trigger note_inserted_rows after insert on resolve.standardized_records
    referencing new table as new_rows
    for each statement execute function raw.note_changed_standardized();
create trigger note_updated_rows after update on resolve.standardized_records
    referencing old table as old_rows new table as new_rows
    for each statement execute function raw.note_changed_standardized();
create trigger note_deleted_rows after delete on resolve.standardized_records
    referencing old table as old_rows
    for each statement execute function raw.note_changed_standardized();
create trigger note_truncation after truncate on resolve.standardized_records
    for each statement execute function raw.note_changed_standardized();

-- int_person_records becomes incremental with this migration: build it once in full.
insert into raw.model_changed_records (source) values ('everything');

-- int_person_records checks every record's phone against the dealers' own numbers (a phone
-- that is a rooftop's is nobody's): a dealer's number added, changed or removed changes
-- records that did not change themselves, so the next build is in full.
create or replace function raw.note_dealer_phones() returns trigger
language plpgsql security definer set search_path = pg_catalog, raw as $$
declare
    changed boolean;
begin
    -- (each transition table is read only in the branch of the event that has it)
    if tg_op = 'TRUNCATE' then
        changed := true;
    elsif tg_op = 'INSERT' then
        changed := exists (select from new_rows where phone is not null);
    elsif tg_op = 'DELETE' then
        changed := exists (select from old_rows where phone is not null);
    else
        changed := exists (
            select from old_rows as o
            full join new_rows as n using (source_record_id)
            where o.phone is distinct from n.phone
        );
    end if;
    if changed then
        insert into raw.model_changed_records (source) values ('everything');
    end if;
    return null;
end
$$;

drop trigger if exists note_inserted_phones on raw.dealers;
drop trigger if exists note_updated_phones on raw.dealers;
drop trigger if exists note_deleted_phones on raw.dealers;
drop trigger if exists note_truncated_phones on raw.dealers;
create trigger note_inserted_phones after insert on raw.dealers
    referencing new table as new_rows for each statement execute function raw.note_dealer_phones();
create trigger note_updated_phones after update on raw.dealers
    referencing old table as old_rows new table as new_rows
    for each statement execute function raw.note_dealer_phones();
create trigger note_deleted_phones after delete on raw.dealers
    referencing old table as old_rows for each statement execute function raw.note_dealer_phones();
create trigger note_truncated_phones after truncate on raw.dealers
    for each statement execute function raw.note_dealer_phones();
