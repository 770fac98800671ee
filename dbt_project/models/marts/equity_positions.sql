{#-
    One row per finance or lease contract in force on as_of_date on a vehicle its buyer still
    owns: what is left to pay, what the vehicle is worth, and the difference. The equity rule,
    in one place.

    - In force: a finance or lease deal with an amount financed and a term, dated on or
      before as_of_date, with payments left; the buyer owns the VIN on as_of_date
      (int_owned_vehicles). A VIN that cannot be followed (invalid) is left out: nothing
      says it is still owned. When a buyer financed the same VIN twice, the latest deal.
    - Payments made: whole months from the deal to as_of_date (the first payment a month
      after the deal), at most the term; payments_left = term - payments made.
    - Payoff of a loan, from its own amortization: with r = apr / 1200 a month, n payments
      and k made, the balance is amount × ((1 + r)^n - (1 + r)^k) / ((1 + r)^n - 1), or
      amount × (n - k) / n at 0 %. Without an APR, the monthly payment × payments left.
    - Payoff of a lease: its residual plus the depreciation not yet paid. The residual R
      comes from the lease's own payment P (depreciation plus rent at the money factor
      apr / 2400): P = (amount - R) / n + (amount + R) × apr / 2400; the payoff after k
      payments is R + (amount - R) × (n - k) / n. Without a payment or an APR it is unknown.
    - Estimated value: int_vehicle_values (the group's own used sales); equity = value -
      payoff, null when either is unknown.
-#}
{{
    config(
        indexes=[
            {'columns': ['vin'], 'unique': true},
            {'columns': ['customer_id']},
            {'columns': ['dealer_code']},
        ],
    )
}}

with

sales as (

    select * from {{ ref('int_sales') }}
    where payment_type in ('finance', 'lease')
        and financed_amount > 0
        and term_months > 0
        and customer_id is not null
        and is_vin_valid
        and deal_date <= {{ as_of_date() }}

),

owned_vehicles as (

    select * from {{ ref('int_owned_vehicles') }}

),

vehicle_values as (

    select * from {{ ref('int_vehicle_values') }}
    where subject_kind = 'owned_vehicle'

),

contracts as (

    select distinct on (sales.vin)
        sales.*,
        least(
            sales.term_months,
            (extract(year from age({{ as_of_date() }}, sales.deal_date)) * 12
                + extract(month from age({{ as_of_date() }}, sales.deal_date)))::integer
        ) as payments_made,
        sales.apr_percent / 1200 as monthly_rate

    from sales
    inner join owned_vehicles
        on sales.vin = owned_vehicles.vin
        and sales.customer_id = owned_vehicles.customer_id
    order by sales.vin, sales.deal_date desc, sales.source_record_id desc

),

lease_residuals as (

    -- computed on each contract's own row: a join of contracts to itself was planned as a
    -- nested loop (the VIN and customer join above is estimated at a couple of rows), 83 s
    -- of a 128 s build at 30k people
    select
        contracts.*,
        case
            when contracts.payment_type = 'lease'
                and contracts.monthly_payment_amount is not null
                and contracts.apr_percent is not null
                and 1.0 / contracts.term_months > contracts.apr_percent / 2400
                then (contracts.financed_amount / contracts.term_months
                    + contracts.financed_amount * contracts.apr_percent / 2400
                    - contracts.monthly_payment_amount)
                    / (1.0 / contracts.term_months - contracts.apr_percent / 2400)
        end as residual_amount

    from contracts

),

payoffs as (

    select
        lease_residuals.*,
        case
            when lease_residuals.payment_type = 'lease' and lease_residuals.residual_amount
                between 0 and lease_residuals.financed_amount
                then 'lease_residual'
            when lease_residuals.payment_type = 'finance' and lease_residuals.apr_percent is not null
                then 'amortization'
            when lease_residuals.payment_type = 'finance'
                and lease_residuals.monthly_payment_amount is not null
                then 'remaining_payments'
        end as payoff_method

    from lease_residuals
    where lease_residuals.payments_made < lease_residuals.term_months

),

amounts as (

    select
        payoffs.*,
        round(
            case payoffs.payoff_method
                when 'amortization' then
                    case
                        when payoffs.monthly_rate = 0
                            then payoffs.financed_amount
                                * (payoffs.term_months - payoffs.payments_made) / payoffs.term_months
                        else payoffs.financed_amount
                            * (power(1 + payoffs.monthly_rate, payoffs.term_months)
                                - power(1 + payoffs.monthly_rate, payoffs.payments_made))
                            / (power(1 + payoffs.monthly_rate, payoffs.term_months) - 1)
                    end
                when 'remaining_payments' then
                    payoffs.monthly_payment_amount * (payoffs.term_months - payoffs.payments_made)
                when 'lease_residual' then
                    payoffs.residual_amount
                        + (payoffs.financed_amount - payoffs.residual_amount)
                        * (payoffs.term_months - payoffs.payments_made) / payoffs.term_months
            end,
            2
        ) as payoff_amount

    from payoffs

),

final as (

    select
        amounts.vin,
        amounts.customer_id,
        amounts.dealer_code,
        amounts.source_record_id,
        amounts.payment_type,
        amounts.deal_date,
        amounts.term_end_date,
        amounts.brand as make,
        amounts.model,
        amounts.model_year,
        amounts.financed_amount,
        amounts.apr_percent,
        amounts.monthly_payment_amount,
        amounts.term_months,
        amounts.payments_made,
        amounts.term_months - amounts.payments_made as payments_left,
        amounts.payoff_method,
        amounts.payoff_amount,
        vehicle_values.estimated_value_amount,
        vehicle_values.curve as valuation_curve,
        vehicle_values.estimated_value_amount - amounts.payoff_amount as equity_amount,
        {{ as_of_date() }} as as_of_date

    from amounts
    left join vehicle_values on amounts.vin = vehicle_values.vin

)

select * from final
