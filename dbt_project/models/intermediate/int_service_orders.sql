with

service_orders as (

    select * from {{ ref('stg_raw__service_orders') }}

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
