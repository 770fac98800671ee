{#- The rows of customer_events that this build rebuilds: those of a changed record or VIN
    (int_changed_events). Deleted from the kept table before the model inserts them again,
    in the same transaction (pre-hooks run inside it), so a row that no longer exists (a
    record no longer resolved, a forgotten person's old ID) goes too. -#}
{% macro is_changed_event(event_id='event_id', vin='vin') -%}
    (
        {{ event_id }} in (select key from {{ ref('int_changed_events') }} where kind = 'event')
        or {{ vin }} in (select key from {{ ref('int_changed_events') }} where kind = 'vin')
    )
{%- endmacro %}

{% macro delete_changed_events() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ is_changed_event() }}
    {%- endif -%}
{%- endmacro %}

{#- The person records an incremental build of a record-grain model rebuilds: those
    int_changed_events names (source, source_record_id). -#}
{% macro changed_records() -%}
    (
        select
            split_part(key, ':', 1) as source,
            substr(key, strpos(key, ':') + 1) as source_record_id
        from {{ ref('int_changed_events') }}
        where kind = 'event'
    )
{%- endmacro %}

{% macro delete_changed_records() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where (source, source_record_id) in {{ changed_records() }}
    {%- endif -%}
{%- endmacro %}

{#- The customers an incremental build of a customer-grain model rebuilds: the customer of
    each changed record now, and the one it belonged to before it moved or went (noted by
    the map's trigger); a customer left with no record is deleted and not built again.
    `vins_of` names a model of records with a customer and a VIN whose rows read their
    VIN's description (a repair order's brand): their customers on a changed VIN too. -#}
{% macro changed_customers(vins_of=none) -%}
    (
        select customer_id from {{ ref('int_person_records') }}
        where (source, source_record_id) in {{ changed_records() }} and customer_id is not null
        union
        select customer_id from {{ source('builds', 'model_changed_records') }}
        where customer_id is not null
        {%- if vins_of %}
        union
        select customer_id from {{ ref(vins_of) }}
        where vin in {{ changed_vins() }}
            and customer_id is not null
        {%- endif %}
    )
{%- endmacro %}

{% macro delete_changed_customers(vins_of=none) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where customer_id in {{ changed_customers(vins_of) }}
    {%- endif -%}
{%- endmacro %}

{#- In an incremental build of a record-grain model, the filter that keeps a source's
    changed records only (nothing in a full build). Put on each source's own rows, so the
    database reads, cleans and joins the few changed records, not every record first. An
    array, not `in (select …)`: through a staging view PostgreSQL 18 planned the semi-join
    as a scan of every raw row (1.4 s for 4,365 repair orders at 30k people, even with
    sequential scans disabled), and looks an array's values up in the primary key (55 ms).
    With `vin` (a record-grain model that reads its VIN's facts, such as a repair order's
    model), the rows of the changed VINs too: no index has the VIN, so every row is read
    anyway, and both tests are `in (select …)`, which PostgreSQL hashes; an array compared
    with each row is searched value by value (int_service_orders took 28.8 s at 30k). -#}
{% macro where_changed(source, connective='where', vin=none) -%}
    {%- if is_incremental() and vin -%}
        {{ connective }} (
            source_record_id in (
                select changed.source_record_id from {{ changed_records() }} as changed
                where changed.source = '{{ source }}'
            )
            or {{ vin }} in {{ changed_vins() }}
        )
    {%- elif is_incremental() -%}
        {{ connective }} source_record_id = any(array(
            select changed.source_record_id from {{ changed_records() }} as changed
            where changed.source = '{{ source }}'
        ))
    {%- endif -%}
{%- endmacro %}

{#- The VINs whose vehicle facts an incremental build rebuilds: those of a changed sale or
    registration, before and after (int_changed_events). What a VIN's sales and
    registrations say (its model, its owners and their customers) reads nothing else that
    can change between two builds. `serviced=true` adds the VINs of changed repair orders,
    for the models that also read when a VIN was serviced. -#}
{% macro changed_vins(serviced=false) -%}
    (
        select key from {{ ref('int_changed_events') }}
        where kind = 'vin'{% if serviced %} or kind = 'serviced_vin'{% endif %}
    )
{%- endmacro %}

{% macro delete_changed_vins(serviced=false) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where vin in {{ changed_vins(serviced) }}
    {%- endif -%}
{%- endmacro %}

{#- A record-grain model that also reads its VIN's facts (a repair order's model): the rows
    of the source's changed records and of the changed VINs. -#}
{% macro delete_changed_records_or_vins(source) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where source_record_id in (
            select changed.source_record_id from {{ changed_records() }} as changed
            where changed.source = '{{ source }}'
        )
            or vin in {{ changed_vins() }}
    {%- endif -%}
{%- endmacro %}
