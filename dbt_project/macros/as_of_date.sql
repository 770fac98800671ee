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
