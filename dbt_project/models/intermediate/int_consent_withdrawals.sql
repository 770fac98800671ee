{#-
    A person's last opt-out, across all their merged records: the date of their latest
    explicit N known on as_of_date, and whether it still stands (no later express Y; an N
    beats a Y of the same day). While it stands nobody in the group contacts them
    (int_sender_consent), whatever they buy since: stricter than CASL, on purpose.
-#}
with

statements as (

    select * from {{ ref('int_consent_statements') }}
    where statement_date <= {{ as_of_date() }}
        and marketing_consent in ('express', 'withdrawn')

),

latest_opt_out as (

    select customer_id, max(statement_date) as withdrawn_on
    from statements
    where marketing_consent = 'withdrawn'
    group by customer_id

),

latest_opt_in as (

    select customer_id, max(statement_date) as opted_in_on
    from statements
    where marketing_consent = 'express'
    group by customer_id

),

final as (

    select
        latest_opt_out.customer_id,
        latest_opt_out.withdrawn_on,
        latest_opt_in.opted_in_on as later_opt_in_on,
        latest_opt_in.customer_id is null
            or latest_opt_in.opted_in_on <= latest_opt_out.withdrawn_on as is_standing

    from latest_opt_out
    left join latest_opt_in
        on latest_opt_out.customer_id = latest_opt_in.customer_id
        and latest_opt_in.opted_in_on > latest_opt_out.withdrawn_on

)

select * from final
