{#- Hooks for the tables staging and intermediate rebuild on every run: fresh planner
    statistics at once (the next models read them within seconds), and no autovacuum, which
    would otherwise re-read every new table while the build runs (nothing ever updates or
    deletes rows in them). Nothing for views. -#}
{% macro analyze_table() -%}
    {%- if config.get('materialized') == 'table' -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{% macro disable_autovacuum() -%}
    {%- if config.get('materialized') == 'table' -%}
        alter table {{ this }} set (autovacuum_enabled = false)
    {%- endif -%}
{%- endmacro %}
