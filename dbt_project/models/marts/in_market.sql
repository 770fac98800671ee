{#-
    The in-market rule, in one place. Each driver (seed in_market_drivers: points, window,
    threshold, next best action) is attached to the rooftop where its evidence happened:
    a lease or finance contract ending soon on a vehicle the customer still has, an open
    recent lead, a trade cycle reached (years since the last purchase against the
    customer's own average cycle, else the population's median) by a customer seen lately,
    large recent customer-pay repair bills, a recent high odometer reading on a vehicle
    still owned, positive equity in a contract in force or few payments left on it (not
    already a contract ending soon; marts.equity_positions). A (customer, dealer) scores the sum of its drivers' points, capped at 100;
    its next best action is the one of its strongest driver. Only facts dated up to
    as_of_date count. A customer is in market "for" every make they have an event of (sale,
    service, registration, lead): `brands`, which exports and the dashboard filter on.
-#}
{{
    config(
        indexes=[
            {'columns': ['customer_id', 'dealer_code'], 'unique': true},
            {'columns': ['dealer_code', 'score']},
            {'columns': ['brands'], 'type': 'gin'},
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

leads as (

    select * from {{ ref('int_leads') }}
    where customer_id is not null and created_date <= {{ as_of_date() }}

),

ownership_periods as (

    select * from {{ ref('int_ownership_periods') }}

),

in_market_drivers as (

    select * from {{ ref('in_market_drivers') }}

),

customer_events as (

    select * from {{ ref('customer_events') }}

),

equity_positions as (

    select * from {{ ref('equity_positions') }}

),

customer_brands as (

    select customer_id, array_agg(distinct brand order by brand) as brands
    from customer_events
    where brand is not null
    group by customer_id

),

current_ownerships as (

    select customer_id, vin
    from ownership_periods
    where owned_to is null and owned_from <= {{ as_of_date() }}

),

contract_endings as (

    select
        sales.customer_id,
        sales.dealer_code,
        in_market_drivers.driver_code,
        case sales.payment_type when 'lease' then 'lease on ' else 'financing of ' end
            || concat_ws(' ', sales.model_year, sales.brand, sales.model)
            || ' ends ' || to_char(sales.term_end_date, 'YYYY-MM-DD')
            || ' (in ' || {{ months_between(as_of_date(), 'sales.term_end_date') }} || ' months)' as phrase

    from sales
    inner join in_market_drivers
        on in_market_drivers.driver_code = case sales.payment_type
            when 'lease' then 'lease_maturity'
            when 'finance' then 'finance_term_ending'
        end
    where sales.term_end_date >= {{ as_of_date() }}
        and sales.term_end_date
            <= {{ as_of_date() }} + make_interval(months => in_market_drivers.window_months)
        -- the customer still has the vehicle (a VIN that cannot be tracked is assumed kept)
        and (
            not sales.is_vin_valid
            or exists (
                select 1
                from current_ownerships
                where current_ownerships.vin = sales.vin
                    and current_ownerships.customer_id = sales.customer_id
            )
        )

),

open_leads as (

    select
        leads.customer_id,
        leads.dealer_code,
        in_market_drivers.driver_code,
        'open ' || coalesce(replace(leads.lead_source, '_', '-') || ' ', '') || 'lead'
            || coalesce(' for ' || nullif(concat_ws(' ', leads.interest_brand, leads.interest_model), ''), '')
            || ' since ' || to_char(leads.created_date, 'YYYY-MM-DD') as phrase

    from leads
    inner join in_market_drivers on in_market_drivers.driver_code = 'open_lead'
    where leads.lead_status = 'open'
        and leads.created_date
            > {{ as_of_date() }} - make_interval(months => in_market_drivers.window_months)

),

purchase_gaps as (

    select
        customer_id,
        deal_date - lag(deal_date) over (partition by customer_id order by deal_date) as gap_days

    from sales

),

own_cycles as (

    select customer_id, avg(gap_days) / 365.25 as cycle_years
    from purchase_gaps
    where gap_days > 0
    group by customer_id

),

population_cycle as (

    select percentile_cont(0.5) within group (order by gap_days) / 365.25 as cycle_years
    from purchase_gaps
    where gap_days > 0

),

last_purchases as (

    select distinct on (customer_id)
        customer_id,
        dealer_code,
        deal_date,
        {{ years_between('deal_date', as_of_date()) }} as years_since_purchase

    from sales
    order by customer_id, deal_date desc, source_record_id desc

),

last_activity as (

    select customer_id, max(activity_date) as last_activity_date
    from (
        select customer_id, deal_date as activity_date from sales
        union all
        select customer_id, open_date from service_orders
        union all
        select customer_id, created_date from leads
    ) as activities
    group by customer_id

),

trade_cycles as (

    select
        last_purchases.customer_id,
        last_purchases.dealer_code,
        in_market_drivers.driver_code,
        last_purchases.years_since_purchase || ' years since the last purchase ('
            || case when own_cycles.cycle_years is not null then 'own' else 'typical' end
            || ' cycle ' || round(coalesce(own_cycles.cycle_years, population_cycle.cycle_years)::numeric, 1)
            || ' years)' as phrase

    from last_purchases
    inner join last_activity on last_purchases.customer_id = last_activity.customer_id
    left join own_cycles on last_purchases.customer_id = own_cycles.customer_id
    cross join population_cycle
    inner join in_market_drivers on in_market_drivers.driver_code = 'trade_cycle'
    where last_purchases.years_since_purchase
        >= in_market_drivers.threshold
            * coalesce(own_cycles.cycle_years, population_cycle.cycle_years)
        and last_activity.last_activity_date
            > {{ as_of_date() }} - make_interval(months => in_market_drivers.window_months)

),

large_repairs as (

    select
        service_orders.customer_id,
        service_orders.dealer_code,
        in_market_drivers.driver_code,
        {{ format_dollars('sum(service_orders.total_amount)') }}
            || ' of customer-pay repairs in the last '
            || in_market_drivers.window_months || ' months' as phrase

    from service_orders
    inner join in_market_drivers on in_market_drivers.driver_code = 'large_repair'
    where service_orders.is_customer_paid
        and service_orders.open_date
            > {{ as_of_date() }} - make_interval(months => in_market_drivers.window_months)
    group by
        service_orders.customer_id,
        service_orders.dealer_code,
        in_market_drivers.driver_code,
        in_market_drivers.window_months,
        in_market_drivers.threshold
    having sum(service_orders.total_amount) >= in_market_drivers.threshold

),

latest_readings as (

    select distinct on (vin)
        vin,
        dealer_code,
        open_date,
        mileage,
        concat_ws(' ', model_year, brand, model) as vehicle

    from service_orders
    where mileage is not null and is_vin_valid
    order by vin, open_date desc, source_record_id desc

),

high_mileage as (

    select
        current_ownerships.customer_id,
        latest_readings.dealer_code,
        in_market_drivers.driver_code,
        coalesce(nullif(latest_readings.vehicle, ''), latest_readings.vin)
            || ' at ' || {{ format_count('latest_readings.mileage') }} || ' km ('
            || to_char(latest_readings.open_date, 'YYYY-MM-DD') || ')' as phrase

    from latest_readings
    inner join current_ownerships on latest_readings.vin = current_ownerships.vin
    inner join in_market_drivers on in_market_drivers.driver_code = 'high_mileage'
    where latest_readings.mileage >= in_market_drivers.threshold
        and latest_readings.open_date
            > {{ as_of_date() }} - make_interval(months => in_market_drivers.window_months)

),

equity_vehicles as (

    select
        *,
        concat_ws(' ', model_year, make, model) as vehicle,
        case payment_type when 'lease' then 'lease_maturity' else 'finance_term_ending' end
            as ending_driver_code

    from equity_positions

),

positive_equity as (

    select
        equity_vehicles.customer_id,
        equity_vehicles.dealer_code,
        in_market_drivers.driver_code,
        {{ format_dollars('equity_vehicles.equity_amount') }} || ' of equity in the '
            || equity_vehicles.vehicle || ' (worth about '
            || {{ format_dollars('equity_vehicles.estimated_value_amount') }} || ', payoff '
            || {{ format_dollars('equity_vehicles.payoff_amount') }} || ', '
            || equity_vehicles.payments_left || ' payments left)' as phrase

    from equity_vehicles
    inner join in_market_drivers on in_market_drivers.driver_code = 'positive_equity'
    where equity_vehicles.equity_amount >= in_market_drivers.threshold

),

few_payments_left as (

    select
        equity_vehicles.customer_id,
        equity_vehicles.dealer_code,
        in_market_drivers.driver_code,
        equity_vehicles.payments_left || ' payments left on the '
            || case equity_vehicles.payment_type when 'lease' then 'lease' else 'loan' end
            || ' of the ' || equity_vehicles.vehicle || ' (last one '
            || to_char(equity_vehicles.term_end_date, 'YYYY-MM-DD') || ')' as phrase

    from equity_vehicles
    inner join in_market_drivers on in_market_drivers.driver_code = 'few_payments_left'
    inner join in_market_drivers as ending
        on ending.driver_code = equity_vehicles.ending_driver_code
    where equity_vehicles.payments_left <= in_market_drivers.threshold
        and equity_vehicles.term_end_date
            > {{ as_of_date() }} + make_interval(months => ending.window_months)

),

driver_lines as (

    select * from contract_endings
    union all
    select * from open_leads
    union all
    select * from trade_cycles
    union all
    select * from large_repairs
    union all
    select * from high_mileage
    union all
    select * from positive_equity
    union all
    select * from few_payments_left

),

drivers as (

    select
        driver_lines.customer_id,
        driver_lines.dealer_code,
        driver_lines.driver_code,
        in_market_drivers.points,
        in_market_drivers.priority,
        in_market_drivers.next_best_action,
        string_agg(driver_lines.phrase, '; ' order by driver_lines.phrase) as phrases

    from driver_lines
    inner join in_market_drivers on driver_lines.driver_code = in_market_drivers.driver_code
    group by
        driver_lines.customer_id,
        driver_lines.dealer_code,
        driver_lines.driver_code,
        in_market_drivers.points,
        in_market_drivers.priority,
        in_market_drivers.next_best_action

),

scores as (

    select
        customer_id,
        dealer_code,
        least(100, sum(points))::integer as score,
        string_agg(phrases, '; ' order by points desc, priority) as drivers,
        (array_agg(next_best_action order by points desc, priority))[1] as next_best_action,
        jsonb_agg(driver_code order by points desc, priority) as driver_codes,
        (array_agg(driver_code order by points desc, priority))[1] as top_driver_code

    from drivers
    group by customer_id, dealer_code

),

final as (

    select
        scores.customer_id,
        scores.dealer_code,
        scores.score,
        scores.drivers,
        scores.next_best_action,
        scores.driver_codes,
        scores.top_driver_code,
        coalesce(customer_brands.brands, '{}') as brands,
        {{ as_of_date() }} as as_of_date

    from scores
    left join customer_brands on scores.customer_id = customer_brands.customer_id

)

select * from final
