with

source as (

    select * from {{ source('raw', 'oem_registrations') }}

),

final as (

    select
        source_record_id,
        registration_id,
        {{ clean_text('brand') }} as make,
        upper(vin) as vin,
        coalesce(is_vin_valid, false) as is_vin_valid,
        cast(registration_date as date) as registration_date,
        lower(event) as registration_event,
        {{ clean_text('owner_first_name') }} as first_name,
        {{ clean_text('owner_last_name') }} as last_name,
        {{ clean_text('street') }} as street,
        {{ clean_text('city') }} as city,
        upper(region) as region,
        {{ clean_postal_code('postal_code') }} as postal_code,
        {{ clean_phone('phone') }} as phone_number,
        {{ clean_email('email') }} as email,
        case upper(consent_marketing)
            when 'Y' then true
            when 'N' then false
        end as has_marketing_consent

    from source
    where {{ known_as_of('registration_date') }}

)

select * from final
