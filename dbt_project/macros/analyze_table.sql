{#- Fresh planner statistics on a model built as a table, so the models that read it next
    get good plans at once instead of waiting for autovacuum; nothing for views. -#}
{% macro analyze_table() -%}
    {%- if config.get('materialized') == 'table' -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
