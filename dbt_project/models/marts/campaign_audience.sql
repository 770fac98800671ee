{{
    config(
        indexes=[
            {'columns': ['customer_id'], 'unique': true},
            {'columns': ['dealer_codes'], 'type': 'gin'},
            {'columns': ['brands'], 'type': 'gin'},
        ],
    )
}}

with

golden_records as (

    select * from {{ ref('int_customer_golden_record') }}

),

consent as (

    select * from {{ ref('int_customer_consent') }}

),

value_by_dealer_brand as (

    select * from {{ ref('customer_value_by_dealer_brand') }}

),

leads as (

    select * from {{ ref('int_leads') }}

),

registrations as (

    select * from {{ ref('int_registrations') }}

),

-- the rooftops and makes a customer has dealt with, so an export can target one of them
relationships as (

    select customer_id, dealer_code, nullif(brand, 'Unknown') as brand from value_by_dealer_brand
    union
    select customer_id, dealer_code, interest_brand from leads
    union
    select customer_id, null, brand from registrations

),

customer_relationships as (

    select
        customer_id,
        coalesce(array_agg(distinct dealer_code) filter (where dealer_code is not null), '{}') as dealer_codes,
        coalesce(array_agg(distinct brand) filter (where brand is not null), '{}') as brands

    from relationships
    where customer_id is not null
    group by customer_id

),

final as (

    select
        golden_records.customer_id,
        golden_records.email,
        golden_records.phone,
        consent.consent_basis,
        consent.consent_expires_on,
        consent.marketing_consent,
        consent.consent_statement_date,
        consent.consent_source,
        consent.consent_source_record_id,
        golden_records.first_name,
        golden_records.last_name,
        golden_records.company_name,
        golden_records.city,
        golden_records.region,
        coalesce(customer_relationships.dealer_codes, '{}') as dealer_codes,
        coalesce(customer_relationships.brands, '{}') as brands,
        {{ as_of_date() }} as as_of_date

    from golden_records
    inner join consent on golden_records.customer_id = consent.customer_id
    left join customer_relationships on golden_records.customer_id = customer_relationships.customer_id
    where consent.marketing_consent in ('express', 'implied')
        and (golden_records.email is not null or golden_records.phone is not null)

)

select * from final
