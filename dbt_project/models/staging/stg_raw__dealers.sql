with

source as (

    select * from {{ source('raw', 'dealers') }}

),

final as (

    select
        dealer_code,
        {{ clean_text('dealer_name') }} as dealer_name,
        regexp_split_to_array(brands, '\s*\|\s*') as brands,
        {{ clean_text('city') }} as city,
        upper(region) as region,
        {{ clean_phone('phone') }} as phone_number,
        {{ clean_text('legal_entity') }} as legal_entity

    from source

)

select * from final
