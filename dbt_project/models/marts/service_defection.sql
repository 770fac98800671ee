{#-
    The service-defection rule, in one place: an owner whose vehicle (still theirs) has had
    at least one service visit since they acquired it, but none for more than
    service_rules.lapse_months, has stopped coming; when the last visit is older than
    service_rules.presumed_gone_months, the vehicle is presumed gone rather than defected.
    Reasons say how long, how often they used to come, and what may explain it: the last
    visit was warranty work, the vehicle is past the usual warranty age, the last
    customer-pay bill was large, or they bought another vehicle since.
-#}
{{
    config(
        indexes=[
            {'columns': ['vin'], 'unique': true},
            {'columns': ['customer_id']},
            {'columns': ['last_service_dealer_code']},
        ],
    )
}}

with

ownership_periods as (

    select * from {{ ref('int_ownership_periods') }}
    where owned_to is null and owned_from <= {{ as_of_date() }}

),

service_orders as (

    select * from {{ ref('int_service_orders') }}
    where open_date <= {{ as_of_date() }}

),

sales as (

    select * from {{ ref('int_sales') }}
    where customer_id is not null and deal_date <= {{ as_of_date() }}

),

service_rules as (

    select * from {{ ref('service_rules') }}

),

thresholds as (

    select
        max(value) filter (where rule_code = 'lapse_months')::integer as lapse_months,
        max(value) filter (where rule_code = 'presumed_gone_months')::integer as presumed_gone_months,
        max(value) filter (where rule_code = 'warranty_years') as warranty_years,
        max(value) filter (where rule_code = 'price_shock_amount') as price_shock_amount

    from service_rules

),

visits as (

    select
        ownership_periods.vin,
        ownership_periods.customer_id,
        service_orders.source_record_id,
        service_orders.open_date,
        service_orders.dealer_code,
        service_orders.pay_type,
        service_orders.is_customer_paid,
        service_orders.total_amount

    from ownership_periods
    inner join service_orders
        on ownership_periods.vin = service_orders.vin
        and service_orders.open_date >= ownership_periods.owned_from

),

visit_summaries as (

    select
        vin,
        count(*) as service_visit_count,
        min(open_date) as first_service_date,
        max(open_date) as last_service_date

    from visits
    group by vin

),

last_visits as (

    select distinct on (vin)
        vin,
        dealer_code as last_service_dealer_code,
        pay_type as last_service_pay_type,
        is_customer_paid as is_last_service_customer_paid,
        total_amount as last_service_amount

    from visits
    order by vin, open_date desc, source_record_id desc

),

lapsed as (

    select
        ownership_periods.vin,
        ownership_periods.customer_id,
        ownership_periods.make,
        ownership_periods.model,
        ownership_periods.model_year,
        ownership_periods.owned_from,
        visit_summaries.service_visit_count,
        visit_summaries.first_service_date,
        visit_summaries.last_service_date,
        last_visits.last_service_dealer_code,
        last_visits.last_service_pay_type,
        last_visits.is_last_service_customer_paid,
        last_visits.last_service_amount,
        {{ months_between('visit_summaries.last_service_date', as_of_date()) }} as months_since_last_service,
        case
            when visit_summaries.service_visit_count > 1
                then round(
                    (visit_summaries.last_service_date - visit_summaries.first_service_date)
                    / 30.44 / (visit_summaries.service_visit_count - 1)
                )::integer
        end as average_visit_interval_months,
        extract(year from {{ as_of_date() }})::integer - ownership_periods.model_year as vehicle_age_years,
        thresholds.warranty_years,
        thresholds.price_shock_amount

    from ownership_periods
    inner join visit_summaries on ownership_periods.vin = visit_summaries.vin
    inner join last_visits on ownership_periods.vin = last_visits.vin
    cross join thresholds
    where visit_summaries.last_service_date
        < {{ as_of_date() }} - make_interval(months => thresholds.lapse_months)
        and visit_summaries.last_service_date
        >= {{ as_of_date() }} - make_interval(months => thresholds.presumed_gone_months)

),

later_purchases as (

    select distinct on (lapsed.vin)
        lapsed.vin,
        concat_ws(' ', sales.model_year, sales.brand, sales.model) as vehicle,
        sales.deal_date

    from lapsed
    inner join sales
        on lapsed.customer_id = sales.customer_id
        and sales.deal_date > lapsed.last_service_date
        and sales.vin <> lapsed.vin
    order by lapsed.vin, sales.deal_date desc, sales.source_record_id desc

),

final as (

    select
        lapsed.vin,
        lapsed.customer_id,
        lapsed.make,
        lapsed.model,
        lapsed.model_year,
        lapsed.owned_from,
        lapsed.service_visit_count,
        lapsed.first_service_date,
        lapsed.last_service_date,
        lapsed.last_service_dealer_code,
        lapsed.last_service_pay_type,
        lapsed.months_since_last_service,
        lapsed.average_visit_interval_months,
        concat_ws('; ',
            'no service visit for ' || lapsed.months_since_last_service || ' months (last at '
                || lapsed.last_service_dealer_code || ' on ' || to_char(lapsed.last_service_date, 'YYYY-MM-DD') || ')',
            'used to come every ' || lapsed.average_visit_interval_months || ' months',
            case when lapsed.last_service_pay_type = 'warranty' then 'last visit was warranty work' end,
            case
                when lapsed.vehicle_age_years > lapsed.warranty_years
                    then 'vehicle is ' || lapsed.vehicle_age_years || ' years old, past the usual warranty'
            end,
            case
                when lapsed.is_last_service_customer_paid and lapsed.last_service_amount >= lapsed.price_shock_amount
                    then 'last bill was ' || {{ format_dollars('lapsed.last_service_amount') }}
            end,
            'bought a ' || later_purchases.vehicle || ' on '
                || to_char(later_purchases.deal_date, 'YYYY-MM-DD') || ' since'
        ) as reasons,
        {{ as_of_date() }} as as_of_date

    from lapsed
    left join later_purchases on lapsed.vin = later_purchases.vin

)

select * from final
