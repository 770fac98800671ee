{#-
    One line per customer for marts.customers, summarised from the consent rule
    (int_sender_consent, int_consent_withdrawals), never decided here: express when some
    sender holds their express consent, else implied when some sender holds implied consent,
    else withdrawn when their opt-out stands, else none. The basis shown is that of the
    strongest ground (express, else the implied consent that lasts longest); who may send is
    in marts.contact_permissions.
-#}
with

sender_consent as (

    select * from {{ ref('int_sender_consent') }}

),

withdrawals as (

    select * from {{ ref('int_consent_withdrawals') }}

),

customers as (

    select distinct customer_id from {{ ref('stg_resolve__customer_source_map') }}

),

strongest as (

    select distinct on (customer_id)
        customer_id,
        case when consent_expires_on is null then 'express' else 'implied' end
            as marketing_consent,
        consent_basis,
        consent_statement_date,
        consent_expires_on,
        consent_source,
        source_record_id as consent_source_record_id

    from sender_consent
    order by
        customer_id,
        consent_expires_on desc nulls first,
        consent_statement_date desc,
        source_record_id desc

),

final as (

    select
        customers.customer_id,
        coalesce(
            strongest.marketing_consent,
            case when withdrawals.is_standing then 'withdrawn' end,
            'none'
        ) as marketing_consent,
        strongest.consent_basis,
        strongest.consent_statement_date,
        strongest.consent_expires_on,
        strongest.consent_source,
        strongest.consent_source_record_id

    from customers
    left join strongest on customers.customer_id = strongest.customer_id
    left join withdrawals on customers.customer_id = withdrawals.customer_id

)

select * from final
