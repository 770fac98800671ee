-- Identity: which landed person records are one customer, why, and how IDs evolved.
-- Written by entity_resolution.resolve(); customer_source_map is in the output contract.

create sequence if not exists resolve.customer_number_seq;

-- Every run of the resolver, with its counts and the m/u parameters it learnt.
create table if not exists resolve.runs (
    run_id bigserial primary key,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    records integer,
    customers integer,
    records_kept_id integer,  -- records whose customer_id is the same as after the last run
    records_before integer,  -- records that already had a customer_id before this run
    summary jsonb not null default '{}'::jsonb,
    parameters jsonb not null default '{}'::jsonb
);

-- Every customer ID ever issued. Retired IDs (merged into another, or left without
-- records) are kept so an old ID can always be followed through customer_id_history.
create table if not exists resolve.customers (
    customer_id text primary key,
    created_at timestamptz not null default now(),
    created_run_id bigint references resolve.runs (run_id),
    retired_at timestamptz,
    record_count integer not null default 0
);

-- Output contract: one row per landed person record.
create table if not exists resolve.customer_source_map (
    source text not null,
    source_record_id text not null,
    customer_id text not null,
    match_probability double precision not null,
    run_id bigint,
    primary key (source, source_record_id)
);
create index if not exists customer_source_map_customer_idx
    on resolve.customer_source_map (customer_id);

-- Old ID → the ID that replaced it: `merge` when two customers became one (the older
-- ID survives), `split` when part of a customer became a new one (the larger part
-- keeps the ID).
create table if not exists resolve.customer_id_history (
    history_id bigserial primary key,
    old_customer_id text not null,
    new_customer_id text not null,
    changed_at timestamptz not null default now(),
    reason text not null check (reason in ('merge', 'split')),
    records_moved integer,
    run_id bigint references resolve.runs (run_id)
);
create index if not exists customer_id_history_old_idx
    on resolve.customer_id_history (old_customer_id);

-- Why records are one customer: for each customer, the links of its strongest spanning
-- tree (every record is reachable through them), with the evidence field by field:
-- evidence = {comparison: {"level": label, "weight": bits}}, weights in bits (log2 of
-- the Bayes factor; term-frequency adjustment included). Records identical to the
-- stored one on every identity field are represented by it.
create table if not exists resolve.match_evidence (
    source_a text not null,
    source_record_id_a text not null,
    source_b text not null,
    source_record_id_b text not null,
    customer_id text not null,
    match_probability double precision not null,
    match_weight double precision not null,
    evidence jsonb not null,
    run_id bigint
);
-- Rebuilt whole on every run (one row per link of each customer's tree, unique by
-- construction), so it carries no primary key to maintain; it is read by customer.
create index if not exists match_evidence_customer_idx on resolve.match_evidence (customer_id);

-- Pairs the model is unsure about (probability in the review band) that were left in
-- different customers; a person settles them in review_decisions.
create table if not exists resolve.review_queue (
    source_a text not null,
    source_record_id_a text not null,
    source_b text not null,
    source_record_id_b text not null,
    customer_id_a text not null,
    customer_id_b text not null,
    match_probability double precision not null,
    match_weight double precision not null,
    evidence jsonb not null,
    queued_at timestamptz not null default now(),
    run_id bigint,
    primary key (source_a, source_record_id_a, source_b, source_record_id_b)
);

-- A person's verdict on a pair; every later run honours it.
create table if not exists resolve.review_decisions (
    source_a text not null,
    source_record_id_a text not null,
    source_b text not null,
    source_record_id_b text not null,
    decision text not null check (decision in ('must_link', 'cannot_link')),
    decided_by text not null,
    decided_at timestamptz not null default now(),
    note text,
    primary key (source_a, source_record_id_a, source_b, source_record_id_b)
);

-- The standardized identity fields of each person record, as matched (E.164 phones,
-- folded names, placeholders and shared contacts removed). For golden records.
create table if not exists resolve.standardized_records (
    source text not null,
    source_record_id text not null,
    first_name text,
    last_name text,
    suffix text,
    company text,
    birth_date date,
    phone text,
    email text,
    street text,
    city text,
    postal_code text,
    vin text,
    vin_epoch text
);
-- Rebuilt whole on every run, one row per record of customer_source_map (same key).
create index if not exists standardized_records_record_idx
    on resolve.standardized_records (source, source_record_id);

comment on column resolve.customer_source_map.customer_id is
    'C + 9 digits from resolve.customer_number_seq; kept across runs (see customer_id_history).';
comment on column resolve.customer_source_map.match_probability is
    'Posterior probability of the strongest link tying this record into its customer (1 when '
    'the record is alone or identical to another on every identity field; 1 for a reviewer''s '
    'must_link).';
comment on table resolve.review_decisions is
    'Insert must_link / cannot_link for a pair of records (either order); the next resolve '
    'honours it, and every one after.';
