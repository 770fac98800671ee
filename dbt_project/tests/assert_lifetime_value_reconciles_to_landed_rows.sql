-- Every landed sale counts its price once and every landed repair order its total once,
-- in each mart that shows money (those known on as_of_date when it is set): a row here is
-- a measure that is off by even a cent.
{{ config(meta={'dagster': {'ref': {'name': 'customers'}}}) }}  -- shown in Dagster as a check on this mart
with

landed_sales as (

    select
        'sales' as measure,
        coalesce(sum(cast(sale_price as numeric)), 0) as amount
    from {{ source('raw', 'dealer_sales') }}
    where {{ known_as_of('deal_date') }}

),

landed_service as (

    select
        case lower(pay_type)
            when 'customer' then 'service'
            when 'warranty' then 'warranty'
            when 'internal' then 'internal'
            else 'unclassified'
        end as measure,
        coalesce(sum(coalesce(
            cast(total_amount as numeric),
            cast(labor_amount as numeric) + cast(parts_amount as numeric),
            cast(labor_amount as numeric),
            cast(parts_amount as numeric)
        )), 0) as amount
    from {{ source('raw', 'service_orders') }}
    where {{ known_as_of('open_date') }}
    group by 1

),

landed as (

    select measure, sum(amount) as amount
    from (
        select measure, amount from landed_sales
        union all
        select measure, amount from landed_service
        union all
        select measure, 0 from (values ('service'), ('warranty'), ('internal'), ('unclassified')) as zero (measure)
    ) as measures
    group by measure

),

customers as (

    select 'sales' as measure, sum(lifetime_sales_amount) as amount from {{ ref('customers') }}
    union all
    select 'service', sum(lifetime_service_amount) from {{ ref('customers') }}
    union all
    select 'warranty', sum(lifetime_warranty_amount) from {{ ref('customers') }}
    union all
    select 'internal', sum(lifetime_internal_amount) from {{ ref('customers') }}
    union all
    select 'unclassified', sum(lifetime_unclassified_service_amount) from {{ ref('customers') }}

),

by_dealer_brand as (

    select 'sales' as measure, sum(sales_amount) as amount from {{ ref('customer_value_by_dealer_brand') }}
    union all
    select 'service', sum(service_amount) from {{ ref('customer_value_by_dealer_brand') }}
    union all
    select 'warranty', sum(warranty_amount) from {{ ref('customer_value_by_dealer_brand') }}
    union all
    select 'internal', sum(internal_amount) from {{ ref('customer_value_by_dealer_brand') }}
    union all
    select 'unclassified', sum(unclassified_service_amount) from {{ ref('customer_value_by_dealer_brand') }}

),

events as (

    select
        case
            when event_type = 'sale' then 'sales'
            when pay_type = 'customer' then 'service'
            when pay_type in ('warranty', 'internal') then pay_type
            else 'unclassified'
        end as measure,
        sum(coalesce(amount, 0)) as amount
    from {{ ref('customer_events') }}
    where event_type in ('sale', 'service')
    group by 1

),

final as (

    select
        landed.measure,
        landed.amount as landed_amount,
        coalesce(customers.amount, 0) as customers_amount,
        coalesce(by_dealer_brand.amount, 0) as by_dealer_brand_amount,
        coalesce(events.amount, 0) as events_amount

    from landed
    left join customers on landed.measure = customers.measure
    left join by_dealer_brand on landed.measure = by_dealer_brand.measure
    left join events on landed.measure = events.measure

)

select * from final
where landed_amount <> customers_amount
    or landed_amount <> by_dealer_brand_amount
    or landed_amount <> events_amount
