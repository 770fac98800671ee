{#-
    The campaign lists: one row per (customer, sender, channel) that may be contacted on
    as_of_date (marts.contact_permissions), with what a list needs to reach them. Every export
    reads this mart for one sender and one channel; consent is never decided downstream.
-#}
{{
    config(
        indexes=[
            {'columns': ['customer_id', 'sender', 'channel'], 'unique': true},
            {'columns': ['sender', 'channel']},
        ],
    )
}}

with

permissions as (

    select * from {{ ref('contact_permissions') }}

),

golden_records as (

    select * from {{ ref('int_customer_golden_record') }}

),

final as (

    select
        permissions.customer_id,
        permissions.sender,
        permissions.channel,
        golden_records.email,
        golden_records.phone,
        permissions.consent_basis,
        permissions.consent_expires_on,
        permissions.consent_source,
        permissions.source_record_id as consent_source_record_id,
        permissions.granted_to,
        golden_records.first_name,
        golden_records.last_name,
        golden_records.company_name,
        golden_records.city,
        golden_records.region,
        permissions.as_of_date

    from permissions
    inner join golden_records on permissions.customer_id = golden_records.customer_id

)

select * from final
