-- No one who withdrew consent may be contacted: recomputed here from the landed OEM
-- registrations (the only explicit Y/N statements), a customer whose latest explicit
-- statement up to as_of_date is N must not be in the audience, nor anyone whose golden
-- record says withdrawn, nor anyone whose implied consent has expired (it holds through
-- consent_expires_on).
{{ config(meta={'dagster': {'ref': {'name': 'campaign_audience'}}}) }}  -- shown in Dagster as a check on this mart
with

explicit_statements as (

    select
        source_map.customer_id,
        cast(registrations.registration_date as date) as statement_date,
        upper(registrations.consent_marketing) as statement

    from {{ source('raw', 'oem_registrations') }} as registrations
    inner join {{ source('resolve', 'customer_source_map') }} as source_map
        on source_map.source = 'oem_registrations'
        and registrations.source_record_id = source_map.source_record_id
    where upper(registrations.consent_marketing) in ('Y', 'N')
        and cast(registrations.registration_date as date) <= {{ as_of_date() }}

),

latest_statements as (

    select distinct on (customer_id) customer_id, statement
    from explicit_statements
    order by customer_id, statement_date desc, (statement = 'N') desc

),

audience as (

    select * from {{ ref('campaign_audience') }}

),

customers as (

    select * from {{ ref('customers') }}

)

select audience.customer_id, 'latest explicit statement is N' as problem
from audience
inner join latest_statements on audience.customer_id = latest_statements.customer_id
where latest_statements.statement = 'N'

union all

select audience.customer_id, 'golden record says ' || customers.marketing_consent
from audience
inner join customers on audience.customer_id = customers.customer_id
where customers.marketing_consent not in ('express', 'implied')

union all

select customer_id, 'implied consent expired on ' || consent_expires_on
from audience
where consent_expires_on < {{ as_of_date() }}
    or (consent_basis <> 'express_opt_in' and consent_expires_on is null)
