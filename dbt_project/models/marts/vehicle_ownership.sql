{#-
    Incremental at VIN grain: a VIN's periods read its ownership periods and the visits of
    its repair orders, so a build rebuilds the VINs of changed sales, registrations and
    repair orders (macros/incremental.sql deletes them first), and the whole table on
    --full-refresh.
-#}
-- depends_on: {{ ref('int_changed_events') }}
{{
    config(
        materialized='incremental',
        full_refresh=(true if as_of_date() | trim != 'current_date' else none),
        incremental_strategy='append',
        pre_hook=["{{ delete_changed_vins(serviced=true) }}"],
        indexes=[
            {'columns': ['ownership_id'], 'unique': true},
            {'columns': ['customer_id']},
            {'columns': ['vin']},
        ],
    )
}}

with

ownership_periods as (

    select * from {{ ref('int_ownership_periods') }}
    {%- if is_incremental() %}
    where vin in {{ changed_vins(serviced=true) }}
    {%- endif %}

),

service_visits as (

    select * from {{ ref('int_service_visits') }}
    {%- if is_incremental() %}
    where vin in {{ changed_vins(serviced=true) }}
    {%- endif %}

),

-- the owner's repair orders on the vehicle while they owned it (every pay type)
service_summaries as (

    select
        ownership_id,
        count(*) as service_visit_count,
        max(open_date) as last_service_date,
        sum(total_amount) as service_billed_amount

    from service_visits
    group by ownership_id

),

final as (

    select
        ownership_periods.ownership_id,
        ownership_periods.vin,
        ownership_periods.customer_id,
        owned_from,
        owned_to,
        make,
        model,
        model_year,
        acquired_as,
        manufacturer_group,
        period_number,
        acquired_source,
        acquired_source_record_id,
        ended_by,
        ended_source,
        ended_source_record_id,
        coalesce(service_summaries.service_visit_count, 0) as service_visit_count,
        service_summaries.last_service_date,
        coalesce(service_summaries.service_billed_amount, 0) as service_billed_amount

    from ownership_periods
    left join service_summaries on ownership_periods.ownership_id = service_summaries.ownership_id

)

select * from final
