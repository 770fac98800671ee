-- A vehicle has one owner at a time: each ownership period of a VIN ends (owned_to) on or
-- before the day the next one starts, and only the last one may still be open.
{{ config(meta={'dagster': {'ref': {'name': 'vehicle_ownership'}}}) }}  -- shown in Dagster as a check on this mart
with

periods as (

    select
        vin,
        ownership_id,
        owned_from,
        owned_to,
        lead(owned_from) over (partition by vin order by owned_from, period_number) as next_owned_from

    from {{ ref('vehicle_ownership') }}

)

select * from periods
where next_owned_from is not null
    and (owned_to is null or owned_to > next_owned_from)
    or owned_to < owned_from
