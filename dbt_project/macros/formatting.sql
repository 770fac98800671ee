{#- Formatting for the readable reasons and drivers the marts explain themselves with. -#}

{#- An amount in thousands of dollars: 41250 -> `$41k`. -#}
{% macro format_thousands(amount) -%}
    ('$' || round({{ amount }} / 1000.0)::bigint || 'k')
{%- endmacro %}

{#- An amount in whole dollars with thousands separators: 3240.5 -> `$3,241`. -#}
{% macro format_dollars(amount) -%}
    ('$' || to_char(round({{ amount }}), 'FM999,999,999,990'))
{%- endmacro %}

{#- A count with thousands separators: 152000 -> `152,000`. -#}
{% macro format_count(value) -%}
    to_char({{ value }}, 'FM999,999,999,990')
{%- endmacro %}

{#- Whole months between two dates, rounded (used in phrases like "in 3 months"). -#}
{% macro months_between(from_date, to_date) -%}
    round(({{ to_date }} - {{ from_date }}) / 30.44)::integer
{%- endmacro %}

{#- Years between two dates as a number with one decimal. -#}
{% macro years_between(from_date, to_date) -%}
    round((({{ to_date }} - {{ from_date }}) / 365.25)::numeric, 1)
{%- endmacro %}
