{#-
    The brand-ladder rule, in one place. A customer is a candidate for the next make up the
    ladder (seed brands.next_ladder_make) of the make they last bought in a manufacturer
    group, unless they already own that make. Each signal earns points on a linear scale
    (seed ladder_score_rules): rising transaction prices, last price near the target's entry
    price, tenure in the group, service loyalty, household fleet. Listed when the score
    reaches the listing threshold; reasons name every signal that earned points.
-#}
{{
    config(
        indexes=[
            {'columns': ['customer_id']},
            {'columns': ['target_brand', 'score']},
        ],
    )
}}

with

sales as (

    select * from {{ ref('int_sales') }}
    where customer_id is not null and deal_date <= {{ as_of_date() }}

),

service_orders as (

    select * from {{ ref('int_service_orders') }}
    where customer_id is not null and open_date <= {{ as_of_date() }}

),

ownership_periods as (

    select * from {{ ref('int_ownership_periods') }}

),

households as (

    select * from {{ ref('int_households') }}

),

brands as (

    select * from {{ ref('brands') }}

),

ladder_score_rules as (

    select * from {{ ref('ladder_score_rules') }}

),

service_rules as (

    select * from {{ ref('service_rules') }}

),

lapse as (

    select cast({{ as_of_date() }} - make_interval(months => value::integer) as date) as active_since
    from service_rules
    where rule_code = 'lapse_months'

),

listing_threshold as (

    select minimum_value as minimum_score
    from ladder_score_rules
    where rule_code = 'listing_threshold'

),

group_purchases as (

    select
        *,
        row_number() over (
            partition by customer_id, manufacturer_group
            order by deal_date desc, source_record_id desc
        ) as recency_rank,
        min(deal_date) over (partition by customer_id, manufacturer_group) as first_group_purchase_date

    from sales
    where manufacturer_group is not null

),

candidates as (

    select
        latest.customer_id,
        latest.manufacturer_group,
        latest.brand as current_brand,
        target.make as target_brand,
        target.entry_price_amount as target_entry_price_amount,
        latest.dealer_code,
        latest.deal_date as last_purchase_date,
        latest.sale_amount as last_price_amount,
        previous.brand as previous_brand,
        previous.sale_amount as previous_price_amount,
        latest.first_group_purchase_date

    from group_purchases as latest
    inner join brands as current_make on latest.brand = current_make.make
    inner join brands as target on current_make.next_ladder_make = target.make
    left join group_purchases as previous
        on latest.customer_id = previous.customer_id
        and latest.manufacturer_group = previous.manufacturer_group
        and previous.recency_rank = 2
    where latest.recency_rank = 1
        and not exists (
            select 1
            from ownership_periods
            where ownership_periods.customer_id = latest.customer_id
                and ownership_periods.make = target.make
                and ownership_periods.owned_to is null
        )

),

service_history as (

    select
        service_orders.customer_id,
        service_orders.manufacturer_group,
        min(service_orders.open_date) as first_service_date,
        max(service_orders.open_date) as last_service_date,
        count(*) as service_visit_count

    from service_orders
    where service_orders.manufacturer_group is not null
    group by service_orders.customer_id, service_orders.manufacturer_group

),

household_fleets as (

    select
        households.household_id,
        count(distinct ownership_periods.vin) as vehicle_count

    from ownership_periods
    inner join households on ownership_periods.customer_id = households.customer_id
    where ownership_periods.owned_to is null and households.household_id is not null
    group by households.household_id

),

signals as (

    select
        candidates.*,
        candidates.last_price_amount / nullif(candidates.previous_price_amount, 0) - 1 as price_growth,
        candidates.last_price_amount / candidates.target_entry_price_amount as entry_ratio,
        {{ years_between('candidates.first_group_purchase_date', as_of_date()) }} as tenure_years,
        case
            when service_history.last_service_date >= lapse.active_since
                then {{ years_between('service_history.first_service_date', 'service_history.last_service_date') }}
            else 0
        end as service_years,
        service_history.service_visit_count,
        coalesce(household_fleets.vehicle_count, 0) as household_vehicle_count

    from candidates
    cross join lapse
    left join service_history
        on candidates.customer_id = service_history.customer_id
        and candidates.manufacturer_group = service_history.manufacturer_group
    left join households on candidates.customer_id = households.customer_id
    left join household_fleets on households.household_id = household_fleets.household_id

),

signal_values as (

    select
        customer_id,
        target_brand,
        'rising_price' as rule_code,
        price_growth as signal_value,
        case
            when previous_brand = current_brand then 'last two ' || current_brand || ' purchases'
            else 'last two purchases (' || previous_brand || ', ' || current_brand || ')'
        end
            || ' rose from ' || {{ format_thousands('previous_price_amount') }}
            || ' to ' || {{ format_thousands('last_price_amount') }} as reason
    from signals
    where price_growth > 0

    union all

    select
        customer_id,
        target_brand,
        'near_target_entry' as rule_code,
        entry_ratio as signal_value,
        case
            when entry_ratio >= 1
                then 'last price (' || {{ format_thousands('last_price_amount') }} || ') at or above '
            else 'last price within ' || ceil((1 - entry_ratio) * 100)::integer || '% of '
        end
            || target_brand || ' entry (' || {{ format_thousands('target_entry_price_amount') }} || ')' as reason
    from signals
    where entry_ratio is not null

    union all

    select
        customer_id,
        target_brand,
        'tenure' as rule_code,
        tenure_years as signal_value,
        floor(tenure_years)::integer || ' years as a ' || manufacturer_group || ' customer' as reason
    from signals

    union all

    select
        customer_id,
        target_brand,
        'service_loyalty' as rule_code,
        service_years as signal_value,
        floor(service_years)::integer || ' years of service loyalty ('
            || service_visit_count || ' visits)' as reason
    from signals
    where service_years > 0

    union all

    select
        customer_id,
        target_brand,
        'household_fleet' as rule_code,
        household_vehicle_count as signal_value,
        'household owns ' || household_vehicle_count || ' vehicles' as reason
    from signals

),

points as (

    select
        signal_values.*,
        ladder_score_rules.sort_order,
        round(
            ladder_score_rules.max_points * least(1, greatest(0,
                (signal_values.signal_value - ladder_score_rules.minimum_value)
                / (ladder_score_rules.full_value - ladder_score_rules.minimum_value)
            ))
        )::integer as points

    from signal_values
    inner join ladder_score_rules on signal_values.rule_code = ladder_score_rules.rule_code

),

scores as (

    select
        customer_id,
        target_brand,
        least(100, sum(points))::integer as score,
        string_agg(reason, '; ' order by sort_order) filter (where points > 0) as reasons,
        jsonb_object_agg(rule_code, points) as score_components

    from points
    group by customer_id, target_brand

),

final as (

    select
        signals.customer_id,
        signals.current_brand,
        signals.target_brand,
        signals.manufacturer_group,
        scores.score,
        upper(left(scores.reasons, 1)) || substr(scores.reasons, 2) as reasons,
        scores.score_components,
        signals.dealer_code,
        signals.last_purchase_date,
        signals.last_price_amount,
        signals.previous_price_amount,
        signals.target_entry_price_amount,
        {{ as_of_date() }} as as_of_date

    from signals
    inner join scores
        on signals.customer_id = scores.customer_id
        and signals.target_brand = scores.target_brand
    cross join listing_threshold
    where scores.score >= listing_threshold.minimum_score

)

select * from final
