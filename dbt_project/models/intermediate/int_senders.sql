{#-
    Who sends a rooftop's commercial messages, as CASL sees it: the rooftop's legal_entity
    when dealers gives one (rooftops of one company are one sender), else the rooftop itself.
    A manufacturer sends as `oem:BRAND` (int_sender_consent). The one place this is decided.
-#}
with

dealers as (

    select * from {{ ref('stg_raw__dealers') }}

),

makes as (

    select * from {{ ref('int_makes') }}

),

dealer_brands as (

    select
        dealers.dealer_code,
        array_agg(distinct coalesce(makes.make, brand) order by coalesce(makes.make, brand))
            as brands

    from dealers
    cross join lateral unnest(dealers.brands) as brand
    left join makes on lower(brand) = makes.make_key
    where brand <> ''
    group by dealers.dealer_code

),

final as (

    select
        dealers.dealer_code,
        coalesce(dealers.legal_entity, dealers.dealer_code) as sender,
        dealers.legal_entity is not null as is_legal_entity,
        coalesce(dealer_brands.brands, '{}') as brands

    from dealers
    left join dealer_brands on dealers.dealer_code = dealer_brands.dealer_code

)

select * from final
