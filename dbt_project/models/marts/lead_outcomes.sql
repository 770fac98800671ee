{#-
    One row per landed lead (created on or before the as-of date): what became of it.

    The outcome rule, once (the window is the `lead_rules` seed, 120 days):
    - `sold_here`: the lead's person bought a vehicle at the lead's rooftop within the window
      after the lead's day (day 0 to day 120 inclusive);
    - `sold_in_group`: no such sale here, but one at another rooftop of the group;
    - `sold_elsewhere`: no sale in the group, but the manufacturer registered a new vehicle
      of the lead's make to that person in the window, and no rooftop of the group ever sold
      that VIN;
    - otherwise the CRM's word: `lost` when it says lost, or when the window has passed by the
      as-of date with no sale (a stale "open" or an unproven "won"); else `open`.
    Among several qualifying sales the earliest wins (then the smallest record key), so a
    lead is credited to one sale only.

    `was_known_customer`: the person had bought, leased or had a repair order at any rooftop
    strictly before the lead's day; `known_since_*` name the first such record, the proof a
    dealer sends a vendor to claim a credit for a paid lead it already had.
-#}
{{
    config(
        indexes=[
            {'columns': ['source_record_id'], 'unique': true},
            {'columns': ['dealer_code', 'outcome']},
            {'columns': ['customer_id']},
        ],
    )
}}

with

leads as (

    select * from {{ ref('int_leads') }}
    where created_date <= {{ as_of_date() }}

),

sales as (

    select * from {{ ref('int_sales') }}
    where customer_id is not null and deal_date <= {{ as_of_date() }}

),

service_orders as (

    select * from {{ ref('int_service_orders') }}
    where customer_id is not null and open_date <= {{ as_of_date() }}

),

registrations as (

    select * from {{ ref('int_registrations') }}
    where customer_id is not null and registration_date <= {{ as_of_date() }}

),

lead_rules as (

    select * from {{ ref('lead_rules') }}

),

sale_window as (

    select cast(value as integer) as days
    from lead_rules
    where rule_code = 'sale_window_days'

),

group_vins as (

    select distinct vin from {{ ref('int_sales') }}
    where vin is not null

),

group_sales as (

    select
        leads.source_record_id as lead_record_id,
        sales.source_record_id as sale_record_id,
        sales.dealer_code as sale_dealer_code,
        sales.deal_date as sale_date,
        sales.sale_amount,
        case when sales.dealer_code = leads.dealer_code then 'sold_here' else 'sold_in_group' end
            as outcome

    from leads
    cross join sale_window
    inner join sales
        on leads.customer_id = sales.customer_id
        and sales.deal_date between leads.created_date
        and leads.created_date + sale_window.days

),

outside_sales as (

    select
        leads.source_record_id as lead_record_id,
        registrations.source_record_id as sale_record_id,
        cast(null as text) as sale_dealer_code,
        registrations.registration_date as sale_date,
        cast(null as numeric) as sale_amount,
        'sold_elsewhere' as outcome

    from leads
    cross join sale_window
    inner join registrations
        on leads.customer_id = registrations.customer_id
        and registrations.registration_event = 'new_owner'
        and registrations.brand = leads.interest_brand
        and registrations.registration_date between leads.created_date
        and leads.created_date + sale_window.days
    where registrations.vin is null
        or registrations.vin not in (select vin from group_vins)

),

candidate_sales as (

    select * from group_sales
    union all
    select * from outside_sales

),

first_sale as (

    select distinct on (lead_record_id)
        lead_record_id,
        sale_record_id,
        sale_dealer_code,
        sale_date,
        sale_amount,
        outcome

    from candidate_sales
    order by
        lead_record_id,
        case outcome when 'sold_here' then 1 when 'sold_in_group' then 2 else 3 end,
        sale_date,
        sale_record_id

),

earlier_business as (

    select
        customer_id,
        source_record_id,
        dealer_code,
        deal_date as business_date
    from sales
    union all
    select
        customer_id,
        source_record_id,
        dealer_code,
        open_date as business_date
    from service_orders

),

-- A lead's first earlier business is its customer's first business when that came before
-- the lead, and there is none otherwise: found once per customer, not per lead and
-- earlier business (8M rows to sort at 300k people).
first_business as (

    select distinct on (customer_id)
        customer_id,
        business_date,
        source_record_id,
        dealer_code

    from earlier_business
    where customer_id is not null and business_date is not null
    order by customer_id, business_date, source_record_id

),

first_earlier_business as (

    select
        leads.source_record_id as lead_record_id,
        first_business.business_date as known_since_date,
        first_business.source_record_id as known_since_source_record_id,
        first_business.dealer_code as known_since_dealer_code

    from leads
    inner join first_business
        on leads.customer_id = first_business.customer_id
        and first_business.business_date < leads.created_date

),

final as (

    select
        leads.source_record_id,
        leads.customer_id,
        leads.dealer_code,
        leads.created_date,
        leads.lead_source,
        leads.lead_provider as provider,
        leads.cost_amount,
        leads.interest_brand,
        leads.lead_status as crm_status,
        case
            when first_sale.outcome is not null then first_sale.outcome
            when leads.lead_status = 'lost' then 'lost'
            when leads.created_date + sale_window.days < {{ as_of_date() }} then 'lost'
            else 'open'
        end as outcome,
        first_sale.sale_record_id as sale_source_record_id,
        first_sale.sale_dealer_code,
        first_sale.sale_date,
        first_sale.sale_amount,
        first_sale.sale_date - leads.created_date as days_to_sale,
        first_earlier_business.lead_record_id is not null as was_known_customer,
        first_earlier_business.known_since_date,
        first_earlier_business.known_since_source_record_id,
        first_earlier_business.known_since_dealer_code,
        coalesce(leads.cost_amount, 0) > 0 as is_paid,
        {{ as_of_date() }} as as_of_date

    from leads
    cross join sale_window
    left join first_sale on leads.source_record_id = first_sale.lead_record_id
    left join first_earlier_business
        on leads.source_record_id = first_earlier_business.lead_record_id

)

select * from final
