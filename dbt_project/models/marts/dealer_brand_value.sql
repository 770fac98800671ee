{#-
    Lifetime value by rooftop and make, without people: customer_value_by_dealer_brand summed
    over customers. What a manufacturer's role reads about its brand's dealers
    (dbt_project/macros/access.sql).
-#}
with

value_by_customer as (

    select * from {{ ref('customer_value_by_dealer_brand') }}

),

final as (

    select
        dealer_code,
        brand,
        count(distinct customer_id) as customer_count,
        sum(purchase_count) as purchase_count,
        sum(service_visit_count) as service_visit_count,
        sum(sales_amount) as sales_amount,
        sum(service_amount) as service_amount,
        sum(warranty_amount) as warranty_amount

    from value_by_customer
    group by dealer_code, brand

)

select * from final
