{#-
    What an incremental build of customer_events rebuilds: the event of every record that
    changed in raw or in resolve.customer_source_map (added, moved to another customer,
    removed), and every event on a VIN that a changed sale or registration has or had. An
    event reads nothing else that can change between two builds: its own record and
    customer, and its vehicle's description and ownership periods, which only the sales and
    registrations of its VIN write (a repair order of another customer shows the model a
    new sale of its VIN says). Seeds and the project change only with a full build
    (orchestration/builds.py). `serviced_vin`: the VINs of changed repair orders, for what
    reads when a VIN was serviced (int_vehicles). One row per (kind, key); empty when
    nothing changed.
-#}

with

notes as (

    select * from {{ source('builds', 'model_changed_records') }}
    where source <> 'everything'

),

changed_records as (

    select distinct source, source_record_id from notes

),

-- the VINs of changed sales and registrations as they are now (a record that moved to
-- another customer kept its VINs; one that changed in raw has its old VINs noted)
current_vins as (

    select sales.vin, sales.trade_in_vin
    from {{ ref('int_sales') }} as sales
    inner join changed_records
        on changed_records.source = 'dealer_sales'
        and changed_records.source_record_id = sales.source_record_id

    union all

    select registrations.vin, null as trade_in_vin
    from {{ ref('int_registrations') }} as registrations
    inner join changed_records
        on changed_records.source = 'oem_registrations'
        and changed_records.source_record_id = registrations.source_record_id

),

noted_vins as (

    select upper(vin) as vin, upper(trade_in_vin) as trade_in_vin
    from notes
    where source in ('dealer_sales', 'oem_registrations')

),

vins as (

    select vin from current_vins
    union
    select trade_in_vin from current_vins
    union
    select vin from noted_vins
    union
    select trade_in_vin from noted_vins

),

-- the VINs of changed repair orders: before (noted) and now (a repair order that moved to
-- another customer keeps its VIN)
serviced_vins as (

    select upper(vin) as vin
    from notes
    where source = 'service_orders'

    union

    select vin from {{ ref('stg_raw__service_orders') }}
    where source_record_id = any(array(
        select source_record_id from changed_records where source = 'service_orders'
    ))

),

final as (

    select 'event' as kind, source || ':' || source_record_id as key from changed_records
    union all
    select 'vin' as kind, vin as key from vins where vin is not null
    union all
    select 'serviced_vin' as kind, vin as key from serviced_vins where vin is not null

)

select * from final
