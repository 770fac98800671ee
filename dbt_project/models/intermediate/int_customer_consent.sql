{#-
    The consent rule, in one place: across all of a customer's merged records the latest
    explicit statement wins (an N beats a Y of the same day); a withdrawal stands until a later
    express Y, whatever the customer buys since; with no explicit statement standing, the
    implied consent that expires last holds until it expires; else none. Statements dated
    after as_of_date are not known yet.
-#}
with

statements as (

    select * from {{ ref('int_consent_statements') }}
    where statement_date <= {{ as_of_date() }}

),

customers as (

    select distinct customer_id from {{ ref('stg_resolve__customer_source_map') }}

),

latest_explicit as (

    select distinct on (customer_id)
        customer_id,
        marketing_consent,
        consent_rule,
        statement_date,
        source,
        source_record_id

    from statements
    where marketing_consent in ('express', 'withdrawn')
    order by
        customer_id,
        statement_date desc,
        (marketing_consent = 'withdrawn') desc,
        source_record_id desc

),

longest_implied as (

    select distinct on (customer_id)
        customer_id,
        marketing_consent,
        consent_rule,
        statement_date,
        expires_on,
        source,
        source_record_id

    from statements
    where marketing_consent = 'implied'
        and expires_on > {{ as_of_date() }}
    order by customer_id, expires_on desc, statement_date desc, source_record_id desc

),

final as (

    select
        customers.customer_id,
        coalesce(
            latest_explicit.marketing_consent, longest_implied.marketing_consent, 'none'
        ) as marketing_consent,
        coalesce(latest_explicit.consent_rule, longest_implied.consent_rule) as consent_basis,
        coalesce(latest_explicit.statement_date, longest_implied.statement_date) as consent_statement_date,
        case when latest_explicit.customer_id is null then longest_implied.expires_on end as consent_expires_on,
        coalesce(latest_explicit.source, longest_implied.source) as consent_source,
        coalesce(latest_explicit.source_record_id, longest_implied.source_record_id) as consent_source_record_id

    from customers
    left join latest_explicit on customers.customer_id = latest_explicit.customer_id
    left join longest_implied on customers.customer_id = longest_implied.customer_id

)

select * from final
