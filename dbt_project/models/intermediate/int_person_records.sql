{#-
    Incremental at record grain: a build rebuilds only the records int_changed_events names
    (changed in raw, in resolve.customer_source_map or in resolve.standardized_records;
    macros/incremental.sql deletes them first, and `where_changed` keeps each source's), and
    the whole table when orchestration/builds.py passes --full-refresh (a dealer's own phone
    number changed, the project changed, a build as known on another day). Logged, unlike
    the other intermediate tables: an unlogged table comes back empty after a crash, and a
    kept table must not.
-#}
-- depends_on: {{ ref('int_changed_events') }}
{{
    config(
        materialized='incremental',
        full_refresh=(true if as_of_date() | trim != 'current_date' else none),
        incremental_strategy='append',
        unlogged=false,
        pre_hook=["{{ delete_changed_records() }}"],
    )
}}

with

sales as (

    select * from {{ ref('stg_raw__dealer_sales') }}
    {{ where_changed('dealer_sales') }}

),

service_orders as (

    select * from {{ ref('stg_raw__service_orders') }}
    {{ where_changed('service_orders') }}

),

registrations as (

    select * from {{ ref('stg_raw__oem_registrations') }}
    {{ where_changed('oem_registrations') }}

),

leads as (

    select * from {{ ref('stg_raw__crm_leads') }}
    {{ where_changed('crm_leads') }}

),

dealers as (

    select * from {{ ref('stg_raw__dealers') }}

),

source_map as (

    select * from {{ ref('stg_resolve__customer_source_map') }}

),

-- Not filtered to the changed records as the sources are: PostgreSQL guesses ten rows for
-- each filtered side and joined the two in a nested loop, quadratic in the changed repair
-- orders (134 s for 41,546 of them at 300k people). Unfiltered, it hashes this side: 4 s.
standardized_records as (

    select * from {{ ref('stg_resolve__standardized_records') }}
    where source = 'service_orders'

),

placeholder_contacts as (

    select * from {{ ref('placeholder_contacts') }}

),

person_records as (

    select
        'dealer_sales' as source,
        source_record_id,
        deal_date as record_date,
        dealer_code,
        first_name,
        last_name,
        company_name,
        email,
        phone_number,
        street,
        city,
        region,
        postal_code,
        birth_date
    from sales

    union all

    -- a repair order's customer_name is free text: its parts as identity resolution split it
    select
        'service_orders' as source,
        service_orders.source_record_id,
        service_orders.open_date as record_date,
        service_orders.dealer_code,
        standardized_records.first_name,
        standardized_records.last_name,
        null as company_name,
        service_orders.email,
        service_orders.phone_number,
        null as street,
        null as city,
        null as region,
        null as postal_code,
        null as birth_date
    from service_orders
    left join standardized_records
        on service_orders.source_record_id = standardized_records.source_record_id

    union all

    select
        'oem_registrations' as source,
        source_record_id,
        registration_date as record_date,
        null as dealer_code,
        first_name,
        last_name,
        null as company_name,
        email,
        phone_number,
        street,
        city,
        region,
        postal_code,
        null as birth_date
    from registrations

    union all

    select
        'crm_leads' as source,
        source_record_id,
        created_date as record_date,
        dealer_code,
        first_name,
        last_name,
        null as company_name,
        email,
        phone_number,
        null as street,
        null as city,
        null as region,
        null as postal_code,
        null as birth_date
    from leads

),

dealer_phones as (

    select distinct phone_number from dealers where phone_number is not null

),

placeholder_local_parts as (

    select value as local_part from placeholder_contacts where channel = 'email_local_part'

),

placeholder_domains as (

    select value as domain_label from placeholder_contacts where channel = 'email_domain'

),

placeholder_phones as (

    select value as phone_number from placeholder_contacts where channel = 'phone'

),

final as (

    select
        person_records.source,
        person_records.source_record_id,
        source_map.customer_id,
        person_records.record_date,
        person_records.dealer_code,
        person_records.first_name,
        person_records.last_name,
        person_records.company_name,
        person_records.email,
        coalesce(
            person_records.email ~ '^[^@\s]+@[^@\s]+\.[a-z]{2,}$'
            and placeholder_local_parts.local_part is null
            and placeholder_domains.domain_label is null,
            false
        ) as is_email_usable,
        person_records.phone_number,
        coalesce(
            person_records.phone_number is not null
            and dealer_phones.phone_number is null
            and placeholder_phones.phone_number is null,
            false
        ) as is_phone_usable,
        person_records.street,
        person_records.city,
        person_records.region,
        person_records.postal_code,
        person_records.birth_date

    from person_records
    left join source_map
        on person_records.source = source_map.source
        and person_records.source_record_id = source_map.source_record_id
    left join placeholder_local_parts
        on split_part(person_records.email, '@', 1) = placeholder_local_parts.local_part
    left join placeholder_domains
        on split_part(split_part(person_records.email, '@', 2), '.', 1) = placeholder_domains.domain_label
    left join dealer_phones on person_records.phone_number = dealer_phones.phone_number
    left join placeholder_phones on person_records.phone_number = placeholder_phones.phone_number

)

select * from final
