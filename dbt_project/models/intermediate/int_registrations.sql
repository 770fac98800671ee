with

registrations as (

    select * from {{ ref('stg_raw__oem_registrations') }}

),

source_map as (

    select * from {{ ref('stg_resolve__customer_source_map') }}
    where source = 'oem_registrations'

),

makes as (

    select * from {{ ref('int_makes') }}

),

final as (

    select
        registrations.source_record_id,
        source_map.customer_id,
        registrations.registration_id,
        registrations.registration_date,
        registrations.registration_event,
        registrations.vin,
        registrations.is_vin_valid,
        coalesce(makes.make, registrations.make) as brand,
        makes.manufacturer_group,
        makes.tier,
        registrations.has_marketing_consent

    from registrations
    left join source_map on registrations.source_record_id = source_map.source_record_id
    left join makes on lower(registrations.make) = makes.make_key

)

select * from final
