{#-
    Which ownership period a repair order belongs to, in one place: the period of the
    order's own customer on that VIN that was open on the order's date (both ends
    included). A visit after the resale belongs to the new owner's period, not the seller's;
    a visit that falls on the day one period of the customer ends and the next begins goes
    to the later one.


    Incremental at record grain: a visit reads its repair order and the ownership periods
    of its VIN (which only the VIN's sales and registrations write), so a build rebuilds
    the changed repair orders and those of a changed VIN (macros/incremental.sql deletes
    them first), and the whole table on --full-refresh. Logged, as a kept table must be
    (see int_person_records).
-#}
-- depends_on: {{ ref('int_changed_events') }}
{{
    config(
        materialized='incremental',
        full_refresh=(true if as_of_date() | trim != 'current_date' else none),
        incremental_strategy='append',
        unlogged=false,
        pre_hook=["{{ delete_changed_records_or_vins('service_orders') }}"],
    )
}}

with

service_orders as (

    select * from {{ ref('int_service_orders') }}
    where customer_id is not null and vin is not null
    {{ where_changed('service_orders', 'and', vin='vin') }}

),

ownership_periods as (

    select * from {{ ref('int_ownership_periods') }}

),

final as (

    select distinct on (service_orders.source_record_id)
        service_orders.source_record_id,
        ownership_periods.ownership_id,
        service_orders.customer_id,
        service_orders.vin,
        service_orders.open_date,
        service_orders.mileage,
        service_orders.total_amount

    from service_orders
    inner join ownership_periods
        on service_orders.vin = ownership_periods.vin
        and service_orders.customer_id = ownership_periods.customer_id
        and service_orders.open_date >= ownership_periods.owned_from
        and (ownership_periods.owned_to is null or service_orders.open_date <= ownership_periods.owned_to)
    order by service_orders.source_record_id, ownership_periods.owned_from desc

)

select * from final
