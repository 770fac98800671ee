with

source as (

    select * from {{ source('resolve', 'standardized_records') }}

),

-- the given name and surname of a free-text name (a repair order's customer_name) as
-- typed, as identity resolution split it: the split is made once, in Python
final as (

    select
        source,
        source_record_id,
        first_name_display as first_name,
        last_name_display as last_name

    from source

)

select * from final
