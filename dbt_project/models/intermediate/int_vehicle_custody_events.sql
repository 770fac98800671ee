{{ config(materialized='view') }}

with

sales as (

    select * from {{ ref('int_sales') }}

),

registrations as (

    select * from {{ ref('int_registrations') }}

),

-- a customer gets a vehicle by buying it, or by an OEM registration (first owner or
-- transfer); a customer lets it go by trading it in on a deal. Only valid VINs are
-- trusted to follow a vehicle from one record to the next.
acquisitions as (

    select
        vin,
        customer_id,
        deal_date as event_date,
        'acquire' as custody_action,
        acquired_as,
        'dealer_sales' as source,
        source_record_id,
        1 as source_rank
    from sales
    where is_vin_valid and customer_id is not null

    union all

    select
        vin,
        customer_id,
        registration_date as event_date,
        'acquire' as custody_action,
        case registration_event when 'transfer' then 'transfer' else 'new' end as acquired_as,
        'oem_registrations' as source,
        source_record_id,
        2 as source_rank
    from registrations
    where is_vin_valid and customer_id is not null

),

disposals as (

    select
        trade_in_vin as vin,
        customer_id,
        deal_date as event_date,
        'trade_in' as custody_action,
        null as acquired_as,
        'dealer_sales' as source,
        source_record_id,
        0 as source_rank
    from sales
    where is_trade_in_vin_valid and trade_in_vin is not null and customer_id is not null

),

final as (

    select
        custody_action || ':' || source || ':' || source_record_id as custody_event_id,
        *
    from (
        select * from acquisitions
        union all
        select * from disposals
    ) as custody_events

)

select * from final
