{#-
    Who may send whom a commercial message, on which channel, on as_of_date: the consent
    rule (int_sender_consent) times the ways to reach the person. Email needs a usable
    e-mail on the golden record (placeholders never reach it), sms a phone; whether that
    phone is a mobile is not known (no source says), so an SMS list may hold landlines.
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

sender_consent as (

    select * from {{ ref('int_sender_consent') }}

),

golden_records as (

    select * from {{ ref('int_customer_golden_record') }}

),

channels as (

    select customer_id, 'email' as channel from golden_records where email is not null
    union all
    select customer_id, 'sms' as channel from golden_records where phone is not null

),

final as (

    select
        sender_consent.customer_id,
        sender_consent.sender,
        channels.channel,
        sender_consent.consent_basis,
        sender_consent.consent_source,
        sender_consent.source_record_id,
        sender_consent.consent_statement_date,
        sender_consent.consent_expires_on,
        sender_consent.granted_to,
        {{ as_of_date() }} as as_of_date

    from sender_consent
    inner join channels on sender_consent.customer_id = channels.customer_id

)

select * from final
