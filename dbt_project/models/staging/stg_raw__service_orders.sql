with

source as (

    select * from {{ source('raw', 'service_orders') }}

),

final as (

    select
        source_record_id,
        dealer_code,
        ro_number,
        cast(open_date as date) as open_date,
        customer_name,
        {{ clean_email('email') }} as email,
        {{ clean_phone('phone') }} as phone_number,
        upper(vin) as vin,
        coalesce(is_vin_valid, false) as is_vin_valid,
        cast(mileage as integer) as mileage,
        lower(pay_type) as pay_type,
        cast(labor_amount as numeric) as labor_amount,
        cast(parts_amount as numeric) as parts_amount,
        -- the RO total as exported; when a DMS leaves it empty, labor + parts.
        coalesce(
            cast(total_amount as numeric),
            cast(labor_amount as numeric) + cast(parts_amount as numeric),
            cast(labor_amount as numeric),
            cast(parts_amount as numeric)
        ) as total_amount,
        description,
        upper(recall_campaign) as recall_campaign_id

    from source
    where {{ known_as_of('open_date') }}

)

select * from final
