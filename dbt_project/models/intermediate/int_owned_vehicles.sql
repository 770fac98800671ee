{#-
    Who owns each vehicle on as_of_date, in one place: the ownership period of the VIN open
    on that day (it began on or before it and ends after it, or has not ended). A period
    ending on as_of_date belongs to the next owner from that day, as a visit on the day of a
    resale does (int_service_visits). Only VINs that can be followed (valid) have periods.
-#}
{{ config(materialized='ephemeral') }}

with

ownership_periods as (

    select * from {{ ref('int_ownership_periods') }}

),

final as (

    select distinct on (vin) *
    from ownership_periods
    where owned_from <= {{ as_of_date() }}
        and (owned_to is null or owned_to > {{ as_of_date() }})
    order by vin, owned_from desc

)

select * from final
