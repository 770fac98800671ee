{{
    config(
        indexes=[
            {'columns': ['customer_id'], 'unique': true},
            {'columns': ['household_id']},
            {'columns': ['home_dealer_code']},
        ],
        post_hook=[
            "create index on {{ this }} using gin (search_name public.gin_trgm_ops)",
        ],
    )
}}

with

golden_records as (

    select * from {{ ref('int_customer_golden_record') }}

),

households as (

    select * from {{ ref('int_households') }}

),

consent as (

    select * from {{ ref('int_customer_consent') }}

),

value_by_dealer_brand as (

    select * from {{ ref('customer_value_by_dealer_brand') }}

),

ownership_periods as (

    select * from {{ ref('int_ownership_periods') }}

),

leads as (

    select * from {{ ref('int_leads') }}
    where customer_id is not null

),

lifetime_value as (

    select
        customer_id,
        sum(sales_amount) as lifetime_sales_amount,
        sum(service_amount) as lifetime_service_amount,
        sum(warranty_amount) as lifetime_warranty_amount,
        sum(internal_amount) as lifetime_internal_amount,
        sum(unclassified_service_amount) as lifetime_unclassified_service_amount,
        sum(purchase_count)::bigint as purchase_count,
        sum(service_visit_count)::bigint as service_visit_count

    from value_by_dealer_brand
    group by customer_id

),

vehicles_owned as (

    select
        customer_id,
        count(distinct vin) as vehicles_owned_count,
        count(distinct vin) filter (where owned_to is null) as vehicles_currently_owned_count

    from ownership_periods
    group by customer_id

),

-- the rooftop the customer deals with most (sales and repair orders), ties to the most
-- recent; a customer known only from leads is homed where their latest lead went
dealer_visits as (

    select
        customer_id,
        dealer_code,
        sum(purchase_count + service_visit_count) as visit_count,
        max(last_transaction_date) as last_visit_date
    from value_by_dealer_brand
    group by customer_id, dealer_code

    union all

    select
        customer_id,
        dealer_code,
        0 as visit_count,
        max(created_date) as last_visit_date
    from leads
    group by customer_id, dealer_code

),

home_dealers as (

    select distinct on (customer_id)
        customer_id,
        dealer_code as home_dealer_code

    from dealer_visits
    order by customer_id, visit_count desc, last_visit_date desc, dealer_code

),

lead_counts as (

    select customer_id, count(*) as lead_count
    from leads
    group by customer_id

),

final as (

    select
        golden_records.customer_id,
        golden_records.first_name,
        golden_records.last_name,
        golden_records.company_name,
        golden_records.email,
        golden_records.phone,
        golden_records.street,
        golden_records.city,
        golden_records.region,
        golden_records.postal_code,
        golden_records.birth_date,
        households.household_id,
        golden_records.is_business,
        golden_records.first_seen_date,
        golden_records.last_seen_date,
        coalesce(vehicles_owned.vehicles_owned_count, 0) as vehicles_owned_count,
        coalesce(lifetime_value.lifetime_sales_amount, 0) as lifetime_sales_amount,
        coalesce(lifetime_value.lifetime_service_amount, 0) as lifetime_service_amount,
        consent.marketing_consent,
        home_dealers.home_dealer_code,
        households.household_size,
        coalesce(vehicles_owned.vehicles_currently_owned_count, 0) as vehicles_currently_owned_count,
        coalesce(lifetime_value.lifetime_warranty_amount, 0) as lifetime_warranty_amount,
        coalesce(lifetime_value.lifetime_internal_amount, 0) as lifetime_internal_amount,
        coalesce(lifetime_value.lifetime_unclassified_service_amount, 0) as lifetime_unclassified_service_amount,
        coalesce(lifetime_value.purchase_count, 0) as purchase_count,
        coalesce(lifetime_value.service_visit_count, 0) as service_visit_count,
        coalesce(lead_counts.lead_count, 0) as lead_count,
        golden_records.source_record_count,
        -- false for a customer nothing identifies (an internal repair order without a name,
        -- a lead whose only contact was a placeholder, a forgotten person): counted in totals,
        -- left out of headcounts of people
        coalesce(
            golden_records.first_name, golden_records.last_name, golden_records.company_name,
            golden_records.email, golden_records.phone, golden_records.street
        ) is not null as is_identified,
        consent.consent_basis,
        consent.consent_statement_date,
        consent.consent_expires_on,
        golden_records.name_source,
        golden_records.name_source_record_id,
        golden_records.company_name_source,
        golden_records.company_name_source_record_id,
        golden_records.email_source,
        golden_records.email_source_record_id,
        golden_records.phone_source,
        golden_records.phone_source_record_id,
        golden_records.address_source,
        golden_records.address_source_record_id,
        golden_records.birth_date_source,
        golden_records.birth_date_source_record_id,
        lower(unaccent(concat_ws(' ',
            golden_records.first_name, golden_records.last_name, golden_records.company_name
        ))) as search_name

    from golden_records
    left join households on golden_records.customer_id = households.customer_id
    left join consent on golden_records.customer_id = consent.customer_id
    left join lifetime_value on golden_records.customer_id = lifetime_value.customer_id
    left join vehicles_owned on golden_records.customer_id = vehicles_owned.customer_id
    left join home_dealers on golden_records.customer_id = home_dealers.customer_id
    left join lead_counts on golden_records.customer_id = lead_counts.customer_id

)

select * from final
