{#- Cleaning expressions shared by the staging models, so every source is cleaned alike. -#}

{#- A North-American phone number as its 10 digits, whatever the format it was typed in
    ((514) 555-0199, 514.555.0199, +1 514 555 0199, 15145550199); null when it is not one. -#}
{% macro clean_phone(column) -%}
    substring(regexp_replace({{ column }}, '\D', '', 'g') from '^1?([2-9][0-9]{2}[2-9][0-9]{6})$')
{%- endmacro %}

{#- A Canadian postal code as `A1A 1A1`; anything else upper-cased, blanks removed. -#}
{% macro clean_postal_code(column) -%}
    regexp_replace(
        upper(regexp_replace({{ column }}, '\s', '', 'g')),
        '^([A-Z][0-9][A-Z])([0-9][A-Z][0-9])$',
        '\1 \2'
    )
{%- endmacro %}

{#- Free text with runs of blanks collapsed to one space. -#}
{% macro clean_text(column) -%}
    nullif(regexp_replace({{ column }}, '\s+', ' ', 'g'), '')
{%- endmacro %}

{#- An e-mail address lower-cased, blanks removed. -#}
{% macro clean_email(column) -%}
    nullif(lower(regexp_replace({{ column }}, '\s', '', 'g')), '')
{%- endmacro %}
