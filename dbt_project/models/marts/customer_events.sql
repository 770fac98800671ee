{#-
    Incremental: a build rebuilds only the events that changed (int_changed_events says
    which, macros/incremental.sql deletes them first), and rebuilds the whole table when
    orchestration/builds.py passes --full-refresh. Nothing here depends on the day. A build
    as known on another day (the as_of_date var) is always in full: no row of it is kept.
-#}
-- depends_on: {{ ref('int_changed_events') }}
{{
    config(
        materialized='incremental',
        full_refresh=(true if as_of_date() | trim != 'current_date' else none),
        incremental_strategy='append',
        pre_hook=["{{ delete_changed_events() }}"],
        indexes=[
            {'columns': ['customer_id', 'event_date']},
        ],
    )
}}

with

sales as (

    select * from {{ ref('int_sales') }}

),

service_orders as (

    select * from {{ ref('int_service_orders') }}

),

registrations as (

    select * from {{ ref('int_registrations') }}

),

leads as (

    select * from {{ ref('int_leads') }}

),

service_visits as (

    select * from {{ ref('int_service_visits') }}

),

events as (

    select
        customer_id,
        deal_date as event_date,
        'sale' as event_type,
        dealer_code,
        brand,
        vin,
        sale_amount as amount,
        'dealer_sales' as source,
        source_record_id,
        concat_ws(' ', model_year, brand, model)
            || coalesce(' (' || condition || ')', '')
            || coalesce(', ' || payment_type, '')
            || coalesce(' ' || term_months || ' months', '')
            || coalesce('; traded in ' || trade_in_vin, '') as description,
        model,
        model_year,
        null as pay_type,
        null::integer as mileage,
        is_vin_valid
    from sales

    union all

    select
        customer_id,
        open_date as event_date,
        'service' as event_type,
        dealer_code,
        brand,
        vin,
        total_amount as amount,
        'service_orders' as source,
        source_record_id,
        coalesce(description, 'repair order')
            || coalesce(' (' || pay_type || ' pay)', '') as description,
        model,
        model_year,
        pay_type,
        mileage,
        is_vin_valid
    from service_orders

    union all

    select
        customer_id,
        registration_date as event_date,
        case registration_event when 'transfer' then 'transfer' else 'registration' end as event_type,
        null as dealer_code,
        brand,
        vin,
        null as amount,
        'oem_registrations' as source,
        source_record_id,
        concat_ws(' ', brand, case registration_event
            when 'transfer' then 'ownership transfer'
            else 'owner registration'
        end)
            || case has_marketing_consent
                when true then ' (consents to marketing)'
                when false then ' (refuses marketing)'
                else ''
            end as description,
        null as model,
        null as model_year,
        null as pay_type,
        null as mileage,
        is_vin_valid
    from registrations

    union all

    select
        customer_id,
        created_date as event_date,
        'lead' as event_type,
        dealer_code,
        interest_brand as brand,
        null as vin,
        null as amount,
        'crm_leads' as source,
        source_record_id,
        concat_ws(' ', replace(lead_source, '_', '-'), 'lead')
            || coalesce(' for ' || nullif(concat_ws(' ', interest_brand, interest_model), ''), '')
            || coalesce(' (' || lead_status || ')', '') as description,
        interest_model as model,
        null as model_year,
        null as pay_type,
        null as mileage,
        null as is_vin_valid
    from leads

),

final as (

    select
        events.source || ':' || events.source_record_id as event_id,
        events.customer_id,
        events.event_date,
        events.event_type,
        events.dealer_code,
        events.brand,
        events.vin,
        events.amount,
        events.source,
        events.source_record_id,
        events.description,
        events.model,
        events.model_year,
        events.pay_type,
        events.mileage,
        events.is_vin_valid,
        service_visits.ownership_id

    from events
    left join service_visits
        on events.source = 'service_orders'
        and events.source_record_id = service_visits.source_record_id
    where events.customer_id is not null
    {%- if is_incremental() %}
        and {{ is_changed_event("events.source || ':' || events.source_record_id", 'events.vin') }}
    {%- endif %}

)

select * from final
