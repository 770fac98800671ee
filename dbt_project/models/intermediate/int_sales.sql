with

sales as (

    select * from {{ ref('stg_raw__dealer_sales') }}

),

source_map as (

    select * from {{ ref('stg_resolve__customer_source_map') }}
    where source = 'dealer_sales'

),

makes as (

    select * from {{ ref('int_makes') }}

),

vehicle_conditions as (

    select * from {{ ref('vehicle_conditions') }}

),

final as (

    select
        sales.source_record_id,
        source_map.customer_id,
        sales.dealer_code,
        sales.deal_id,
        sales.deal_date,
        sales.vin,
        sales.is_vin_valid,
        coalesce(makes.make, sales.make) as brand,
        makes.manufacturer_group,
        makes.tier,
        sales.model,
        sales.model_year,
        sales.condition,
        vehicle_conditions.acquired_as,
        sales.sale_amount,
        sales.payment_type,
        sales.term_months,
        case
            when sales.payment_type in ('finance', 'lease') and sales.term_months > 0
                then cast(sales.deal_date + make_interval(months => sales.term_months) as date)
        end as term_end_date,
        sales.financed_amount,
        sales.apr_percent,
        sales.monthly_payment_amount,
        sales.trade_in_vin,
        sales.is_trade_in_vin_valid

    from sales
    left join source_map on sales.source_record_id = source_map.source_record_id
    left join makes on lower(sales.make) = makes.make_key
    left join vehicle_conditions on sales.condition = vehicle_conditions.condition

)

select * from final
