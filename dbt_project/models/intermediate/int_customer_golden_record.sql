{#-
    The survivorship rules, in one place (each field group remembers the record it came from):
    - name: the most frequent spelling of (first, last) across the customer's records, case
      folded, among spellings typed in name fields (repair orders' free-text names only
      when there is no other); ties go to the spelling seen last; it is shown as typed,
      preferring a spelling not in all capitals.
    - company name: the most recent one given.
    - e-mail: the most recent usable one (well formed, not a placeholder such as noemail@).
    - phone: the most recent usable one (not a dealer's own number, not filler digits).
    - address: the most recent record with a street gives street, city, region and postal
      code together, so that parts of two addresses are never mixed.
    - birth date: the most frequent one given; ties go to the one seen last.
-#}
{#-
    Incremental at customer grain: a build rebuilds the customers whose records changed
    (macros/incremental.sql says which and deletes them first); in full on --full-refresh.
    Logged, as a kept table must be (see int_person_records).
-#}
-- depends_on: {{ ref('int_changed_events') }}
{{
    config(
        materialized='incremental',
        full_refresh=(true if as_of_date() | trim != 'current_date' else none),
        incremental_strategy='append',
        unlogged=false,
        indexes=[{'columns': ['customer_id'], 'unique': true}],
        pre_hook=["{{ delete_changed_customers() }}"],
    )
}}

with

{% if is_incremental() %}
changed_customers as (

    select * from {{ changed_customers() }} as changed

),

{% endif %}
person_records as (

    select * from {{ ref('int_person_records') }}
    where customer_id is not null
    {%- if is_incremental() %}
        and customer_id in (select customer_id from changed_customers)
    {%- endif %}

),

named_records as (

    select customer_id, source, source_record_id, record_date, first_name, last_name
    from {{ ref('int_person_records') }}
    where customer_id is not null and last_name is not null
    {%- if is_incremental() %}
        and customer_id in (select customer_id from changed_customers)
    {%- endif %}

),

birth_date_records as (

    select customer_id, source, source_record_id, record_date, birth_date
    from {{ ref('int_person_records') }}
    where customer_id is not null and birth_date is not null
    {%- if is_incremental() %}
        and customer_id in (select customer_id from changed_customers)
    {%- endif %}

),

-- one pass over each customer's records, newest first: the most recent value of each
-- field group (and the record it came from)
latest_values as (

    select
        customer_id,
        min(record_date) as first_seen_date,
        max(record_date) as last_seen_date,
        count(*) as source_record_count,
        {%- for field, condition in [
            ('company_name', 'company_name is not null'),
            ('email', 'is_email_usable'),
            ('phone_number', 'is_phone_usable'),
            ('street', 'street is not null'),
            ('city', 'street is not null'),
            ('region', 'street is not null'),
            ('postal_code', 'street is not null'),
        ] %}
        (array_agg({{ field }} order by record_date desc, source, source_record_id desc)
            filter (where {{ condition }}))[1] as {{ field }},
        {%- endfor %}
        {%- for group, condition in [
            ('company_name', 'company_name is not null'),
            ('email', 'is_email_usable'),
            ('phone', 'is_phone_usable'),
            ('address', 'street is not null'),
        ] %}
        (array_agg(source order by record_date desc, source, source_record_id desc)
            filter (where {{ condition }}))[1] as {{ group }}_source,
        (array_agg(source_record_id order by record_date desc, source, source_record_id desc)
            filter (where {{ condition }}))[1] as {{ group }}_source_record_id{{ ',' if not loop.last }}
        {%- endfor %}

    from person_records
    group by customer_id

),

-- one row per (customer, spelling of the name, case folded), shown as typed: preferably
-- not in capitals, else the latest. A repair order's customer_name is free text whose split
-- into first and last name is a guess, so a spelling also typed in first/last name fields
-- (sales, registrations, leads) wins over one seen on repair orders only.
name_spellings as (

    select
        customer_id,
        lower(first_name) is not null as has_first_name,
        count(*) filter (where source <> 'service_orders') > 0 as is_in_a_name_field,
        count(*) as spelling_count,
        max(record_date) as spelling_last_seen_date,
        {%- for field in ['first_name', 'last_name', 'source', 'source_record_id'] %}
        (array_agg({{ field }} order by
            coalesce(first_name, '') || last_name = upper(coalesce(first_name, '') || last_name),
            record_date desc,
            source,
            source_record_id desc
        ))[1] as {{ field }}{{ ',' if not loop.last }}
        {%- endfor %}

    from named_records
    group by customer_id, lower(first_name), lower(last_name)

),

names as (

    select distinct on (customer_id)
        customer_id,
        first_name,
        last_name,
        source as name_source,
        source_record_id as name_source_record_id

    from name_spellings
    order by
        customer_id,
        has_first_name desc,
        is_in_a_name_field desc,
        spelling_count desc,
        spelling_last_seen_date desc,
        source_record_id desc

),

birth_date_votes as (

    select
        customer_id,
        birth_date,
        count(*) as vote_count,
        max(record_date) as last_seen_date,
        (array_agg(source order by record_date desc, source_record_id desc))[1] as source,
        (array_agg(source_record_id order by record_date desc, source_record_id desc))[1] as source_record_id

    from birth_date_records
    group by customer_id, birth_date

),

birth_dates as (

    select distinct on (customer_id)
        customer_id,
        birth_date,
        source as birth_date_source,
        source_record_id as birth_date_source_record_id

    from birth_date_votes
    order by customer_id, vote_count desc, last_seen_date desc, birth_date desc

),

final as (

    select
        latest_values.customer_id,
        names.first_name,
        names.last_name,
        latest_values.company_name,
        latest_values.email,
        '+1' || latest_values.phone_number as phone,
        latest_values.street,
        latest_values.city,
        latest_values.region,
        latest_values.postal_code,
        birth_dates.birth_date,
        latest_values.company_name is not null as is_business,
        latest_values.first_seen_date,
        latest_values.last_seen_date,
        latest_values.source_record_count,
        names.name_source,
        names.name_source_record_id,
        latest_values.company_name_source,
        latest_values.company_name_source_record_id,
        latest_values.email_source,
        latest_values.email_source_record_id,
        latest_values.phone_source,
        latest_values.phone_source_record_id,
        latest_values.address_source,
        latest_values.address_source_record_id,
        birth_dates.birth_date_source,
        birth_dates.birth_date_source_record_id

    from latest_values
    left join names on latest_values.customer_id = names.customer_id
    left join birth_dates on latest_values.customer_id = birth_dates.customer_id

)

select * from final
