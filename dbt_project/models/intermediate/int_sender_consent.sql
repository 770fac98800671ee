{#-
    The consent rule, in one place: who may send a person commercial messages on as_of_date,
    and on what ground (CASL ties consent to the organisation it belongs to).
    - The sender is a rooftop's legal_entity, else the rooftop (int_senders); a manufacturer
      is `oem:BRAND`.
    - Implied consent belongs to the sender where it arose: a purchase or lease or a
      customer-paid repair order there within 24 months, a lead there within 6 months (seed
      consent_rules). It holds through consent_expires_on = record date + window: CASL counts
      "the two-year period immediately before the day on which the message is sent", so a
      deal of 2024-05-02 still allows a message on 2026-05-02, not on 2026-05-03.
    - Express consent (consent_marketing = Y on an OEM registration) is the brand's. It
      reaches the brand's franchised rooftops only where seed oem_consent_policy says the
      manufacturer's form covers them.
    - An opt-out that stands (int_consent_withdrawals) stops every sender; after a later Y,
      only records dated after the opt-out count.
    Where a sender has several grounds, express wins, else the implied consent that lasts
    longest.
-#}
with

statements as (

    select * from {{ ref('int_consent_statements') }}
    where statement_date <= {{ as_of_date() }}

),

withdrawals as (

    select * from {{ ref('int_consent_withdrawals') }}

),

senders as (

    select * from {{ ref('int_senders') }}

),

oem_consent_policy as (

    select * from {{ ref('oem_consent_policy') }}
    where covers_franchised_rooftops

),

-- statements still in force: none while an opt-out stands, none from before the last opt-out
standing as (

    select statements.*
    from statements
    left join withdrawals on statements.customer_id = withdrawals.customer_id
    where withdrawals.customer_id is null
        or (not withdrawals.is_standing and statements.statement_date > withdrawals.withdrawn_on)

),

implied as (

    select
        customer_id,
        sender,
        consent_rule as consent_basis,
        source,
        source_record_id,
        statement_date,
        expires_on as consent_expires_on,
        sender as granted_to

    from standing
    where marketing_consent = 'implied'
        and expires_on >= {{ as_of_date() }}
        and sender is not null

),

express as (

    select
        customer_id,
        sender,
        consent_rule as consent_basis,
        source,
        source_record_id,
        statement_date,
        cast(null as date) as consent_expires_on,
        sender as granted_to,
        brand

    from standing
    where marketing_consent = 'express'

),

-- the manufacturer's opt-in, where its policy says its form covers its franchised rooftops
express_through_policy as (

    select distinct
        express.customer_id,
        senders.sender,
        express.consent_basis,
        express.source,
        express.source_record_id,
        express.statement_date,
        express.consent_expires_on,
        express.granted_to

    from express
    inner join oem_consent_policy on express.brand = oem_consent_policy.brand
    inner join senders on senders.brands @> array[express.brand]

),

grounds as (

    select customer_id, sender, consent_basis, source, source_record_id, statement_date,
        consent_expires_on, granted_to
    from express
    union all
    select * from express_through_policy
    union all
    select * from implied

),

final as (

    select distinct on (customer_id, sender)
        customer_id,
        sender,
        consent_basis,
        source as consent_source,
        source_record_id,
        statement_date as consent_statement_date,
        consent_expires_on,
        granted_to

    from grounds
    where customer_id is not null
    order by
        customer_id,
        sender,
        consent_expires_on desc nulls first,
        statement_date desc,
        source_record_id desc

)

select * from final
