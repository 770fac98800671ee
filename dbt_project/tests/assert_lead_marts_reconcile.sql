-- The lead marts reconcile with the landed rows: every landed lead (created on or before the
-- as-of date) is one row of lead_outcomes and counted once in lead_source_performance, and a
-- sold lead's sale amount is the amount of the sale it points to. A row here is a mismatch.
{{ config(meta={'dagster': {'ref': {'name': 'lead_outcomes'}}}) }}  -- shown in Dagster as a check on this mart
with

landed as (

    select count(*) as lead_count
    from {{ ref('stg_raw__crm_leads') }}
    where created_date <= {{ as_of_date() }}

),

outcomes as (

    select count(*) as lead_count from {{ ref('lead_outcomes') }}

),

performance as (

    select coalesce(sum(leads), 0) as lead_count from {{ ref('lead_source_performance') }}

),

counts as (

    select
        'lead count' as check_name,
        landed.lead_count as landed_count,
        outcomes.lead_count as outcome_count,
        performance.lead_count as performance_count

    from landed
    cross join outcomes
    cross join performance
    where landed.lead_count <> outcomes.lead_count
        or landed.lead_count <> performance.lead_count

),

sale_amounts as (

    select
        'sale amount of ' || lead_outcomes.source_record_id as check_name,
        null::bigint as landed_count,
        null::bigint as outcome_count,
        null::bigint as performance_count

    from {{ ref('lead_outcomes') }} as lead_outcomes
    inner join {{ ref('int_sales') }} as sales
        on lead_outcomes.sale_source_record_id = sales.source_record_id
    where lead_outcomes.outcome in ('sold_here', 'sold_in_group')
        and lead_outcomes.sale_amount is distinct from sales.sale_amount

),

final as (

    select * from counts
    union all
    select * from sale_amounts

)

select * from final
