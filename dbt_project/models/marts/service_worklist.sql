{#-
    The service lane's daily list: one row per (rooftop, customer, vehicle, reason) to call
    about on as_of_date, with why (detail), by when (due_date) and whether that rooftop may
    contact the customer. The worklist rule, in one place; thresholds in seeds
    service_lane_rules, maintenance_intervals, warranty_terms and service_rules.

    Whose list a row is on: the rooftop whose service lane the owner last used for this
    vehicle since acquiring it (the lane they come to), else the rooftop that sold it to
    them. A vehicle neither sold nor serviced by the group to its owner is on no list. A new
    owner never seen is on the list of the rooftop that last sold the VIN.

    Vehicles are those owned on as_of_date (int_owned_vehicles), with every repair order on
    the VIN since the owner acquired it (at any rooftop) as their visits:
    - open_recall: recalls open on the vehicle under this owner (marts.open_recalls) whose
      remedy is not known to be missing (remedy_available N: no parts, nothing to book); one
      row for all of them, due since the earliest issue.
    - maintenance_due: the next visit of the make's schedule (seed maintenance_intervals) is
      due, by kilometres (from the vehicle's own mileage trend, int_vehicle_mileage) or by
      months, whichever comes first, counted from the last visit (else the purchase: 0 km
      when bought new), within maintenance_notice_days or already; not for a vehicle whose
      last visit is older than service_rules.presumed_gone_months, nor one listed as lapsed.
    - warranty_ending: the make's basic warranty (seed warranty_terms: years from the
      in-service date, kilometres by the trend, whichever first) ends within
      warranty_notice_days.
    - lapsed_service: with two visit days or more, the time since the last visit exceeds
      lapse_factor × the vehicle's usual interval (first to last visit over the gaps), and
      the last visit is within service_rules.presumed_gone_months; due when the next visit
      was expected.
    - new_owner_never_seen: a VIN the group sold whose owner on as_of_date came by an OEM
      registration or transfer (within new_owner_window_months) and has no record at any
      rooftop; due since the registration.
    is_contactable: the rooftop's sender (int_senders) may contact the customer on some
    channel (marts.contact_permissions); exports list contactable rows only.

    A dealer role reads the rows of its rooftop about its own customers (the marts' policy,
    dbt_project/macros/access.sql); a new owner never seen is no rooftop's customer yet, so
    those rows are read by the pipeline's role only.
-#}
{{
    config(
        indexes=[
            {'columns': ['dealer_code', 'customer_id', 'vin', 'reason'], 'unique': true},
            {'columns': ['dealer_code', 'reason']},
            {'columns': ['customer_id']},
        ],
    )
}}

with

owned_vehicles as (

    select * from {{ ref('int_owned_vehicles') }}

),

service_orders as (

    select * from {{ ref('int_service_orders') }}
    where is_vin_valid and open_date <= {{ as_of_date() }}

),

sales as (

    select * from {{ ref('int_sales') }}
    where is_vin_valid and deal_date <= {{ as_of_date() }}

),

open_recalls as (

    select * from {{ ref('open_recalls') }}
    where status = 'open' and has_remedy is distinct from false

),

mileage as (

    select * from {{ ref('int_vehicle_mileage') }}

),

person_records as (

    select * from {{ ref('int_person_records') }}

),

senders as (

    select * from {{ ref('int_senders') }}

),

contact_permissions as (

    select * from {{ ref('contact_permissions') }}

),

maintenance_intervals as (

    select * from {{ ref('maintenance_intervals') }}

),

warranty_terms as (

    select * from {{ ref('warranty_terms') }}

),

service_lane_rules as (

    select * from {{ ref('service_lane_rules') }}

),

service_rules as (

    select * from {{ ref('service_rules') }}

),

rules as (

    select
        max(value) filter (where rule_code = 'warranty_notice_days')::integer as warranty_notice_days,
        max(value) filter (where rule_code = 'maintenance_notice_days')::integer
            as maintenance_notice_days,
        max(value) filter (where rule_code = 'lapse_factor') as lapse_factor,
        max(value) filter (where rule_code = 'new_owner_window_months')::integer
            as new_owner_window_months,
        (
            select value::integer from service_rules where rule_code = 'presumed_gone_months'
        ) as presumed_gone_months

    from service_lane_rules

),

visits as (

    select
        owned_vehicles.vin,
        service_orders.source_record_id,
        service_orders.open_date,
        service_orders.dealer_code,
        service_orders.mileage

    from owned_vehicles
    inner join service_orders
        on owned_vehicles.vin = service_orders.vin
        and service_orders.open_date >= owned_vehicles.owned_from

),

visit_summaries as (

    select
        vin,
        count(distinct open_date) as visit_days,
        min(open_date) as first_visit_date,
        max(open_date) as last_visit_date,
        (array_agg(dealer_code order by open_date desc, source_record_id desc))[1]
            as last_visit_dealer_code,
        (array_agg(mileage order by open_date desc, source_record_id desc))[1] as last_visit_km

    from visits
    group by vin

),

vehicles as (

    select
        owned_vehicles.vin,
        owned_vehicles.customer_id,
        owned_vehicles.make,
        owned_vehicles.model,
        owned_vehicles.model_year,
        owned_vehicles.owned_from,
        owned_vehicles.acquired_as,
        owned_vehicles.acquired_source,
        coalesce(
            nullif(concat_ws(' ', owned_vehicles.model_year, owned_vehicles.make, owned_vehicles.model), ''),
            owned_vehicles.vin
        ) as vehicle,
        coalesce(visit_summaries.last_visit_dealer_code, acquired_sales.dealer_code) as dealer_code,
        visit_summaries.visit_days,
        visit_summaries.first_visit_date,
        visit_summaries.last_visit_date,
        visit_summaries.last_visit_km

    from owned_vehicles
    left join visit_summaries on owned_vehicles.vin = visit_summaries.vin
    left join sales as acquired_sales
        on owned_vehicles.acquired_source = 'dealer_sales'
        and owned_vehicles.acquired_source_record_id = acquired_sales.source_record_id

),

recall_lines as (

    select
        vehicles.dealer_code,
        vehicles.customer_id,
        vehicles.vin,
        'open_recall' as reason,
        min(open_recalls.issued_date) as due_date,
        case when count(*) = 1 then 'Recall ' else 'Recalls ' end
            || string_agg(
                open_recalls.campaign_id
                    || coalesce(' (' || open_recalls.description || ')', '')
                    || ', issued ' || to_char(open_recalls.issued_date, 'YYYY-MM-DD'),
                '; '
                order by open_recalls.issued_date, open_recalls.campaign_id
            )
            || case when count(*) = 1 then ', is' else ', are' end
            || ' open on the ' || vehicles.vehicle || '.' as detail

    from vehicles
    inner join open_recalls
        on vehicles.vin = open_recalls.vin
        and vehicles.customer_id = open_recalls.customer_id
    where vehicles.dealer_code is not null
    group by vehicles.dealer_code, vehicles.customer_id, vehicles.vin, vehicles.vehicle

),

intervals as (

    select
        vehicles.*,
        (vehicles.last_visit_date - vehicles.first_visit_date)::numeric
            / (vehicles.visit_days - 1) as usual_interval_days

    from vehicles
    where vehicles.visit_days >= 2

),

lapsed as (

    select intervals.*
    from intervals
    cross join rules
    where intervals.dealer_code is not null
        and {{ as_of_date() }} - intervals.last_visit_date
            > rules.lapse_factor * intervals.usual_interval_days
        and intervals.last_visit_date
            >= {{ as_of_date() }} - make_interval(months => rules.presumed_gone_months)

),

lapsed_lines as (

    select
        dealer_code,
        customer_id,
        vin,
        'lapsed_service' as reason,
        (last_visit_date + round(usual_interval_days)::integer) as due_date,
        'Last visit ' || to_char(last_visit_date, 'YYYY-MM-DD') || ' at ' || dealer_code
            || '; the ' || vehicle || ' usually comes every '
            || greatest(round(usual_interval_days / 30.44), 1) || ' months (' || visit_days
            || ' visits since ' || to_char(first_visit_date, 'YYYY-MM-DD')
            || '), so it was expected around '
            || to_char(last_visit_date + round(usual_interval_days)::integer, 'YYYY-MM-DD')
            || '.' as detail

    from lapsed

),

maintenance as (

    select
        vehicles.*,
        maintenance_intervals.interval_km,
        maintenance_intervals.interval_months,
        mileage.km_per_day,
        coalesce(vehicles.last_visit_date, vehicles.owned_from) as base_date,
        case
            when vehicles.last_visit_date is not null then vehicles.last_visit_km
            when vehicles.acquired_as = 'new' then 0
        end as base_km

    from vehicles
    inner join maintenance_intervals on vehicles.make = maintenance_intervals.brand
    left join mileage on vehicles.vin = mileage.vin
    where vehicles.dealer_code is not null
        and not exists (select 1 from lapsed where lapsed.vin = vehicles.vin)

),

maintenance_due_dates as (

    select
        maintenance.*,
        cast(maintenance.base_date + make_interval(months => maintenance.interval_months) as date)
            as due_by_months,
        case
            when maintenance.km_per_day > 0 and maintenance.base_km is not null
                then maintenance.base_date
                    + ceil(maintenance.interval_km / maintenance.km_per_day)::integer
        end as due_by_km

    from maintenance

),

maintenance_lines as (

    select
        dealer_code,
        customer_id,
        vin,
        'maintenance_due' as reason,
        least(due_by_months, due_by_km) as due_date,
        case
            when least(due_by_months, due_by_km) < {{ as_of_date() }} then 'Overdue since '
            else 'Due '
        end
            || to_char(least(due_by_months, due_by_km), 'YYYY-MM-DD') || ': ' || make
            || ' schedules a visit every ' || {{ format_count('interval_km') }} || ' km or '
            || interval_months || ' months; '
            || case
                when last_visit_date is not null
                    then 'last visit ' || to_char(last_visit_date, 'YYYY-MM-DD')
                        || coalesce(' at ' || {{ format_count('last_visit_km') }} || ' km', '')
                else 'no visit since the purchase on ' || to_char(owned_from, 'YYYY-MM-DD')
            end
            || coalesce(
                ', driving about ' || {{ format_count('round(km_per_day * 30.44)') }}
                    || ' km a month',
                ''
            )
            || '.' as detail

    from maintenance_due_dates
    cross join rules
    where least(due_by_months, due_by_km)
        <= {{ as_of_date() }} + rules.maintenance_notice_days
        and base_date >= {{ as_of_date() }} - make_interval(months => rules.presumed_gone_months)

),

warranties as (

    select
        vehicles.*,
        warranty_terms.warranty_years,
        warranty_terms.warranty_km,
        mileage.in_service_date,
        mileage.estimated_km,
        cast(mileage.in_service_date + make_interval(years => warranty_terms.warranty_years) as date)
            as ends_by_years,
        case
            when warranty_terms.warranty_km is not null and mileage.km_per_day > 0
                then mileage.last_reading_date
                    + ceil((warranty_terms.warranty_km - mileage.last_reading_km) / mileage.km_per_day)::integer
        end as ends_by_km

    from vehicles
    inner join warranty_terms on vehicles.make = warranty_terms.brand
    inner join mileage on vehicles.vin = mileage.vin
    where vehicles.dealer_code is not null and mileage.in_service_date is not null

),

warranty_lines as (

    select
        dealer_code,
        customer_id,
        vin,
        'warranty_ending' as reason,
        least(ends_by_years, ends_by_km) as due_date,
        'The ' || make || ' warranty (' || warranty_years || ' years'
            || coalesce(' or ' || {{ format_count('warranty_km') }} || ' km', '')
            || ') of the ' || vehicle || ' ends about '
            || to_char(least(ends_by_years, ends_by_km), 'YYYY-MM-DD')
            || case
                when ends_by_km < ends_by_years
                    then ', by kilometres (about ' || {{ format_count('estimated_km') }}
                        || ' km today)'
                else ', ' || warranty_years || ' years after it went into service on '
                    || to_char(in_service_date, 'YYYY-MM-DD')
            end
            || ': book a last inspection under warranty.' as detail

    from warranties
    cross join rules
    where least(ends_by_years, ends_by_km) >= {{ as_of_date() }}
        and least(ends_by_years, ends_by_km) <= {{ as_of_date() }} + rules.warranty_notice_days

),

served_customers as (

    select distinct customer_id
    from person_records
    where dealer_code is not null and customer_id is not null

),

last_group_sales as (

    select distinct on (vin)
        vin,
        dealer_code,
        deal_date

    from sales
    order by vin, deal_date desc, source_record_id desc

),

new_owner_lines as (

    select
        last_group_sales.dealer_code,
        vehicles.customer_id,
        vehicles.vin,
        'new_owner_never_seen' as reason,
        vehicles.owned_from as due_date,
        'The ' || vehicles.vehicle || ' sold at ' || last_group_sales.dealer_code || ' on '
            || to_char(last_group_sales.deal_date, 'YYYY-MM-DD')
            || ' was registered by the manufacturer to a new owner on '
            || to_char(vehicles.owned_from, 'YYYY-MM-DD')
            || case when vehicles.acquired_as = 'transfer' then ' (a transfer)' else '' end
            || ', whom no rooftop of the group has served.' as detail

    from vehicles
    cross join rules
    inner join last_group_sales
        on vehicles.vin = last_group_sales.vin
        and last_group_sales.deal_date <= vehicles.owned_from
    where vehicles.acquired_source = 'oem_registrations'
        and vehicles.owned_from
            >= {{ as_of_date() }} - make_interval(months => rules.new_owner_window_months)
        and not exists (
            select 1
            from served_customers
            where served_customers.customer_id = vehicles.customer_id
        )

),

lines as (

    select * from recall_lines
    union all
    select * from maintenance_lines
    union all
    select * from warranty_lines
    union all
    select * from lapsed_lines
    union all
    select * from new_owner_lines

),

contactable as (

    select
        senders.dealer_code,
        contact_permissions.customer_id,
        array_agg(distinct contact_permissions.channel order by contact_permissions.channel)
            as contact_channels

    from contact_permissions
    inner join senders on contact_permissions.sender = senders.sender
    group by senders.dealer_code, contact_permissions.customer_id

),

final as (

    select
        lines.dealer_code,
        lines.customer_id,
        lines.vin,
        lines.reason,
        lines.due_date,
        lines.detail,
        contactable.customer_id is not null as is_contactable,
        coalesce(contactable.contact_channels, '{}') as contact_channels,
        vehicles.make,
        vehicles.model,
        vehicles.model_year,
        {{ as_of_date() }} as as_of_date

    from lines
    inner join vehicles on lines.vin = vehicles.vin
    left join contactable
        on lines.dealer_code = contactable.dealer_code
        and lines.customer_id = contactable.customer_id

)

select * from final
