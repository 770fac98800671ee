{#-
    Every fact that says something about a customer's marketing consent, the CASL rule
    (seed consent_rules) it falls under, and whom it concerns: an explicit Y or N on an OEM
    registration (the manufacturer's, `oem:BRAND`), a purchase or lease, a customer-paid
    repair, an inquiry (lead), each with the rooftop it happened at and that rooftop's sender
    (int_senders). expires_on is the last day implied consent holds.
-#}
{{ config(materialized='view') }}

with

sales as (

    select * from {{ ref('int_sales') }}

),

service_orders as (

    select * from {{ ref('int_service_orders') }}

),

registrations as (

    select * from {{ ref('int_registrations') }}

),

leads as (

    select * from {{ ref('int_leads') }}

),

consent_rules as (

    select * from {{ ref('consent_rules') }}

),

senders as (

    select * from {{ ref('int_senders') }}

),

statements as (

    select
        customer_id,
        'oem_registrations' as source,
        source_record_id,
        registration_date as statement_date,
        cast(null as text) as dealer_code,
        brand,
        case when has_marketing_consent then 'express_opt_in' else 'opt_out' end as consent_rule
    from registrations
    where has_marketing_consent is not null

    union all

    select
        customer_id,
        'dealer_sales' as source,
        source_record_id,
        deal_date as statement_date,
        dealer_code,
        brand,
        case when payment_type = 'lease' then 'implied_lease' else 'implied_purchase' end as consent_rule
    from sales

    union all

    select
        customer_id,
        'service_orders' as source,
        source_record_id,
        open_date as statement_date,
        dealer_code,
        brand,
        'implied_service_purchase' as consent_rule
    from service_orders
    where is_customer_paid

    union all

    select
        customer_id,
        'crm_leads' as source,
        source_record_id,
        created_date as statement_date,
        dealer_code,
        interest_brand as brand,
        'implied_inquiry' as consent_rule
    from leads

),

final as (

    select
        statements.source || ':' || statements.source_record_id as statement_id,
        statements.customer_id,
        statements.source,
        statements.source_record_id,
        statements.statement_date,
        statements.dealer_code,
        statements.brand,
        case
            when statements.source = 'oem_registrations' then 'oem:' || statements.brand
            else coalesce(senders.sender, statements.dealer_code)
        end as sender,
        statements.consent_rule,
        consent_rules.marketing_consent,
        cast(
            statements.statement_date + make_interval(months => consent_rules.duration_months)
            as date
        ) as expires_on

    from statements
    inner join consent_rules on statements.consent_rule = consent_rules.consent_rule
    left join senders on statements.dealer_code = senders.dealer_code
    where statements.customer_id is not null

)

select * from final
