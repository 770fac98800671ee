{#-
    Incremental at customer grain: a customer's lines read their sales and repair orders,
    and a repair order's brand its VIN's description, so a build rebuilds the changed
    customers and the owners of repair orders on a changed VIN (macros/incremental.sql
    deletes them first), and the whole table on --full-refresh.
-#}
-- depends_on: {{ ref('int_changed_events') }}
-- depends_on: {{ ref('int_service_orders') }}
-- depends_on: {{ ref('int_person_records') }}
{{
    config(
        materialized='incremental',
        full_refresh=(true if as_of_date() | trim != 'current_date' else none),
        incremental_strategy='append',
        pre_hook=["{{ delete_changed_customers(vins_of='int_service_orders') }}"],
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
    {%- if is_incremental() %}
        and customer_id in {{ changed_customers(vins_of='int_service_orders') }}
    {%- endif %}

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
