-- Every landed sale, repair order, registration (or transfer) and lead is exactly one
-- event under a customer (each one known on as_of_date, when it is set). Events are built from the landed rows and event_id is tested
-- unique, so equal counts per source mean a one-to-one match; a row here is a source whose
-- counts differ (a record identity resolution left without a customer, or a duplicate).
{{ config(meta={'dagster': {'ref': {'name': 'customer_events'}}}) }}  -- shown in Dagster as a check on this mart
with

landed as (

    select 'dealer_sales' as source, count(*) as landed_count from {{ source('raw', 'dealer_sales') }}
    where {{ known_as_of('deal_date') }}
    union all
    select 'service_orders', count(*) from {{ source('raw', 'service_orders') }}
    where {{ known_as_of('open_date') }}
    union all
    select 'oem_registrations', count(*) from {{ source('raw', 'oem_registrations') }}
    where {{ known_as_of('registration_date') }}
    union all
    select 'crm_leads', count(*) from {{ source('raw', 'crm_leads') }}
    where {{ known_as_of('created_at') }}

),

events as (

    select source, count(*) as event_count
    from {{ ref('customer_events') }}
    group by source

),

final as (

    select
        landed.source,
        landed.landed_count,
        coalesce(events.event_count, 0) as event_count

    from landed
    left join events on landed.source = events.source

)

select * from final
where landed_count <> event_count
