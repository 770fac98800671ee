with

leads as (

    select * from {{ ref('stg_raw__crm_leads') }}

),

source_map as (

    select * from {{ ref('stg_resolve__customer_source_map') }}
    where source = 'crm_leads'

),

makes as (

    select * from {{ ref('int_makes') }}

),

final as (

    select
        leads.source_record_id,
        source_map.customer_id,
        leads.dealer_code,
        leads.lead_id,
        leads.created_at,
        leads.created_date,
        leads.lead_source,
        coalesce(makes.make, leads.interest_make) as interest_brand,
        makes.manufacturer_group as interest_manufacturer_group,
        leads.interest_model,
        leads.lead_status,
        leads.lead_provider,
        leads.cost_amount

    from leads
    left join source_map on leads.source_record_id = source_map.source_record_id
    left join makes on lower(leads.interest_make) = makes.make_key

)

select * from final
