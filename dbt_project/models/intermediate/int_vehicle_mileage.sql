{#-
    Each vehicle's own mileage trend, in one place. The odometer readings of its repair orders
    (a valid VIN, a reading above 0, dated up to as_of_date) give a distance per day: the
    least-squares slope of kilometres over days when there are readings on two days or more
    (and it rises), else the one latest reading over the days since the vehicle went into
    service. Its estimated odometer on as_of_date extends that trend from the latest reading.
    The in-service date is the first time the VIN was acquired new (a sale as new or an OEM
    first-owner registration), known also for vehicles without a reading.
-#}
{{
    config(
        indexes=[{'columns': ['vin'], 'unique': true}],
    )
}}

with

service_orders as (

    select * from {{ ref('int_service_orders') }}
    where is_vin_valid and mileage > 0 and open_date <= {{ as_of_date() }}

),

ownership_periods as (

    select * from {{ ref('int_ownership_periods') }}
    where owned_from <= {{ as_of_date() }}

),

in_service as (

    select vin, min(owned_from) as in_service_date
    from ownership_periods
    where acquired_as = 'new'
    group by vin

),

readings as (

    select
        vin,
        count(*) as reading_count,
        count(distinct open_date) as reading_days,
        regr_slope(mileage, open_date - date '2000-01-01') as slope_km_per_day,
        max(open_date) as last_reading_date,
        (array_agg(mileage order by open_date desc, source_record_id desc))[1] as last_reading_km

    from service_orders
    group by vin

),

trends as (

    select
        coalesce(readings.vin, in_service.vin) as vin,
        in_service.in_service_date,
        coalesce(readings.reading_count, 0) as reading_count,
        readings.last_reading_date,
        readings.last_reading_km,
        case
            when readings.reading_days >= 2 and readings.slope_km_per_day > 0
                then readings.slope_km_per_day
            when readings.last_reading_date > in_service.in_service_date
                then readings.last_reading_km::double precision
                    / (readings.last_reading_date - in_service.in_service_date)
        end as km_per_day,
        case
            when readings.reading_days >= 2 and readings.slope_km_per_day > 0 then 'trend'
            when readings.last_reading_date > in_service.in_service_date then 'since_new'
        end as trend_source

    from readings
    full outer join in_service on readings.vin = in_service.vin

),

final as (

    select
        vin,
        in_service_date,
        reading_count,
        last_reading_date,
        last_reading_km,
        km_per_day,
        trend_source,
        case
            when km_per_day is not null
                then round(
                    last_reading_km + km_per_day * ({{ as_of_date() }} - last_reading_date)
                )::integer
        end as estimated_km

    from trends

)

select * from final
