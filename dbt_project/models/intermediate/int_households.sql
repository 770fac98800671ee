{#-
    The household rule, in one place: two private customers (not businesses) living at the
    same current address (street and postal code, accents, case and punctuation ignored) are
    one household when they share a surname, a phone number (a landline) or a usable e-mail
    (a family mailbox: two given names on one e-mail at one address are a household, not one
    person); households are the connected groups of such pairs, named after their lowest
    customer_id. A business has no household.
-#}
with recursive

golden_records as (

    select * from {{ ref('int_customer_golden_record') }}

),

person_records as (

    select * from {{ ref('int_person_records') }}

),

residents as (

    select
        customer_id,
        trim(regexp_replace(lower(unaccent(street)), '[^a-z0-9]+', ' ', 'g'))
            || '|' || coalesce(replace(postal_code, ' ', ''), lower(unaccent(city)), '') as address_key,
        lower(unaccent(last_name)) as surname_key

    from golden_records
    where not is_business and street is not null

),

-- a customer's phone numbers and e-mails (one value space: a number never equals an address)
contacts as (

    select distinct customer_id, phone_number as contact
    from person_records
    where is_phone_usable and customer_id is not null

    union

    select distinct customer_id, lower(email) as contact
    from person_records
    where is_email_usable and customer_id is not null

),

shared_surname_pairs as (

    select left_resident.customer_id as customer_id, right_resident.customer_id as other_customer_id
    from residents as left_resident
    inner join residents as right_resident
        on left_resident.address_key = right_resident.address_key
        and left_resident.surname_key = right_resident.surname_key
        and left_resident.customer_id <> right_resident.customer_id

),

shared_contact_pairs as (

    select left_resident.customer_id as customer_id, right_resident.customer_id as other_customer_id
    from residents as left_resident
    inner join residents as right_resident
        on left_resident.address_key = right_resident.address_key
        and left_resident.customer_id <> right_resident.customer_id
    inner join contacts as left_contact on left_resident.customer_id = left_contact.customer_id
    inner join contacts as right_contact
        on right_resident.customer_id = right_contact.customer_id
        and left_contact.contact = right_contact.contact

),

pairs as (

    select customer_id, other_customer_id from shared_surname_pairs
    union
    select customer_id, other_customer_id from shared_contact_pairs

),

-- everyone reachable from each paired customer through pairs (union drops repeats, so the
-- recursion ends)
reachable (customer_id, member_id) as (

    select distinct customer_id, customer_id from pairs

    union

    select reachable.customer_id, pairs.other_customer_id
    from reachable
    inner join pairs on reachable.member_id = pairs.customer_id

),

shared_households as (

    select customer_id, min(member_id::text) as head_customer_id, count(*) as household_size
    from reachable
    group by customer_id

),

final as (

    select
        golden_records.customer_id,
        case
            when not golden_records.is_business
                then 'H-' || coalesce(shared_households.head_customer_id, golden_records.customer_id::text)
        end as household_id,
        case when not golden_records.is_business then coalesce(shared_households.household_size, 1) end as household_size

    from golden_records
    left join shared_households on golden_records.customer_id = shared_households.customer_id

)

select * from final
