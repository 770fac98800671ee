{#-
    Which rooftops served which customer: the fact every dealer policy reads. A customer
    belongs to a dealer when at least one of their records (a sale, a repair order, a lead)
    is at its rooftop; an OEM registration names no rooftop, so it makes no one a dealer's
    customer. Kept small and indexed on both keys so a policy's `customer_id in (select
    customer_id from access.customer_dealers)` costs an index probe per customer. It is
    row-level secured itself (a dealer role reads only its own rooftop's rows, or every
    rooftop's when the group shares), which is what narrows the marts' policies.
-#}
{{
    config(
        schema='access',
        materialized='table',
        indexes=[
            {'columns': ['customer_id', 'dealer_code'], 'unique': true},
            {'columns': ['dealer_code', 'customer_id']},
        ],
        post_hook=["{{ protect() }}"],
    )
}}

with

person_records as (

    select * from {{ ref('int_person_records') }}

),

final as (

    select distinct
        customer_id,
        dealer_code

    from person_records
    where customer_id is not null and dealer_code is not null

)

select * from final
