{#-
    The group's rooftops as people name them, with what each one knows: brands sold (in the
    brands seed's spelling), customers with at least one record there, and its activity.
    The dashboard reads dealer names here, never from raw.dealers.
-#}
{{
    config(
        indexes=[
            {'columns': ['dealer_code'], 'unique': true},
        ],
    )
}}

with

dealers as (

    select * from {{ ref('stg_raw__dealers') }}

),

makes as (

    select * from {{ ref('int_makes') }}

),

senders as (

    select * from {{ ref('int_senders') }}

),

events as (

    select * from {{ ref('customer_events') }}

),

dealer_brands as (

    select
        dealers.dealer_code,
        array_agg(distinct coalesce(makes.make, brand) order by coalesce(makes.make, brand))
            as brands,
        array_agg(distinct makes.manufacturer_group order by makes.manufacturer_group)
            filter (where makes.manufacturer_group is not null) as manufacturer_groups

    from dealers
    cross join lateral unnest(dealers.brands) as brand
    left join makes on lower(brand) = makes.make_key
    where brand <> ''
    group by dealers.dealer_code

),

activity as (

    select
        dealer_code,
        count(distinct customer_id) as customer_count,
        count(*) filter (where event_type = 'sale') as sale_count,
        count(*) filter (where event_type = 'service') as service_visit_count,
        count(*) filter (where event_type = 'lead') as lead_count,
        min(event_date) as first_event_date,
        max(event_date) as last_event_date

    from events
    where dealer_code is not null
    group by dealer_code

),

final as (

    select
        dealers.dealer_code,
        dealers.dealer_name,
        senders.sender,
        coalesce(dealer_brands.brands, '{}') as brands,
        coalesce(dealer_brands.manufacturer_groups, '{}') as manufacturer_groups,
        dealers.city,
        dealers.region,
        dealers.phone_number as phone,
        coalesce(activity.customer_count, 0) as customer_count,
        coalesce(activity.sale_count, 0) as sale_count,
        coalesce(activity.service_visit_count, 0) as service_visit_count,
        coalesce(activity.lead_count, 0) as lead_count,
        activity.first_event_date,
        activity.last_event_date

    from dealers
    left join dealer_brands on dealers.dealer_code = dealer_brands.dealer_code
    left join senders on dealers.dealer_code = senders.dealer_code
    left join activity on dealers.dealer_code = activity.dealer_code

)

select * from final
