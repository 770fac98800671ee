{#-
    One row per (rooftop, lead source, provider, month of the lead): what those leads cost and
    sold, from marts.lead_outcomes. A lead without a provider (the dealer's own web site,
    phone, walk-ins) is counted under provider '' (empty), so every lead is in exactly one
    row. `sold` counts leads sold by the group (here or at a sister rooftop); a lead sold
    elsewhere is not a sale the dealer made. `known_customer_share` is the share of paid
    leads (cost_amount > 0) whose person was already a customer: money spent on a lead the
    group had.
-#}

with

lead_outcomes as (

    select * from {{ ref('lead_outcomes') }}

),

final as (

    select
        dealer_code,
        coalesce(lead_source, '') as lead_source,
        coalesce(provider, '') as provider,
        cast(date_trunc('month', created_date) as date) as month_date,
        count(*) as leads,
        count(distinct customer_id) as people,
        count(*) filter (where outcome in ('sold_here', 'sold_in_group')) as sold,
        count(*) filter (where outcome = 'sold_here') as sold_here,
        count(*) filter (where outcome = 'sold_elsewhere') as sold_elsewhere,
        round(
            count(*) filter (where outcome in ('sold_here', 'sold_in_group'))::numeric
            / count(*),
            4
        ) as close_rate,
        percentile_cont(0.5) within group (order by days_to_sale)
            filter (where outcome in ('sold_here', 'sold_in_group')) as median_days_to_sale,
        coalesce(
            sum(sale_amount) filter (where outcome in ('sold_here', 'sold_in_group')), 0
        ) as sales_amount,
        coalesce(sum(cost_amount), 0) as cost_amount,
        case
            when count(*) filter (where outcome in ('sold_here', 'sold_in_group')) > 0
                then round(
                    coalesce(sum(cost_amount), 0)
                    / count(*) filter (where outcome in ('sold_here', 'sold_in_group')),
                    2
                )
        end as cost_per_sale,
        count(*) filter (where is_paid) as paid_leads,
        case
            when count(*) filter (where is_paid) > 0
                then round(
                    count(*) filter (where is_paid and was_known_customer)::numeric
                    / count(*) filter (where is_paid),
                    4
                )
        end as known_customer_share

    from lead_outcomes
    group by 1, 2, 3, 4

)

select * from final
