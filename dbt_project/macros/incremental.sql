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
