{#-
    Incremental at record grain: a repair order's row reads its own record, its customer and
    its VIN's description (which only the VIN's sales and registrations write), so a build
    rebuilds the changed repair orders and those of a changed VIN (macros/incremental.sql
    deletes them first), and the whole table on --full-refresh. Logged, as a kept table must
    be (see int_person_records).
-#}
-- depends_on: {{ ref('int_changed_events') }}
{{
    config(
        materialized='incremental',
        full_refresh=(true if as_of_date() | trim != 'current_date' else none),
        incremental_strategy='append',
        unlogged=false,
        pre_hook=["{{ delete_changed_records_or_vins('service_orders') }}"],
    )
}}

with

service_orders as (

    select * from {{ ref('stg_raw__service_orders') }}
    {{ where_changed('service_orders', vin='vin') }}

),

source_map as (

    select * from {{ ref('stg_resolve__customer_source_map') }}
    where source = 'service_orders'

),

vehicles as (

    select * from {{ ref('int_vehicles') }}

),

service_pay_types as (

    select * from {{ ref('service_pay_types') }}

),

final as (

    select
        service_orders.source_record_id,
        source_map.customer_id,
        service_orders.dealer_code,
        service_orders.ro_number,
        service_orders.open_date,
        service_orders.vin,
        service_orders.is_vin_valid,
        vehicles.brand,
        vehicles.manufacturer_group,
        vehicles.model,
        vehicles.model_year,
        service_orders.mileage,
        service_orders.pay_type,
        service_pay_types.value_type,
        coalesce(service_pay_types.is_customer_paid, false) as is_customer_paid,
        service_orders.labor_amount,
        service_orders.parts_amount,
        service_orders.total_amount,
        service_orders.description,
        service_orders.recall_campaign_id

    from service_orders
    left join source_map on service_orders.source_record_id = source_map.source_record_id
    left join vehicles on service_orders.vin = vehicles.vin
    left join service_pay_types on service_orders.pay_type = service_pay_types.pay_type

)

select * from final
