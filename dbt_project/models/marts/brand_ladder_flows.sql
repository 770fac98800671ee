{#-
    The brand ladder without people: how many purchases moved from one brand to another, per
    year of the later purchase. What a manufacturer's role reads instead of
    brand_ladder_moves, whose rows are customers (dbt_project/macros/access.sql).
-#}
with

moves as (

    select * from {{ ref('brand_ladder_moves') }}

),

final as (

    select
        from_brand,
        to_brand,
        from_manufacturer_group,
        to_manufacturer_group,
        move_type,
        extract(year from to_date)::integer as to_year,
        count(*) as move_count,
        count(distinct customer_id) as customer_count,
        round(avg(years_between_purchases), 1) as avg_years_between_purchases,
        round(avg(to_price_amount - from_price_amount), 2) as avg_price_change_amount

    from moves
    group by 1, 2, 3, 4, 5, 6

)

select * from final
