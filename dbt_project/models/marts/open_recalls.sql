{#-
    One row per (VIN, campaign) of the manufacturers' recall files issued on or before
    as_of_date: the recall rule, in one place. A recall is done when a repair order at any
    rooftop of the group carried its campaign_id on that VIN on or after its issue date (and
    on or before as_of_date); the first such order says where and when. A campaign performed
    before its issue date (a bulletin done ahead of the recall) does not count: the recall
    stays open. customer_id is the VIN's owner on as_of_date (int_owned_vehicles): after a
    resale or a transfer, the new owner; null when the VIN cannot be followed (invalid) or no
    owner is known. A campaign listed twice for a VIN (two files) is one row, its earliest
    issue.
-#}
{{
    config(
        indexes=[
            {'columns': ['vin', 'campaign_id'], 'unique': true},
            {'columns': ['customer_id']},
        ],
    )
}}

with

recalls as (

    select * from {{ ref('stg_raw__oem_recalls') }}
    where issued_date <= {{ as_of_date() }}

),

makes as (

    select * from {{ ref('int_makes') }}

),

service_orders as (

    select * from {{ ref('int_service_orders') }}
    where recall_campaign_id is not null and open_date <= {{ as_of_date() }}

),

owned_vehicles as (

    select * from {{ ref('int_owned_vehicles') }}

),

campaigns as (

    select distinct on (recalls.vin, recalls.campaign_id)
        recalls.vin,
        recalls.campaign_id,
        coalesce(makes.make, recalls.make) as brand,
        recalls.issued_date,
        recalls.description,
        recalls.has_remedy,
        recalls.is_vin_valid,
        recalls.source_record_id

    from recalls
    left join makes on lower(recalls.make) = makes.make_key
    order by recalls.vin, recalls.campaign_id, recalls.issued_date, recalls.source_record_id

),

performed as (

    select distinct on (campaigns.vin, campaigns.campaign_id)
        campaigns.vin,
        campaigns.campaign_id,
        service_orders.dealer_code,
        service_orders.open_date,
        service_orders.source_record_id

    from campaigns
    inner join service_orders
        on campaigns.vin = service_orders.vin
        and campaigns.campaign_id = service_orders.recall_campaign_id
        and service_orders.open_date >= campaigns.issued_date
    order by
        campaigns.vin,
        campaigns.campaign_id,
        service_orders.open_date,
        service_orders.source_record_id

),

final as (

    select
        campaigns.vin,
        campaigns.campaign_id,
        campaigns.brand,
        campaigns.issued_date,
        campaigns.description,
        campaigns.has_remedy,
        campaigns.is_vin_valid,
        owned_vehicles.customer_id,
        owned_vehicles.owned_from,
        case when performed.vin is null then 'open' else 'done' end as status,
        performed.dealer_code as done_dealer_code,
        performed.open_date as done_date,
        performed.source_record_id as done_source_record_id,
        campaigns.source_record_id,
        {{ as_of_date() }} as as_of_date

    from campaigns
    left join performed
        on campaigns.vin = performed.vin
        and campaigns.campaign_id = performed.campaign_id
    left join owned_vehicles on campaigns.vin = owned_vehicles.vin

)

select * from final
