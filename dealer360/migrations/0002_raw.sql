-- The raw layer: landed rows exactly as the landing contract names them (ingest/contract.py),
-- plus the load bookkeeping. Every contract column is text: trimmed, an empty cell is null,
-- an enumeration is stored in the contract's spelling; typing happens in dbt staging.
-- row_number counts the header as row 1, so it is the row a spreadsheet shows (and the
-- line a text editor shows unless an earlier value spans lines).

create table raw.dealers (
    source_record_id text primary key,
    dealer_code text not null,
    dealer_name text not null,
    brands text not null,
    city text,
    region text,
    phone text,
    extra jsonb not null default '{}',
    file_name text not null,
    row_number integer not null,
    row_hash text not null,
    loaded_at timestamptz not null default now()
);

create table raw.dealer_sales (
    source_record_id text primary key,
    dealer_code text not null,
    deal_id text not null,
    deal_date text not null,
    first_name text,
    last_name text,
    company_name text,
    email text,
    phone text,
    street text,
    city text,
    region text,
    postal_code text,
    birth_date text,
    vin text not null,
    make text,
    model text,
    model_year text,
    condition text,
    sale_price text,
    payment_type text,
    term_months text,
    trade_in_vin text,
    is_vin_valid boolean not null,
    is_trade_in_vin_valid boolean,
    extra jsonb not null default '{}',
    file_name text not null,
    row_number integer not null,
    row_hash text not null,
    loaded_at timestamptz not null default now()
);

create table raw.service_orders (
    source_record_id text primary key,
    dealer_code text not null,
    ro_number text not null,
    open_date text not null,
    customer_name text,
    phone text,
    email text,
    vin text not null,
    mileage text,
    pay_type text,
    labor_amount text,
    parts_amount text,
    total_amount text,
    description text,
    is_vin_valid boolean not null,
    extra jsonb not null default '{}',
    file_name text not null,
    row_number integer not null,
    row_hash text not null,
    loaded_at timestamptz not null default now()
);

create table raw.oem_registrations (
    source_record_id text primary key,
    brand text not null,
    registration_id text not null,
    vin text not null,
    registration_date text not null,
    event text,
    owner_first_name text,
    owner_last_name text,
    street text,
    city text,
    region text,
    postal_code text,
    phone text,
    email text,
    consent_marketing text,
    is_vin_valid boolean not null,
    extra jsonb not null default '{}',
    file_name text not null,
    row_number integer not null,
    row_hash text not null,
    loaded_at timestamptz not null default now()
);

create table raw.crm_leads (
    source_record_id text primary key,
    dealer_code text not null,
    lead_id text not null,
    created_at text not null,
    source text,
    first_name text,
    last_name text,
    email text,
    phone text,
    interest_make text,
    interest_model text,
    status text,
    extra jsonb not null default '{}',
    file_name text not null,
    row_number integer not null,
    row_hash text not null,
    loaded_at timestamptz not null default now()
);

create table raw.files (
    file_name text primary key,
    source text not null,
    sha256 text not null,
    size_bytes bigint not null,
    status text not null check (status in ('loaded', 'rejected', 'unchanged')),
    rows_read integer not null default 0,
    rows_loaded integer not null default 0,
    rows_inserted integer not null default 0,
    rows_updated integer not null default 0,
    rows_unchanged integer not null default 0,
    rows_quarantined integer not null default 0,
    message text,
    loaded_at timestamptz not null default now()
);

create table raw.quarantine (
    source text not null,
    file_name text not null,
    row_number integer not null,
    reason text not null,
    raw_values jsonb not null,
    quarantined_at timestamptz not null default now(),
    primary key (file_name, row_number)
);

comment on column raw.dealer_sales.source_record_id is
    'Natural key of the landing contract: dealer_code || '':'' || deal_id.';
comment on column raw.service_orders.source_record_id is
    'Natural key of the landing contract: dealer_code || '':'' || ro_number.';
comment on column raw.oem_registrations.source_record_id is
    'Natural key of the landing contract: registration_id.';
comment on column raw.crm_leads.source_record_id is
    'Natural key of the landing contract: dealer_code || '':'' || lead_id.';
comment on column raw.dealers.source_record_id is
    'Natural key of the landing contract: dealer_code.';
comment on column raw.dealer_sales.is_vin_valid is
    '17 characters, no I/O/Q, check digit in position 9 when the VIN is North-American (first character 1-5); judged case-insensitively.';
comment on column raw.dealer_sales.is_trade_in_vin_valid is
    'As is_vin_valid, for trade_in_vin; null when there is no trade-in VIN.';
comment on column raw.dealer_sales.extra is
    'Columns of the file that the contract does not name, as sent (empty cells left out).';
comment on column raw.dealer_sales.file_name is
    'The file, relative to the inbox, that last changed this row (a re-sent identical row keeps the first).';
comment on column raw.dealer_sales.row_number is
    'Row of that file, counting the header as row 1 (the row a spreadsheet shows).';
comment on column raw.dealer_sales.row_hash is
    'Hash of the contract values and extra: a row sent again with the same hash changes nothing.';

comment on table raw.files is
    'One row per file seen, by path relative to the inbox. status: loaded (its rows landed; '
    'rows_loaded = rows_inserted + rows_updated, and rows_read = rows_loaded + rows_unchanged + '
    'rows_quarantined), rejected (refused whole, see message; nothing of it landed), unchanged '
    '(same bytes as a file already loaded, named in message). A file sent again with the same '
    'bytes keeps its row as it was; with new bytes it is loaded again and its row replaced.';
comment on table raw.quarantine is
    'One row per data row that broke the landing contract, with the reason; a file loaded '
    'again replaces its quarantined rows. raw_values maps each header name to the cell as sent.';
