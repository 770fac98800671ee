with

source as (

    select * from {{ source('raw', 'oem_recalls') }}

),

final as (

    select
        source_record_id,
        {{ clean_text('brand') }} as make,
        upper(campaign_id) as campaign_id,
        upper(vin) as vin,
        coalesce(is_vin_valid, false) as is_vin_valid,
        cast(issued_date as date) as issued_date,
        description,
        case upper(remedy_available)
            when 'Y' then true
            when 'N' then false
        end as has_remedy

    from source
    where {{ known_as_of('issued_date') }}

)

select * from final
