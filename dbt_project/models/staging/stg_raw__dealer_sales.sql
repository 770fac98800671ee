with

source as (

    select * from {{ source('raw', 'dealer_sales') }}

),

final as (

    select
        source_record_id,
        dealer_code,
        deal_id,
        cast(deal_date as date) as deal_date,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        {{ clean_text('company_name') }} as company_name,
        {{ clean_email('email') }} as email,
        {{ clean_phone('phone') }} as phone_number,
        {{ clean_text('street') }} as street,
        {{ clean_text('city') }} as city,
        upper(region) as region,
        {{ clean_postal_code('postal_code') }} as postal_code,
        cast(birth_date as date) as birth_date,
        upper(vin) as vin,
        coalesce(is_vin_valid, false) as is_vin_valid,
        {{ clean_text('make') }} as make,
        {{ clean_text('model') }} as model,
        cast(model_year as integer) as model_year,
        lower(condition) as condition,
        cast(sale_price as numeric) as sale_amount,
        lower(payment_type) as payment_type,
        cast(term_months as integer) as term_months,
        upper(trade_in_vin) as trade_in_vin,
        coalesce(is_trade_in_vin_valid, false) as is_trade_in_vin_valid,
        cast(amount_financed as numeric) as financed_amount,
        cast(apr as numeric) as apr_percent,
        cast(monthly_payment as numeric) as monthly_payment_amount

    from source
    where {{ known_as_of('deal_date') }}

)

select * from final
