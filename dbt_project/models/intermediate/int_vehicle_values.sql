{#-
    What a vehicle is worth, from the group's own used sales: the valuation rule, in one place.

    The curve is fitted on the used and certified sales (with a price and a model year) dated
    up to as_of_date, in three least-squares steps, all in SQL:
    1. Age. For each make, ln(price) against the vehicle's age in years at the deal (days
       since January 1 of its model year / 365.25): regr_intercept and regr_slope, so a
       vehicle loses the same share of its value each year (log-linear depreciation). A make
       with fewer than valuation_rules.min_fit_sales sales uses every make's sales pooled.
    2. Mileage. The residuals of step 1 against the kilometres above or below what vehicles
       of that age usually show (the group's own kilometres per year, a least-squares line
       through the origin), from sales with an odometer reading within
       valuation_rules.odometer_window_days of the deal; per make when it has enough such
       sales, else pooled, else no adjustment.
    3. Model. The mean residual left of the model's sales, shrunk toward 0 as if
       valuation_rules.model_shrinkage_sales more sales had none: a model that holds its
       value better than its make sits above the curve.
    A value = exp(intercept + slope × age + km slope × excess km + model offset), in whole
    dollars. Valued: every used sale (at its deal, to measure the curve:
    benchmarks/vehicle_values.py) and every vehicle owned on as_of_date (at as_of_date, its
    odometer estimated from its own trend, int_vehicle_mileage; unknown: no mileage
    adjustment).

    With the var `valuation_holdout_percent` (0 by default) that share of the used sales,
    picked by a hash of their record key, is left out of the fit (is_held_out), so the
    benchmark measures the error on sales the curve never saw.
-#}
{{
    config(
        indexes=[
            {'columns': ['subject_id'], 'unique': true},
            {'columns': ['vin']},
        ],
    )
}}

with

sales as (

    select * from {{ ref('int_sales') }}
    where deal_date <= {{ as_of_date() }}

),

service_orders as (

    select * from {{ ref('int_service_orders') }}
    where is_vin_valid and mileage > 0 and open_date <= {{ as_of_date() }}

),

owned_vehicles as (

    select * from {{ ref('int_owned_vehicles') }}

),

mileage as (

    select * from {{ ref('int_vehicle_mileage') }}

),

valuation_rules as (

    select * from {{ ref('valuation_rules') }}

),

rules as (

    select
        max(value) filter (where rule_code = 'min_fit_sales') as min_fit_sales,
        max(value) filter (where rule_code = 'model_shrinkage_sales') as model_shrinkage_sales,
        max(value) filter (where rule_code = 'odometer_window_days')::integer as odometer_window_days

    from valuation_rules

),

used_sales as (

    select
        source_record_id,
        vin,
        brand,
        model,
        model_year,
        deal_date,
        sale_amount,
        (deal_date - make_date(model_year, 1, 1)) / 365.25 as age_years,
        ln(sale_amount::double precision) as log_price,
        coalesce(
            ('x' || substr(md5(source_record_id), 1, 8))::bit(32)::bigint % 100
                < {{ var('valuation_holdout_percent', 0) }},
            false
        ) as is_held_out

    from sales
    where acquired_as = 'used'
        and sale_amount > 0
        and brand is not null
        and model_year between 1900 and 2100

),

-- a used sale's odometer: the repair-order reading on that VIN nearest the deal
sale_odometers as (

    select distinct on (used_sales.source_record_id)
        used_sales.source_record_id,
        service_orders.mileage as odometer_km

    from used_sales
    cross join rules
    inner join service_orders
        on used_sales.vin = service_orders.vin
        and abs(service_orders.open_date - used_sales.deal_date) <= rules.odometer_window_days
    order by
        used_sales.source_record_id,
        abs(service_orders.open_date - used_sales.deal_date),
        service_orders.source_record_id

),

training as (

    select
        used_sales.*,
        sale_odometers.odometer_km

    from used_sales
    left join sale_odometers on used_sales.source_record_id = sale_odometers.source_record_id
    where not used_sales.is_held_out

),

age_fits as (

    select
        brand,
        count(*) as sales_count,
        regr_intercept(log_price, age_years) as intercept,
        regr_slope(log_price, age_years) as age_slope

    from training
    group by brand

    union all

    select
        null as brand,
        count(*),
        regr_intercept(log_price, age_years),
        regr_slope(log_price, age_years)

    from training

),

-- the kilometres a vehicle of a given age usually shows: least squares through the origin
usual_mileage as (

    select sum(odometer_km * age_years) / nullif(sum(age_years * age_years), 0) as km_per_year
    from training
    where odometer_km is not null and age_years > 0

),

age_curves as (

    select
        brands.brand,
        coalesce(own.intercept, pooled.intercept) as intercept,
        coalesce(own.age_slope, pooled.age_slope) as age_slope,
        case when own.brand is not null then 'make' else 'pooled' end as curve

    from (select distinct brand from training) as brands
    cross join rules
    left join age_fits as own
        on brands.brand = own.brand
        and own.sales_count >= rules.min_fit_sales
        and own.age_slope is not null
    inner join age_fits as pooled on pooled.brand is null

),

age_residuals as (

    select
        training.*,
        training.log_price
            - (coalesce(age_curves.intercept, pooled.intercept)
                + coalesce(age_curves.age_slope, pooled.age_slope) * training.age_years)
            as age_residual,
        training.odometer_km - usual_mileage.km_per_year * training.age_years as excess_km

    from training
    cross join usual_mileage
    inner join age_fits as pooled on pooled.brand is null
    left join age_curves on training.brand = age_curves.brand

),

mileage_fits as (

    select
        brand,
        count(*) as sales_count,
        regr_slope(age_residual, excess_km) as km_slope

    from age_residuals
    where excess_km is not null
    group by brand

    union all

    select null, count(*), regr_slope(age_residual, excess_km)
    from age_residuals
    where excess_km is not null

),

curves as (

    select
        age_curves.brand,
        age_curves.intercept,
        age_curves.age_slope,
        coalesce(own.km_slope, pooled.km_slope, 0) as km_slope,
        age_curves.curve

    from age_curves
    cross join rules
    left join mileage_fits as own
        on age_curves.brand = own.brand
        and own.sales_count >= rules.min_fit_sales
    left join mileage_fits as pooled
        on pooled.brand is null
        and pooled.sales_count >= rules.min_fit_sales

),

model_offsets as (

    select
        age_residuals.brand,
        age_residuals.model,
        count(*) as model_sales_count,
        sum(
            age_residuals.age_residual
                - curves.km_slope * coalesce(age_residuals.excess_km, 0)
        ) / (count(*) + min(rules.model_shrinkage_sales)) as model_offset

    from age_residuals
    cross join rules
    inner join curves on age_residuals.brand = curves.brand
    where age_residuals.model is not null
    group by age_residuals.brand, age_residuals.model

),

subjects as (

    select
        'sale:' || used_sales.source_record_id as subject_id,
        'used_sale' as subject_kind,
        used_sales.vin,
        used_sales.source_record_id,
        used_sales.brand,
        used_sales.model,
        used_sales.model_year,
        used_sales.deal_date as valued_on,
        used_sales.age_years,
        sale_odometers.odometer_km,
        used_sales.sale_amount,
        used_sales.is_held_out

    from used_sales
    left join sale_odometers on used_sales.source_record_id = sale_odometers.source_record_id

    union all

    select
        'vin:' || owned_vehicles.vin,
        'owned_vehicle',
        owned_vehicles.vin,
        null,
        owned_vehicles.make,
        owned_vehicles.model,
        owned_vehicles.model_year,
        {{ as_of_date() }},
        ({{ as_of_date() }} - make_date(owned_vehicles.model_year, 1, 1)) / 365.25,
        mileage.estimated_km,
        null,
        false

    from owned_vehicles
    left join mileage on owned_vehicles.vin = mileage.vin
    where owned_vehicles.make is not null
        and owned_vehicles.model_year between 1900 and 2100

),

final as (

    select
        subjects.subject_id,
        subjects.subject_kind,
        subjects.vin,
        subjects.source_record_id,
        subjects.brand,
        subjects.model,
        subjects.model_year,
        subjects.valued_on,
        round(subjects.age_years::numeric, 2) as age_years,
        subjects.odometer_km,
        subjects.sale_amount,
        subjects.is_held_out,
        coalesce(curves.curve, 'pooled') as curve,
        coalesce(model_offsets.model_sales_count, 0) as model_sales_count,
        round(
            exp(
                coalesce(curves.intercept, pooled.intercept)
                + coalesce(curves.age_slope, pooled.age_slope) * subjects.age_years
                + coalesce(curves.km_slope, 0)
                    * coalesce(subjects.odometer_km - usual_mileage.km_per_year * subjects.age_years, 0)
                + coalesce(model_offsets.model_offset, 0)
            )::numeric
        ) as estimated_value_amount

    from subjects
    cross join usual_mileage
    left join age_fits as pooled on pooled.brand is null
    left join curves on subjects.brand = curves.brand
    left join model_offsets
        on subjects.brand = model_offsets.brand
        and subjects.model = model_offsets.model

)

select * from final
