{#- Cleaning expressions shared by the staging models, so every source is cleaned alike. -#}

{#- A North-American phone number as its 10 digits, whatever the format it was typed in
    ((514) 555-0199, 514.555.0199, +1 514 555 0199, 15145550199), an extension after it
    (`poste 544`, `x12`) dropped; null when it does not start like one. -#}
{% macro clean_phone(column) -%}
    substring(regexp_replace({{ column }}, '\D', '', 'g') from '^1?([2-9][0-9]{2}[2-9][0-9]{6})')
{%- endmacro %}

{#- A Canadian postal code as `A1A 1A1` (six characters once blanks are removed), anything
    else upper-cased as typed. -#}
{% macro clean_postal_code(column) -%}
    case
        when length(replace({{ column }}, ' ', '')) = 6
            then upper(left(replace({{ column }}, ' ', ''), 3) || ' ' || right(replace({{ column }}, ' ', ''), 3))
        else upper({{ column }})
    end
{%- endmacro %}

{#- Free text with runs of blanks collapsed to one space (the loader already trimmed it; the
    regular expression only runs on the few values that need it). -#}
{% macro clean_text(column) -%}
    case
        when {{ column }} like '%  %' or {{ column }} like '%' || chr(9) || '%' or {{ column }} like '%' || chr(10) || '%'
            then nullif(regexp_replace({{ column }}, '\s+', ' ', 'g'), '')
        else nullif({{ column }}, '')
    end
{%- endmacro %}

{#- An e-mail address lower-cased, blanks removed. -#}
{% macro clean_email(column) -%}
    nullif(lower(regexp_replace({{ column }}, '\s', '', 'g')), '')
{%- endmacro %}
