-- What dbt reads changed since the marts were last built (orchestration/modeling.py): every
-- statement that writes one of the dbt project's source tables, by any writer (landing,
-- resolve, forget, an export's audit rows, a person at psql), notes it here in its own
-- transaction. A build removes the notes it saw when it started; a run that finds none, and
-- the marts built for the same day and project (raw.model_builds), keeps the marts as they
-- are instead of rebuilding them. A note committed late (a writer still open when a build
-- started) stays for the next run.
create table if not exists raw.model_input_changes (
    change_id bigint generated always as identity primary key,
    table_name text not null,
    changed_at timestamptz not null default now()
);

-- The last complete build of every mart: what it was built for (the day, the as_of var and
-- a fingerprint of the dbt project). Deleted when a build starts, written when one succeeds,
-- so a build that failed or was killed is never taken for a complete one.
create table if not exists raw.model_builds (
    singleton boolean primary key default true check (singleton),
    built_for jsonb not null,
    built_at timestamptz not null default now()
);

-- Security definer: a login role allowed to write a source (the audit log of its own
-- exports) need not be granted the notes table.
create or replace function raw.note_model_input_change() returns trigger
language plpgsql security definer set search_path = pg_catalog, raw as $$
begin
    insert into raw.model_input_changes (table_name) values (tg_table_schema || '.' || tg_table_name);
    return null;
end
$$;

do $$
declare
    source text;
begin
    foreach source in array array[
        'raw.dealers', 'raw.dealer_sales', 'raw.service_orders', 'raw.oem_registrations',
        'raw.crm_leads', 'raw.oem_recalls', 'resolve.customer_source_map',
        'resolve.standardized_records', 'raw.audit_log', 'raw.export_members'
    ] loop
        -- (concatenated: the migration runner's driver reads a percent sign as a parameter)
        execute 'drop trigger if exists note_model_input_change on ' || source;
        execute 'create trigger note_model_input_change'
            ' after insert or update or delete or truncate on ' || source
            || ' for each statement execute function raw.note_model_input_change()';
    end loop;
end
$$;

-- Nothing noted yet says nothing about what was built before this migration: build once.
insert into raw.model_input_changes (table_name) values ('migration 0014');
