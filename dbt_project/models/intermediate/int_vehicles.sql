{#-
    Incremental at VIN grain: a vehicle's row reads only the sales, registrations and repair
    orders of its VIN, so a build rebuilds the VINs of changed records (macros/incremental.sql
    deletes them first), and the whole table on --full-refresh. Logged, as a kept table must
    be (see int_person_records).
-#}
-- depends_on: {{ ref('int_changed_events') }}
{{
    config(
        materialized='incremental',
        full_refresh=(true if as_of_date() | trim != 'current_date' else none),
        incremental_strategy='append',
        unlogged=false,
        pre_hook=["{{ delete_changed_vins(serviced=true) }}"],
    )
}}

with

sales as (

    select * from {{ ref('stg_raw__dealer_sales') }}

),

registrations as (

    select * from {{ ref('stg_raw__oem_registrations') }}

),

service_orders as (

    select * from {{ ref('stg_raw__service_orders') }}

),

makes as (

    select * from {{ ref('int_makes') }}

),

-- records that say what the vehicle is; a sale beats a registration, the latest record
-- wins among records of one kind
descriptions as (

    select vin, is_vin_valid, make, model, model_year, deal_date as seen_date, 1 as source_rank
    from sales

    union all

    select vin, is_vin_valid, make, null, null, registration_date, 2
    from registrations

    union all

    select trade_in_vin, is_trade_in_vin_valid, null, null, null, deal_date, 3
    from sales
    where trade_in_vin is not null

),

described_vehicles as (

    select
        vin,
        bool_or(is_vin_valid) as is_vin_valid,
        (array_agg(make order by source_rank, seen_date desc) filter (where make is not null))[1] as make,
        (array_agg(model order by source_rank, seen_date desc) filter (where model is not null))[1] as model,
        (array_agg(model_year order by source_rank, seen_date desc) filter (where model_year is not null))[1] as model_year,
        min(seen_date) as first_seen_date,
        max(seen_date) as last_seen_date

    from descriptions
    {%- if is_incremental() %}
    where vin in {{ changed_vins(serviced=true) }}
    {%- endif %}
    group by vin

),

serviced_vehicles as (

    select
        vin,
        bool_or(is_vin_valid) as is_vin_valid,
        min(open_date) as first_seen_date,
        max(open_date) as last_seen_date

    from service_orders
    {%- if is_incremental() %}
    where vin in {{ changed_vins(serviced=true) }}
    {%- endif %}
    group by vin

),

vehicles as (

    select
        coalesce(described_vehicles.vin, serviced_vehicles.vin) as vin,
        coalesce(described_vehicles.is_vin_valid, false)
            or coalesce(serviced_vehicles.is_vin_valid, false) as is_vin_valid,
        described_vehicles.make,
        described_vehicles.model,
        described_vehicles.model_year,
        least(described_vehicles.first_seen_date, serviced_vehicles.first_seen_date) as first_seen_date,
        greatest(described_vehicles.last_seen_date, serviced_vehicles.last_seen_date) as last_seen_date

    from described_vehicles
    full outer join serviced_vehicles on described_vehicles.vin = serviced_vehicles.vin

),

final as (

    select
        vehicles.vin,
        vehicles.is_vin_valid,
        coalesce(makes.make, vehicles.make) as brand,
        makes.manufacturer_group,
        makes.tier,
        vehicles.model,
        vehicles.model_year,
        vehicles.first_seen_date,
        vehicles.last_seen_date

    from vehicles
    left join makes on lower(vehicles.make) = makes.make_key

)

select * from final
