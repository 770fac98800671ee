{#- "Today" for every time-dependent rule: the `as_of_date` var, or current_date when it is
    unset or literally `current_date`, so that tests can pin it and production follows the clock. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', 'current_date') -%}
    {%- if value is none or (value | string | trim | lower) in ('', 'none', 'current_date') -%}
        current_date
    {%- else -%}
        date '{{ value | string | trim }}'
    {%- endif -%}
{%- endmacro %}

{#- Whether a landed row was known on as_of_date: its record date (the landing contract's
    record_date of its source) is not later. With no as_of_date var every row is known, so a
    nightly run keeps what the files say even when a date lies in the future; `dealer360 run
    --as-of DATE` hides what happened after DATE from every model. -#}
{% macro known_as_of(record_date) -%}
    {%- if as_of_date() | trim == 'current_date' -%}
        true
    {%- else -%}
        cast({{ record_date }} as date) <= {{ as_of_date() }}
    {%- endif -%}
{%- endmacro %}
