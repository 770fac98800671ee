{#-
    What an incremental build of customer_events rebuilds: every event of a customer that a
    record entered or left (a new record, a merge, a split, a forgotten person), every event
    of a record that changed in raw, and every event on a VIN such a record or customer has
    or had (a new sale of a VIN ends its earlier owner's period, and a repair order's vehicle
    and ownership period are read from every record of its VIN). An event depends on nothing
    else that a build can change without rebuilding in full (seeds and the project:
    orchestration/builds.py). One row per (kind, key); empty when nothing changed.
-#}

with

changed_records as (

    select
        source,
        source_record_id,
        upper(vin) as vin,
        upper(trade_in_vin) as trade_in_vin
    from {{ source('builds', 'model_changed_records') }}
    where source <> 'everything'

),

changed_customers as (

    select distinct customer_id
    from {{ source('builds', 'model_changed_customers') }}
    where customer_id is not null

),

-- the VINs of the changed customers' records as they are now (each record that moved kept
-- its VINs, or it changed in raw and its old VINs are noted above)
customer_vins as (

    select sales.vin, sales.trade_in_vin
    from {{ ref('int_sales') }} as sales
    where sales.customer_id in (select customer_id from changed_customers)

    union all

    select service_orders.vin, null as trade_in_vin
    from {{ ref('int_service_orders') }} as service_orders
    where service_orders.customer_id in (select customer_id from changed_customers)

    union all

    select registrations.vin, null as trade_in_vin
    from {{ ref('int_registrations') }} as registrations
    where registrations.customer_id in (select customer_id from changed_customers)

),

vins as (

    select vin from changed_records
    union
    select trade_in_vin from changed_records
    union
    select vin from customer_vins
    union
    select trade_in_vin from customer_vins

),

final as (

    select 'customer' as kind, customer_id as key from changed_customers
    union
    select 'vin' as kind, vin as key from vins where vin is not null
    union
    select 'event' as kind, source || ':' || source_record_id as key from changed_records

)

select * from final
