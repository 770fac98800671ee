-- Every landed sale, repair order, registration (or transfer) and lead is exactly one
-- event under a customer; a row here is a record missing from customer_events, or an
-- event that no landed record explains.
with

landed as (

    select 'dealer_sales' as source, source_record_id from {{ source('raw', 'dealer_sales') }}
    union all
    select 'service_orders', source_record_id from {{ source('raw', 'service_orders') }}
    union all
    select 'oem_registrations', source_record_id from {{ source('raw', 'oem_registrations') }}
    union all
    select 'crm_leads', source_record_id from {{ source('raw', 'crm_leads') }}

),

events as (

    select source, source_record_id from {{ ref('customer_events') }}

),

final as (

    select
        coalesce(landed.source, events.source) as source,
        coalesce(landed.source_record_id, events.source_record_id) as source_record_id,
        landed.source is not null as is_landed,
        events.source is not null as is_event

    from landed
    full outer join events
        on landed.source = events.source
        and landed.source_record_id = events.source_record_id

)

select * from final
where not (is_landed and is_event)
