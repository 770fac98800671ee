{#-
    Which ownership period a repair order belongs to, in one place: the period of the
    order's own customer on that VIN that was open on the order's date (both ends
    included). A visit after the resale belongs to the new owner's period, not the seller's;
    a visit that falls on the day one period of the customer ends and the next begins goes
    to the later one.
-#}
with

service_orders as (

    select * from {{ ref('int_service_orders') }}
    where customer_id is not null and vin is not null

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
