{#-
    Did a campaign work? One row per audited audience export (raw.audit_log, action
    export_audience, with a sender): its targets (written to the file) and controls (held
    out, raw.export_members.is_control), and how many of each responded: bought a vehicle,
    had a repair order or made an inquiry at that sender (any of its rooftops; for
    `oem:BRAND`, of that make at any rooftop) in the response window after the export day
    (seed campaign_rules, 90 days), up to
    as_of_date. lift is the difference of the two response rates (targets minus controls),
    with a 95 % Wald interval; null without controls or targets.
-#}
with

audit_log as (

    select * from {{ source('audit', 'audit_log') }}

),

response_window as (

    select cast(value as integer) as days
    from {{ ref('campaign_rules') }}
    where rule_code = 'response_window_days'

),

export_members as (

    select * from {{ source('audit', 'export_members') }}

),

senders as (

    select * from {{ ref('int_senders') }}

),

sales as (

    select * from {{ ref('int_sales') }}

),

service_orders as (

    select * from {{ ref('int_service_orders') }}

),

leads as (

    select * from {{ ref('int_leads') }}

),

exports as (

    select
        audit_id as export_id,
        filters ->> 'sender' as sender,
        filters ->> 'channel' as channel,
        at as exported_at,
        cast(at as date) as export_date

    from audit_log
    where action = 'export_audience' and filters ? 'sender'

),

-- what counts as a response, with the senders it counts for: the rooftop's and the make's
activity as (

    select customer_id, deal_date as activity_date, dealer_code, brand from sales
    union all
    select customer_id, open_date, dealer_code, brand from service_orders
    union all
    select customer_id, created_date, dealer_code, interest_brand from leads

),

activity_by_sender as (

    select activity.customer_id, activity.activity_date, senders.sender
    from activity
    inner join senders on activity.dealer_code = senders.dealer_code
    union all
    select customer_id, activity_date, 'oem:' || brand as sender
    from activity
    where brand is not null

),

members as (

    select
        exports.export_id,
        export_members.customer_id,
        export_members.is_control,
        exists (
            select 1
            from activity_by_sender
            where activity_by_sender.customer_id = export_members.customer_id
                and activity_by_sender.sender = exports.sender
                and activity_by_sender.activity_date > exports.export_date
                and activity_by_sender.activity_date
                    <= exports.export_date + response_window.days
                and activity_by_sender.activity_date <= {{ as_of_date() }}
        ) as has_responded

    from exports
    inner join export_members on exports.export_id = export_members.export_id
    cross join response_window

),

counts as (

    select
        export_id,
        count(*) filter (where not is_control) as targets,
        count(*) filter (where is_control) as controls,
        count(*) filter (where not is_control and has_responded) as target_responders,
        count(*) filter (where is_control and has_responded) as control_responders

    from members
    group by export_id

),

rates as (

    select
        exports.export_id,
        exports.sender,
        exports.channel,
        exports.exported_at,
        coalesce(counts.targets, 0) as targets,
        coalesce(counts.controls, 0) as controls,
        coalesce(counts.target_responders, 0) as target_responders,
        coalesce(counts.control_responders, 0) as control_responders,
        case when counts.targets > 0
            then counts.target_responders::numeric / counts.targets end as target_rate,
        case when counts.controls > 0
            then counts.control_responders::numeric / counts.controls end as control_rate

    from exports
    left join counts on exports.export_id = counts.export_id

),

final as (

    select
        export_id,
        sender,
        channel,
        exported_at,
        exported_at::date + response_window.days as response_window_ends_on,
        targets,
        controls,
        target_responders,
        control_responders,
        round(target_rate, 4) as target_response_rate,
        round(control_rate, 4) as control_response_rate,
        round(target_rate - control_rate, 4) as lift,
        round(
            target_rate - control_rate - 1.96 * sqrt(
                target_rate * (1 - target_rate) / nullif(targets, 0)
                + control_rate * (1 - control_rate) / nullif(controls, 0)
            ),
            4
        ) as lift_low,
        round(
            target_rate - control_rate + 1.96 * sqrt(
                target_rate * (1 - target_rate) / nullif(targets, 0)
                + control_rate * (1 - control_rate) / nullif(controls, 0)
            ),
            4
        ) as lift_high

    from rates
    cross join response_window

)

select * from final
