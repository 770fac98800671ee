{{ config(materialized='ephemeral') }}

with

brands as (

    select * from {{ ref('brands') }}

),

brand_aliases as (

    select * from {{ ref('brand_aliases') }}

),

spellings as (

    select lower(make) as make_key, make from brands
    union
    select lower(alias) as make_key, make from brand_aliases

),

final as (

    select
        spellings.make_key,
        brands.make,
        brands.manufacturer_group,
        brands.tier,
        brands.next_ladder_make,
        brands.entry_price_amount

    from spellings
    inner join brands on spellings.make = brands.make

)

select * from final
