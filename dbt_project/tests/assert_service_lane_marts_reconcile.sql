-- The service-lane marts reconcile with the landed rows. A row here is a mismatch:
-- - every (VIN, campaign) landed in the recall files and issued by the as-of date is one row
--   of open_recalls, and a done recall points to a landed repair order that carried its
--   campaign on that VIN on or after the issue date;
-- - every open_recall row of the worklist is an open recall of that VIN under that owner;
-- - an equity position is a landed finance or lease deal, with its amount financed, and its
--   equity is its value minus its payoff to the cent.
{{ config(meta={'dagster': {'ref': {'name': 'open_recalls'}}}) }}  -- shown in Dagster as a check on this mart
with

landed_recalls as (

    select count(distinct (upper(vin), upper(campaign_id))) as recall_count
    from {{ source('raw', 'oem_recalls') }}
    where cast(issued_date as date) <= {{ as_of_date() }}

),

modelled_recalls as (

    select count(*) as recall_count from {{ ref('open_recalls') }}

),

recall_counts as (

    select
        'recall count: landed ' || landed_recalls.recall_count || ', modelled '
            || modelled_recalls.recall_count as mismatch

    from landed_recalls
    cross join modelled_recalls
    where landed_recalls.recall_count <> modelled_recalls.recall_count

),

done_without_proof as (

    select 'done recall without its repair order: ' || recalls.vin || ' ' || recalls.campaign_id
    from {{ ref('open_recalls') }} as recalls
    left join {{ source('raw', 'service_orders') }} as orders
        on recalls.done_source_record_id = orders.source_record_id
        and upper(orders.vin) = recalls.vin
        and upper(orders.recall_campaign) = recalls.campaign_id
        and cast(orders.open_date as date) >= recalls.issued_date
    where recalls.status = 'done' and orders.source_record_id is null

),

worklist_recalls as (

    select 'worklist recall not open: ' || worklist.dealer_code || ' ' || worklist.vin
    from {{ ref('service_worklist') }} as worklist
    where worklist.reason = 'open_recall'
        and not exists (
            select 1
            from {{ ref('open_recalls') }} as recalls
            where recalls.vin = worklist.vin
                and recalls.customer_id = worklist.customer_id
                and recalls.status = 'open'
        )

),

equity_deals as (

    select 'equity position without its deal: ' || positions.source_record_id
    from {{ ref('equity_positions') }} as positions
    left join {{ source('raw', 'dealer_sales') }} as deals
        on positions.source_record_id = deals.source_record_id
        and lower(deals.payment_type) in ('finance', 'lease')
        and cast(deals.amount_financed as numeric) = positions.financed_amount
    where deals.source_record_id is null
        or positions.equity_amount
            is distinct from positions.estimated_value_amount - positions.payoff_amount

),

final as (

    select * from recall_counts
    union all
    select * from done_without_proof
    union all
    select * from worklist_recalls
    union all
    select * from equity_deals

)

select * from final
