with

source as (

    select * from {{ source('resolve', 'customer_source_map') }}

),

final as (

    select
        source,
        source_record_id,
        customer_id,
        match_probability

    from source

)

select * from final
