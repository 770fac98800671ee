{{
    config(
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

),

final as (

    select
        ownership_id,
        vin,
        customer_id,
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
        ended_source_record_id

    from ownership_periods

)

select * from final
