{{
    config(
        indexes=[
            {'columns': ['customer_id']},
            {'columns': ['from_manufacturer_group', 'to_manufacturer_group']},
        ],
    )
}}

with

sales as (

    select * from {{ ref('int_sales') }}
    where customer_id is not null

),

-- a ladder step: a make with a next rung in its group (seed brands.next_ladder_make), the
-- ladder brand_ladder_opportunities offers
ladder_steps as (

    select make from {{ ref('brands') }}
    where next_ladder_make is not null

),

purchase_pairs as (

    select
        source_record_id as to_source_record_id,
        customer_id,
        lag(source_record_id) over by_customer as from_source_record_id,
        lag(brand) over by_customer as from_brand,
        brand as to_brand,
        lag(manufacturer_group) over by_customer as from_manufacturer_group,
        manufacturer_group as to_manufacturer_group,
        lag(tier) over by_customer as from_tier,
        tier as to_tier,
        lag(deal_date) over by_customer as from_date,
        deal_date as to_date,
        lag(sale_amount) over by_customer as from_price_amount,
        sale_amount as to_price_amount,
        dealer_code

    from sales
    window by_customer as (partition by customer_id order by deal_date, source_record_id)

),

final as (

    select
        to_source_record_id as move_id,
        customer_id,
        from_brand,
        to_brand,
        from_manufacturer_group,
        to_manufacturer_group,
        case
            when from_brand = to_brand then 'same_brand'
            when from_manufacturer_group is null or to_manufacturer_group is null then 'unknown'
            when from_manufacturer_group <> to_manufacturer_group then 'other_group'
            when to_tier > from_tier then 'climb'
            when to_tier < from_tier then 'step_down'
            else 'same_tier'
        end as move_type,
        from_tier,
        to_tier,
        ladder_steps.make is not null as is_from_ladder_step,
        from_date,
        to_date,
        from_price_amount,
        to_price_amount,
        {{ years_between('from_date', 'to_date') }} as years_between_purchases,
        dealer_code,
        from_source_record_id,
        to_source_record_id

    from purchase_pairs
    left join ladder_steps on purchase_pairs.from_brand = ladder_steps.make
    where from_source_record_id is not null

)

select * from final
