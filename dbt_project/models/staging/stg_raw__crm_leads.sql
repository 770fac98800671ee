with

source as (

    select * from {{ source('raw', 'crm_leads') }}

),

final as (

    select
        source_record_id,
        dealer_code,
        lead_id,
        cast(created_at as timestamptz) as created_at,
        -- the CRM's own calendar day, whatever the server's time zone
        cast(left(created_at, 10) as date) as created_date,
        lower(source) as lead_source,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        {{ clean_email('email') }} as email,
        {{ clean_phone('phone') }} as phone_number,
        {{ clean_text('interest_make') }} as interest_make,
        {{ clean_text('interest_model') }} as interest_model,
        lower(status) as lead_status,
        {{ clean_text('provider') }} as lead_provider,
        cast(cost_amount as numeric) as cost_amount

    from source
    where {{ known_as_of('created_at') }}

)

select * from final
