{#-
    The lifetime-value rule, in one place: every sale counts its price once, under its
    buyer, as `sales`; every repair order counts its total under the customer it was
    attributed to, as `service` when the customer paid, `warranty` or `internal` otherwise
    (seed service_pay_types), `unclassified` when the export gave no pay type.
-#}
{{ config(materialized='view') }}

with

sales as (

    select * from {{ ref('int_sales') }}

),

service_orders as (

    select * from {{ ref('int_service_orders') }}

),

final as (

    select
        'dealer_sales:' || source_record_id as value_line_id,
        customer_id,
        'dealer_sales' as source,
        source_record_id,
        deal_date as line_date,
        dealer_code,
        coalesce(brand, 'Unknown') as brand,
        'sales' as value_type,
        coalesce(sale_amount, 0) as amount
    from sales

    union all

    select
        'service_orders:' || source_record_id as value_line_id,
        customer_id,
        'service_orders' as source,
        source_record_id,
        open_date as line_date,
        dealer_code,
        coalesce(brand, 'Unknown') as brand,
        coalesce(value_type, 'unclassified') as value_type,
        coalesce(total_amount, 0) as amount
    from service_orders

)

select * from final
