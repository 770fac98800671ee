{{
    config(
        indexes=[
            {'columns': ['customer_id']},
            {'columns': ['dealer_code', 'brand']},
        ],
    )
}}

with

value_lines as (

    select * from {{ ref('int_customer_value_lines') }}
    where customer_id is not null

),

final as (

    select
        customer_id,
        dealer_code,
        brand,
        coalesce(sum(amount) filter (where value_type = 'sales'), 0) as sales_amount,
        coalesce(sum(amount) filter (where value_type = 'service'), 0) as service_amount,
        coalesce(sum(amount) filter (where value_type = 'warranty'), 0) as warranty_amount,
        coalesce(sum(amount) filter (where value_type = 'internal'), 0) as internal_amount,
        coalesce(sum(amount) filter (where value_type = 'unclassified'), 0) as unclassified_service_amount,
        count(*) filter (where value_type = 'sales') as purchase_count,
        count(*) filter (where source = 'service_orders') as service_visit_count,
        min(line_date) as first_transaction_date,
        max(line_date) as last_transaction_date

    from value_lines
    group by customer_id, dealer_code, brand

)

select * from final
