{#-
    Row-level security for the tables dbt rebuilds (every mart, and access.customer_dealers).

    dbt replaces a table on every run (build a new one, rename it into place), and a new table
    has neither policies nor grants. `protect()` runs as a post-hook inside the same
    transaction as the rename, so no one ever sees a rebuilt table without its policies: it
    enables row-level security, writes one read policy per kind of granted role, and only then
    grants SELECT to the roles listed in access.roles (dealer360/access.py). A table this hook
    did not protect is never granted (access.py grants only tables with row-level security on).
    An incremental model keeps its table between builds: its policies are dropped and written
    again in the transaction that inserts its changed rows.

    Who sees which rows is decided by the table's columns, so a new mart is covered without
    touching this file, and anything unforeseen fails closed:
    - a dealer role sees a row when its customer_id is one of the dealer's customers (a
      customer with at least one record at its rooftop, or at any of the group's rooftops when
      the group shares: access.customer_dealers, itself row-level secured, read through
      access.visible_customers() so no policy depends on a table dbt drops) and when its dealer
      column names the dealer's rooftop (any rooftop when the group shares; a row with no
      dealer, an OEM registration, only when the group shares); a table with neither column
      shows a dealer role nothing;
    - an OEM role sees aggregate tables (no customer_id) about its brand; nothing with a
      customer_id, so no personal data;
    - `open_tables` hold no personal data and are readable by every granted role.
-#}

{% macro dealer_scope(column) -%}
    ({{ column }} = (select dealer_code from access.current_grant)
        or (select sees_group from access.current_grant))
{%- endmacro %}

{% macro customer_scope(column) -%}
    {{ column }} in (select customer_id from access.visible_customers())
{%- endmacro %}

{% macro access_predicates(relation) -%}
    {#- Tables every granted role reads whole: the rooftop list and its counts. -#}
    {%- set open_tables = ['dealers'] -%}
    {#- The column that says at which rooftop a row happened, when it is not `dealer_code`. -#}
    {%- set dealer_columns = {'service_defection': 'last_service_dealer_code'} -%}
    {#- Columns naming a brand; an OEM role sees the rows where one of them is its brand. -#}
    {%- set brand_columns = ['brand', 'from_brand', 'to_brand'] -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- set name = relation.identifier -%}
    {%- set dealer_column = dealer_columns.get(name, 'dealer_code') -%}
    {%- if name in open_tables -%}
        {{ return({'dealer': 'true', 'oem': 'true'}) }}
    {%- endif -%}
    {%- set dealer = [] -%}
    {%- if 'customer_id' in columns and name != 'customer_dealers' -%}
        {%- do dealer.append(customer_scope('customer_id')) -%}
    {%- endif -%}
    {%- if dealer_column in columns -%}
        {%- do dealer.append(dealer_scope(dealer_column)) -%}
    {%- endif -%}
    {%- set oem = [] -%}
    {%- if 'customer_id' not in columns -%}
        {%- for column in brand_columns if column in columns -%}
            {%- do oem.append(column ~ ' = (select brand from access.current_grant)') -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({
        'dealer': (dealer | join('\n        and ')) if dealer else 'false',
        'oem': ('(' ~ (oem | join(' or ')) ~ ')') if oem else 'false',
    }) }}
{%- endmacro %}

{% macro protect() -%}
    {%- if execute -%}
    {%- set predicates = access_predicates(this) -%}
    alter table {{ this }} enable row level security;
    {#- an incremental model keeps its table, and with it the policies of its last build -#}
    drop policy if exists dealer_rows on {{ this }};
    drop policy if exists oem_rows on {{ this }};
    create policy dealer_rows on {{ this }} for select using (
        (select kind from access.current_grant) = 'dealer'
        and {{ predicates['dealer'] }}
    );
    create policy oem_rows on {{ this }} for select using (
        (select kind from access.current_grant) = 'oem'
        and {{ predicates['oem'] }}
    );
    do $grant$
    declare
        granted record;
    begin
        for granted in
            select roles.role_name
            from access.roles
            inner join pg_catalog.pg_roles on pg_roles.rolname = roles.role_name
        loop
            execute format('grant select on %s to %I', '{{ this }}', granted.role_name);
        end loop;
    end
    $grant$
    {%- endif -%}
{%- endmacro %}
