{#- The rows of an incremental customer-grain model that this build rebuilds: those of a
    changed customer, VIN or record (int_changed_events). Deleted from the kept table before
    the model inserts them again, in the same transaction (pre-hooks run inside it), so a
    row that no longer exists (a record moved to another customer, a forgotten person's old
    ID) goes too. -#}
{% macro is_changed_event(customer_id='customer_id', vin='vin', event_id='event_id') -%}
    (
        {{ customer_id }} in (select key from {{ ref('int_changed_events') }} where kind = 'customer')
        or {{ vin }} in (select key from {{ ref('int_changed_events') }} where kind = 'vin')
        or {{ event_id }} in (select key from {{ ref('int_changed_events') }} where kind = 'event')
    )
{%- endmacro %}

{% macro delete_changed_events() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ is_changed_event() }}
    {%- endif -%}
{%- endmacro %}
