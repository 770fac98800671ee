-- Round 2 of the landing contract (ingest/contract.py, shared/contracts/landing.md): optional
-- columns added to four sources, and the manufacturers' recall campaigns as a new source.
-- Every contract column is text, as in 0002_raw.sql; typing happens in dbt staging. A file
-- without the new columns lands them null, as before.

alter table raw.dealers
    add column if not exists legal_entity text;
alter table raw.dealer_sales
    add column if not exists amount_financed text,
    add column if not exists apr text,
    add column if not exists monthly_payment text;
alter table raw.service_orders
    add column if not exists recall_campaign text;
alter table raw.crm_leads
    add column if not exists provider text,
    add column if not exists cost_amount text;

-- row_hash covers every contract column, so the rows landed before this migration get the
-- hash landing now gives them (new columns null): a row sent again unchanged in a new file
-- still changes nothing. Each expression is ingest.merge.row_hash_sql(source, 't', 't.extra')
-- (tests/test_contract.py holds them to it).
update raw.dealers as t set row_hash = to_hex(hash_record_extended(row(
    t.dealer_code, t.dealer_name, t.brands, t.city, t.region, t.phone, t.legal_entity, t.extra
), 0));
update raw.dealer_sales as t set row_hash = to_hex(hash_record_extended(row(
    t.dealer_code, t.deal_id, t.deal_date, t.first_name, t.last_name, t.company_name, t.email,
    t.phone, t.street, t.city, t.region, t.postal_code, t.birth_date, t.vin, t.make, t.model,
    t.model_year, t.condition, t.sale_price, t.payment_type, t.term_months, t.trade_in_vin,
    t.amount_financed, t.apr, t.monthly_payment, t.extra
), 0));
update raw.service_orders as t set row_hash = to_hex(hash_record_extended(row(
    t.dealer_code, t.ro_number, t.open_date, t.customer_name, t.phone, t.email, t.vin,
    t.mileage, t.pay_type, t.labor_amount, t.parts_amount, t.total_amount, t.description,
    t.recall_campaign, t.extra
), 0));
update raw.crm_leads as t set row_hash = to_hex(hash_record_extended(row(
    t.dealer_code, t.lead_id, t.created_at, t.source, t.first_name, t.last_name, t.email,
    t.phone, t.interest_make, t.interest_model, t.status, t.provider, t.cost_amount, t.extra
), 0));

create table if not exists raw.oem_recalls (
    source_record_id text primary key,
    brand text not null,
    campaign_id text not null,
    vin text not null,
    issued_date text not null,
    description text,
    remedy_available text,
    is_vin_valid boolean not null,
    extra jsonb not null default '{}',
    file_name text not null,
    row_number integer not null,
    row_hash text not null,
    loaded_at timestamptz not null default now()
);

comment on table raw.oem_recalls is
    'One row per VIN a manufacturer recall campaign covers. A recall is done when a repair '
    'order at any rooftop carries its campaign_id for that VIN on or after issued_date.';
comment on column raw.oem_recalls.source_record_id is
    'Natural key of the landing contract: brand || '':'' || campaign_id || '':'' || vin.';
comment on column raw.dealers.legal_entity is
    'The company owning the rooftop: rooftops with the same legal_entity are one sender of '
    'commercial messages (CASL); null: the rooftop is its own.';
comment on column raw.service_orders.recall_campaign is
    'The oem_recalls campaign_id performed on this repair order, if any.';
comment on column raw.crm_leads.provider is
    'The third-party site or vendor that sold or sent the lead; null for the dealer''s own channels.';

-- Like the registrations, the recalls belong to the manufacturers: an OEM role reads its
-- brand's rows (granted roles read a raw table only when dealer360/access.py grants it).
alter table raw.oem_recalls enable row level security;
drop policy if exists brand_rows on raw.oem_recalls;
create policy brand_rows on raw.oem_recalls for select using (
    lower(brand) = lower((select brand from access.current_grant))
);
