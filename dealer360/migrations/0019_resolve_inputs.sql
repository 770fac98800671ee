-- What resolve reads, noted on every write: the landed person tables, the dealers (their
-- own phone numbers are nobody's), reviewers' and marketers' decisions, and the forgotten
-- records. A run notes which notes it read before reading its inputs and removes them when
-- it has written its results (entity_resolution/pipeline.py), so a run that finds no note
-- left, with the code and settings of the last run, has nothing new to resolve and reads
-- nothing. A write that commits while a run reads leaves a note that run did not see: the
-- next run reads everything again. (Notes rather than one counter row: writers never wait
-- for each other.)
create table if not exists raw.resolve_input_changes (
    change_id bigint generated always as identity primary key,
    table_name text not null,
    noted_at timestamptz not null default now()
);

create or replace function raw.note_resolve_input() returns trigger
language plpgsql security definer set search_path = pg_catalog, raw as $$
begin
    insert into raw.resolve_input_changes (table_name) values (tg_table_schema || '.' || tg_table_name);
    return null;
end
$$;

do $$
declare
    target text;
begin
    foreach target in array array[
        'raw.dealer_sales', 'raw.service_orders', 'raw.oem_registrations', 'raw.crm_leads',
        'raw.dealers', 'resolve.review_decisions', 'privacy.forgotten_records'
    ] loop
        execute 'drop trigger if exists note_resolve_input on ' || target;
        execute 'create trigger note_resolve_input'
            || ' after insert or update or delete or truncate on ' || target
            || ' for each statement execute function raw.note_resolve_input()';
    end loop;
end
$$;

-- Nothing noted yet says nothing about what was resolved before this migration.
insert into raw.resolve_input_changes (table_name) values ('migration 0019');
