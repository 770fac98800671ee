{#- A model's custom schema is used as-is (staging, intermediate, marts, reference), not
    prefixed with the target schema as dbt does by default: the schemas are a contract. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
