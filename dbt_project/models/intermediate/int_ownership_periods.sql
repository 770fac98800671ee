{#-
    The ownership rule, in one place. A VIN's custody events are read in date order (on the
    same day a trade-in comes before the resale, a sale before its registration). A run of
    consecutive acquisitions by the same customer is one ownership period, owned from the
    first of them; it ends at the next event of the VIN: a trade-in, or an acquisition by
    someone else (a resale or a transfer).


    Incremental at VIN grain: a VIN's periods read only its own custody events (the sales
    and registrations of that VIN, with their customers) and its description, so a build
    rebuilds the changed VINs (macros/incremental.sql deletes them first), and the whole
    table on --full-refresh. Logged, as a kept table must be (see int_person_records).
-#}
-- depends_on: {{ ref('int_changed_events') }}
{{
    config(
        materialized='incremental',
        full_refresh=(true if as_of_date() | trim != 'current_date' else none),
        incremental_strategy='append',
        unlogged=false,
        pre_hook=["{{ delete_changed_vins() }}"],
    )
}}

with

custody_events as (

    select * from {{ ref('int_vehicle_custody_events') }}
    {%- if is_incremental() %}
    where vin in {{ changed_vins() }}
    {%- endif %}

),

vehicles as (

    select * from {{ ref('int_vehicles') }}

),

ordered as (

    select
        *,
        row_number() over (
            partition by vin
            order by event_date, source_rank, source_record_id
        ) as event_number

    from custody_events

),

compared as (

    select
        *,
        lag(custody_action) over by_vin as previous_action,
        lag(customer_id) over by_vin as previous_customer_id

    from ordered
    window by_vin as (partition by vin order by event_number)

),

grouped as (

    select
        *,
        sum(
            case
                when custody_action = 'trade_in'
                    or previous_action is null
                    or previous_action = 'trade_in'
                    or previous_customer_id is distinct from customer_id
                    then 1
                else 0
            end
        ) over (partition by vin order by event_number) as group_number

    from compared

),

custody_runs as (

    select
        vin,
        group_number,
        min(custody_action) as custody_action,
        (array_agg(customer_id))[1] as customer_id,
        min(event_date) as started_on,
        (array_agg(acquired_as order by event_number))[1] as acquired_as,
        (array_agg(source order by event_number))[1] as source,
        (array_agg(source_record_id order by event_number))[1] as source_record_id

    from grouped
    group by vin, group_number

),

sequenced as (

    select
        *,
        lead(started_on) over by_vin as next_started_on,
        lead(custody_action) over by_vin as next_action,
        lead(acquired_as) over by_vin as next_acquired_as,
        lead(source) over by_vin as next_source,
        lead(source_record_id) over by_vin as next_source_record_id,
        row_number() over (
            partition by vin, custody_action order by group_number
        ) as period_number

    from custody_runs
    window by_vin as (partition by vin order by group_number)

),

final as (

    select
        sequenced.vin || '#' || sequenced.period_number as ownership_id,
        sequenced.vin,
        sequenced.period_number,
        sequenced.customer_id,
        sequenced.started_on as owned_from,
        sequenced.next_started_on as owned_to,
        sequenced.acquired_as,
        vehicles.brand as make,
        vehicles.manufacturer_group,
        vehicles.tier,
        vehicles.model,
        vehicles.model_year,
        sequenced.source as acquired_source,
        sequenced.source_record_id as acquired_source_record_id,
        case
            when sequenced.next_action = 'trade_in' then 'trade_in'
            when sequenced.next_acquired_as = 'transfer' then 'transfer'
            when sequenced.next_action = 'acquire' then 'resale'
        end as ended_by,
        sequenced.next_source as ended_source,
        sequenced.next_source_record_id as ended_source_record_id

    from sequenced
    inner join vehicles on sequenced.vin = vehicles.vin
    where sequenced.custody_action = 'acquire'

)

select * from final
