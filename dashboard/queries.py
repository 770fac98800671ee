"""Every SQL statement the dashboard runs, in one place. Pages call these functions only.

Results are cached for a short time: the data changes when the pipeline runs, not per click.
Every query runs as the connection's role, so row-level security decides what it returns;
filters such as a dealer are SQL parameters, never a Python filter over someone else's rows.
Pages read `marts.*`; the identity pages also read `resolve.*`, the resolver's own record of
why records are one person; dealer names come from `marts.dealers`.

`audience_query` and `export_audience` live in `dealer360.exports`, shared with the CLI's
`dealer360 export audience`, so a campaign list is the same whether it is downloaded from the
dashboard or exported.
"""

from __future__ import annotations

import pandas as pd

from dashboard.connection import actor as _actor
from dashboard.connection import as_viewer, cached, engine, read, read_row
from dealer360 import exports, merge_fixes

# Shared with `dealer360 export audience` (one query, one place), re-exported for the pages.
from dealer360.exports import AUDIENCE_COLUMNS as AUDIENCE_COLUMNS
from dealer360.exports import WORKLIST_REASONS as WORKLIST_REASONS
from dealer360.exports import AudienceExport as AudienceExport
from dealer360.exports import audience_csv as audience_csv
from dealer360.exports import audience_query as audience_query
from dealer360.exports import export_audience as export_audience
from dealer360.exports import leads_csv as leads_csv
from dealer360.exports import worklist_csv as worklist_csv
from entity_resolution.settings import PERSON_IDENTIFIERS

TTL = 60
SEARCH_LIMIT = 20
LIST_LIMIT = 5000

# ---------------------------------------------------------------------------------------------
# Reference


@cached(ttl=TTL)
def marts_ready() -> bool:
    """Whether the pipeline has built the marts yet (a fresh database has only raw.*)."""
    return bool(
        read("select to_regclass('marts.customer_events') is not null as ready")["ready"][0]
    )


@cached(ttl=TTL)
def dealers() -> pd.DataFrame:
    """Rooftops with their names and makes, for labels and pickers."""
    return read(
        """
        select dealer_code, dealer_name, brands, city, region
        from marts.dealers
        order by dealer_name, dealer_code
        """
    )


def dealer_names() -> dict[str, str]:
    table = dealers()
    return dict(zip(table["dealer_code"], table["dealer_name"], strict=True))


# ---------------------------------------------------------------------------------------------
# Find a customer

# What each kind of search matches, as (customer_id, match_score, matched_on). Names are
# compared lower-cased and unaccented with trigrams: `<%` keeps the names holding a run of
# words similar to what was typed (typos, missing accents, first and last swapped, a last
# name alone). A name holding every typed word whole is an exact match (score 1, "exact
# name"), ranked above every fuzzy one; a fuzzy match scores the whole-name and best-run
# similarity averaged, below 1. `<%` alone is five times faster than also testing `%`, and
# finds as well (benchmarks/dashboard_speed.py).
_SEARCH_MATCHES = {
    "name": r"""
        select customer_id,
               case when exact then 1.0
                    else least((similarity(search_name, typed)
                                + word_similarity(typed, search_name)) / 2, 0.99)
               end as match_score,
               case when exact then 'exact name' else 'name' end as matched_on
        from (
            select customer_id, search_name, typed,
                   regexp_split_to_array(typed, '\s+')
                       <@ regexp_split_to_array(search_name, '\s+') as exact
            from marts.customers
            cross join (select lower(unaccent(trim(:value))) as typed) as query
            where lower(unaccent(:value)) <% search_name
        ) as named
    """,
    "phone": """
        select customer_id, 1.0 as match_score, 'phone' as matched_on
        from marts.customers
        where phone = '+1' || :value
    """,
    "phone_ending": """
        select customer_id, 0.9 as match_score, 'phone' as matched_on
        from marts.customers
        where phone like '%' || :value
    """,
    "email": """
        select customer_id, 1.0 as match_score, 'e-mail' as matched_on
        from marts.customers
        where lower(email) = :value
    """,
    # Owners of a valid VIN, current owner first. A VIN that fails validation has no
    # ownership period; finding it would need marts.customer_events indexed on vin.
    "vin": """
        select customer_id,
               case when owned_to is null then 1.0 else 0.9 end as match_score,
               case when owned_to is null then 'owns this vehicle' else 'owned this vehicle' end
                   as matched_on
        from marts.vehicle_ownership
        where vin = :value
    """,
    "customer_id": """
        select customer_id, 1.0 as match_score, 'customer ID' as matched_on
        from marts.customers
        where customer_id = :value
    """,
}

_SEARCH = """
    with found as ({matches}),
    matches as (
        select customer_id, max(match_score) as match_score,
               (array_agg(matched_on order by match_score desc))[1] as matched_on
        from found
        group by customer_id
        order by max(match_score) desc
        limit :limit
    )
    select
        c.customer_id, c.first_name, c.last_name, c.company_name, c.city, c.region,
        c.phone, c.email, c.first_seen_date, c.last_seen_date, c.home_dealer_code,
        d.dealer_name as home_dealer_name, c.vehicles_currently_owned_count,
        c.marketing_consent, vehicles.vehicles, matches.match_score, matches.matched_on
    from matches
    inner join marts.customers as c on c.customer_id = matches.customer_id
    left join marts.dealers as d on d.dealer_code = c.home_dealer_code
    left join lateral (
        select string_agg(
                   concat_ws(' ', o.model_year, o.make, o.model), ', ' order by o.owned_from desc
               ) as vehicles
        from marts.vehicle_ownership as o
        where o.customer_id = c.customer_id and o.owned_to is null
    ) as vehicles on true
    order by matches.match_score desc, c.last_seen_date desc, c.customer_id
"""


@cached(ttl=TTL)
def search_customers(kind: str, value: str, limit: int = SEARCH_LIMIT) -> pd.DataFrame:
    """Customers matching a parsed search (`dashboard.lookup.parse`), best first, with the
    facts that tell people of the same name apart."""
    sql = _SEARCH.format(matches=_SEARCH_MATCHES[kind])
    return read(sql, value=value, limit=limit)


# ---------------------------------------------------------------------------------------------
# Customer profile: one query per panel


@cached(ttl=TTL)
def customer(customer_id: str) -> dict | None:
    """The golden record, its home dealer and, when they may be contacted, the source of the
    strongest consent (express, else the implied consent that lasts longest)."""
    return read_row(
        """
        select c.*, d.dealer_name as home_dealer_name,
               a.consent_source, a.consent_source_record_id
        from marts.customers as c
        left join marts.dealers as d on d.dealer_code = c.home_dealer_code
        left join lateral (
            select p.consent_source, p.source_record_id as consent_source_record_id
            from marts.contact_permissions as p
            where p.customer_id = c.customer_id
            order by p.consent_expires_on desc nulls first, p.source_record_id
            limit 1
        ) as a on true
        where c.customer_id = :customer_id
        """,
        customer_id=customer_id,
    )


@cached(ttl=TTL)
def customer_successor(customer_id: str) -> dict | None:
    """Where a retired customer ID went (merged into another), following the whole chain."""
    return read_row(
        """
        with recursive chain as (
            select new_customer_id, reason, changed_at, 1 as depth
            from resolve.customer_id_history
            where old_customer_id = :customer_id
            union all
            select h.new_customer_id, h.reason, h.changed_at, chain.depth + 1
            from resolve.customer_id_history as h
            inner join chain on h.old_customer_id = chain.new_customer_id
            where chain.depth < 20
        )
        select chain.new_customer_id, chain.reason, chain.changed_at
        from chain
        inner join marts.customers as c on c.customer_id = chain.new_customer_id
        order by chain.depth desc, chain.changed_at desc
        limit 1
        """,
        customer_id=customer_id,
    )


@cached(ttl=TTL)
def household(customer_id: str) -> pd.DataFrame:
    """The other customers of the customer's household."""
    return read(
        """
        select h.customer_id, h.first_name, h.last_name, h.company_name, h.city,
               h.last_seen_date, h.vehicles_currently_owned_count
        from marts.customers as c
        inner join marts.customers as h
            on h.household_id = c.household_id and h.customer_id <> c.customer_id
        where c.customer_id = :customer_id
        order by h.last_name, h.first_name
        """,
        customer_id=customer_id,
    )


@cached(ttl=TTL)
def events(customer_id: str) -> pd.DataFrame:
    """Every event of the customer's journey, oldest first."""
    return read(
        """
        select e.event_date, e.event_type, e.dealer_code, d.dealer_name, e.brand,
               e.vin, e.model, e.model_year, e.amount, e.pay_type, e.mileage, e.source,
               e.source_record_id, e.description, e.ownership_id
        from marts.customer_events as e
        left join marts.dealers as d on d.dealer_code = e.dealer_code
        where e.customer_id = :customer_id
        order by e.event_date, e.source, e.source_record_id
        """,
        customer_id=customer_id,
    )


@cached(ttl=TTL)
def garage(customer_id: str) -> pd.DataFrame:
    """The customer's vehicles, now and before, one row per ownership period, with the
    owner's service visits in it."""
    return read(
        """
        select ownership_id, vin, make, model, model_year, owned_from, owned_to, acquired_as,
               ended_by, manufacturer_group, service_visit_count, last_service_date,
               service_billed_amount
        from marts.vehicle_ownership
        where customer_id = :customer_id
        order by owned_to is not null, owned_from desc
        """,
        customer_id=customer_id,
    )


@cached(ttl=TTL)
def value_by_dealer_brand(customer_id: str) -> pd.DataFrame:
    """Lifetime value split by rooftop and make."""
    return read(
        """
        select v.dealer_code, d.dealer_name, v.brand, v.sales_amount, v.service_amount,
               v.warranty_amount, v.purchase_count, v.service_visit_count,
               v.first_transaction_date, v.last_transaction_date
        from marts.customer_value_by_dealer_brand as v
        left join marts.dealers as d on d.dealer_code = v.dealer_code
        where v.customer_id = :customer_id
        order by v.sales_amount + v.service_amount desc
        """,
        customer_id=customer_id,
    )


@cached(ttl=TTL)
def opportunities(customer_id: str) -> dict[str, pd.DataFrame]:
    """In-market drivers per dealer, brand-ladder targets and lapsed service, in one round trip."""
    row = read_row(
        """
        select
            (select coalesce(jsonb_agg(jsonb_build_object(
                        'dealer_code', m.dealer_code, 'dealer_name', d.dealer_name,
                        'score', m.score, 'drivers', m.drivers,
                        'next_best_action', m.next_best_action
                    ) order by m.score desc), '[]'::jsonb)
             from marts.in_market as m
             left join marts.dealers as d on d.dealer_code = m.dealer_code
             where m.customer_id = :customer_id) as in_market,
            (select coalesce(jsonb_agg(jsonb_build_object(
                        'current_brand', b.current_brand, 'target_brand', b.target_brand,
                        'manufacturer_group', b.manufacturer_group, 'score', b.score,
                        'reasons', b.reasons, 'dealer_code', b.dealer_code,
                        'dealer_name', d.dealer_name
                    ) order by b.score desc), '[]'::jsonb)
             from marts.brand_ladder_opportunities as b
             left join marts.dealers as d on d.dealer_code = b.dealer_code
             where b.customer_id = :customer_id) as brand_ladder,
            (select coalesce(jsonb_agg(jsonb_build_object(
                        'vin', s.vin, 'make', s.make, 'model', s.model,
                        'model_year', s.model_year, 'last_service_date', s.last_service_date,
                        'reasons', s.reasons
                    ) order by s.last_service_date), '[]'::jsonb)
             from marts.service_defection as s
             where s.customer_id = :customer_id) as service_defection
        """,
        customer_id=customer_id,
    )
    return {name: pd.DataFrame(value) for name, value in row.items()}


@cached(ttl=TTL)
def identity(customer_id: str) -> dict[str, pd.DataFrame]:
    """Why these records are one person: the records (as matched) and the links between them.

    `records` has one row per landed person record of the customer, with the values the
    resolver compared and what the record is (date, rooftop, description); `links` has the
    strongest links that connect them all, with the evidence of each comparison.
    """
    row = read_row(
        """
        select
            (select coalesce(jsonb_agg(jsonb_build_object(
                        'source', m.source, 'source_record_id', m.source_record_id,
                        'match_probability', m.match_probability,
                        'record_date', e.event_date, 'dealer_name', d.dealer_name,
                        'description', e.description,
                        'first_name', s.first_name, 'last_name', s.last_name,
                        'company', s.company, 'birth_date', s.birth_date,
                        'email', s.email, 'phone', s.phone, 'street', s.street,
                        'city', s.city, 'postal_code', s.postal_code, 'vin', s.vin
                    ) order by e.event_date, m.source, m.source_record_id), '[]'::jsonb)
             from resolve.customer_source_map as m
             left join resolve.standardized_records as s
                 on s.source = m.source and s.source_record_id = m.source_record_id
             left join marts.customer_events as e
                 on e.customer_id = m.customer_id
                 and e.source = m.source
                 and e.source_record_id = m.source_record_id
             left join marts.dealers as d on d.dealer_code = e.dealer_code
             where m.customer_id = :customer_id) as records,
            (select coalesce(jsonb_agg(jsonb_build_object(
                        'source_a', x.source_a, 'source_record_id_a', x.source_record_id_a,
                        'source_b', x.source_b, 'source_record_id_b', x.source_record_id_b,
                        'match_probability', x.match_probability,
                        'match_weight', x.match_weight, 'evidence', x.evidence
                    ) order by x.match_weight desc), '[]'::jsonb)
             from resolve.match_evidence as x
             where x.customer_id = :customer_id) as links
        """,
        customer_id=customer_id,
    )
    return {name: pd.DataFrame(value) for name, value in row.items()}


# ---------------------------------------------------------------------------------------------
# Opportunities and the campaign audience


@cached(ttl=TTL)
def in_market_dealers() -> pd.DataFrame:
    """Rooftops with in-market customers, busiest first (the dealers this role may see)."""
    return read(
        """
        select m.dealer_code, d.dealer_name, count(*) as customers
        from marts.in_market as m
        left join marts.dealers as d on d.dealer_code = m.dealer_code
        group by m.dealer_code, d.dealer_name
        order by count(*) desc, m.dealer_code
        """
    )


@cached(ttl=TTL)
def dealer_brands(dealer_code: str) -> list[str]:
    """The makes a rooftop's customers bought or serviced there."""
    rows = read(
        """
        select brand
        from marts.customer_value_by_dealer_brand
        where dealer_code = :dealer_code and brand <> 'Unknown'
        group by brand
        order by count(*) desc, brand
        """,
        dealer_code=dealer_code,
    )
    return rows["brand"].tolist()


@cached(ttl=TTL)
def dealer_drivers(dealer_code: str) -> pd.DataFrame:
    """The in-market drivers present at a rooftop, with how many customers each concerns."""
    return read(
        """
        select driver_code, count(*) as customers
        from marts.in_market, jsonb_array_elements_text(driver_codes) as driver_code
        where dealer_code = :dealer_code
        group by driver_code
        order by count(*) desc
        """,
        dealer_code=dealer_code,
    )


@cached(ttl=TTL)
def in_market(
    dealer_code: str,
    min_score: int = 0,
    brand: str | None = None,
    driver_codes: tuple[str, ...] = (),
    contactable_only: bool = False,
    limit: int = LIST_LIMIT,
) -> pd.DataFrame:
    """In-market customers of a rooftop, best first, with their drivers and whether they may be
    contacted; `total` and `total_contactable` count every match, not only the rows returned."""
    clauses = ["m.dealer_code = :dealer_code", "m.score >= :min_score"]
    if brand:
        clauses.append(exports.IN_MARKET_FOR_BRAND)
    if driver_codes:
        clauses.append("m.driver_codes ?| cast(:driver_codes as text[])")
    if contactable_only:
        clauses.append("a.customer_id is not null")
    # contactable: the rooftop's sender may write to them (marts.contact_permissions)
    return read(
        f"""
        select m.customer_id, c.first_name, c.last_name, c.company_name, c.city,
               c.marketing_consent, a.customer_id is not null as is_contactable,
               m.score, m.drivers, m.next_best_action, m.driver_codes, c.last_seen_date,
               count(*) over () as total,
               count(a.customer_id) over () as total_contactable
        from marts.in_market as m
        inner join marts.customers as c on c.customer_id = m.customer_id
        left join lateral (
            select p.customer_id from marts.contact_permissions as p
            where p.customer_id = m.customer_id and p.sender = {exports.DEALER_SENDER}
            limit 1
        ) as a on true
        where {" and ".join(clauses)}
        order by m.score desc, c.last_seen_date desc, m.customer_id
        limit :limit
        """,
        dealer_code=dealer_code,
        min_score=min_score,
        brand=brand,
        driver_codes=list(driver_codes),
        limit=limit,
    )


@cached(ttl=TTL)
def audience(
    dealer_code: str | None = None,
    brand: str | None = None,
    min_score: int | None = None,
    driver_codes: tuple[str, ...] = (),
    channel: str = "email",
) -> pd.DataFrame:
    sql, params = audience_query(
        dealer_code, brand, channel=channel, min_score=min_score, driver_codes=driver_codes
    )
    return read(sql, **params)


def record_audience_download(
    filters: dict, customer_ids: list[str], sha256: str, actor: str | None = None
) -> None:
    """A campaign list downloaded from the dashboard: its audit row and its members (all
    targets: the dashboard holds out no controls; `dealer360 export audience
    --control-share` does), in one transaction. Written as the dashboard itself, naming the
    signed-in person: their role only reads."""
    with engine().begin() as conn:
        export_id = exports.record_audit(
            conn, "export_audience", filters, len(customer_ids), sha256, actor or _actor()
        )
        exports.record_members(conn, export_id, customer_ids)


def record_audit(
    action: str, filters: dict, row_count: int, sha256: str, actor: str | None = None
) -> None:
    """Write one audit row in its own transaction, naming the signed-in person (without
    sign-in, the database role)."""
    with engine().begin() as conn:
        exports.record_audit(conn, action, filters, row_count, sha256, actor or _actor())


@cached(ttl=5)
def recent_exports(limit: int = 10) -> pd.DataFrame:
    return read(
        """
        select at, actor, action, filters, row_count, sha256
        from raw.audit_log
        where action like 'export%'
        order by at desc
        limit :limit
        """,
        limit=limit,
    )


# ---------------------------------------------------------------------------------------------
# Leads: marts.lead_source_performance for the funnel and the providers, and the worklists of
# marts.lead_outcomes through `dealer360.exports.leads_query` (the same rows as
# `dealer360 export leads --outcome known_paid|lost_in_group`).


@cached(ttl=TTL)
def lead_dealers() -> pd.DataFrame:
    """Rooftops that received leads, with how many, for the page's picker."""
    return read(
        """
        select p.dealer_code, coalesce(d.dealer_name, p.dealer_code) as dealer_name,
               sum(p.leads) as leads
        from marts.lead_source_performance as p
        left join marts.dealers as d on d.dealer_code = p.dealer_code
        group by p.dealer_code, d.dealer_name
        order by dealer_name, p.dealer_code
        """
    )


@cached(ttl=TTL)
def lead_funnel(dealer_code: str) -> pd.DataFrame:
    """Per lead source at a rooftop: leads, leads sold by the group, sold here, sold
    elsewhere (a make registered by the OEM that no rooftop sold)."""
    return read(
        """
        select lead_source, sum(leads) as leads, sum(sold) as sold,
               sum(sold_here) as sold_here, sum(sold_elsewhere) as sold_elsewhere
        from marts.lead_source_performance
        where dealer_code = :dealer_code
        group by lead_source
        order by sum(leads) desc, lead_source
        """,
        dealer_code=dealer_code,
    )


@cached(ttl=TTL)
def lead_providers(dealer_code: str) -> pd.DataFrame:
    """Per (lead source, provider) at a rooftop, over every month: what the leads cost, what
    they sold, and how many paid leads were for people the group already had. The known
    paid leads are recovered from each month's share (4 decimals of at most a few thousand
    leads: exact once rounded)."""
    return read(
        """
        select lead_source, provider, sum(leads) as leads, sum(sold) as sold,
               sum(sold)::numeric / nullif(sum(leads), 0) as close_rate,
               sum(sales_amount) as sales_amount, sum(cost_amount) as cost_amount,
               sum(cost_amount) / nullif(sum(sold), 0) as cost_per_sale,
               sum(paid_leads) as paid_leads,
               round(sum(coalesce(known_customer_share, 0) * paid_leads))
                   / nullif(sum(paid_leads), 0) as known_customer_share
        from marts.lead_source_performance
        where dealer_code = :dealer_code
        group by lead_source, provider
        order by sum(cost_amount) desc, sum(leads) desc, lead_source, provider
        """,
        dealer_code=dealer_code,
    )


@cached(ttl=TTL)
def lead_worklist(dealer_code: str, worklist: str) -> pd.DataFrame:
    """One of `dealer360.exports.LEAD_WORKLISTS` at a rooftop, every row (it is downloaded
    whole)."""
    sql, params = exports.leads_query(dealer_code, worklist)
    return read(sql, **params)


# ---------------------------------------------------------------------------------------------
# Service lane: marts.service_worklist through `dealer360.exports.worklist_query` (the download
# is the same rows as `dealer360 export worklist --dealer CODE --reason R`).


@cached(ttl=TTL)
def worklist_dealers() -> pd.DataFrame:
    """Rooftops with a service worklist, with how many rows, for the page's picker."""
    return read(
        """
        select w.dealer_code, coalesce(d.dealer_name, w.dealer_code) as dealer_name,
               count(*) as rows
        from marts.service_worklist as w
        left join marts.dealers as d on d.dealer_code = w.dealer_code
        group by w.dealer_code, d.dealer_name
        order by dealer_name, w.dealer_code
        """
    )


@cached(ttl=TTL)
def worklist_reasons(dealer_code: str) -> pd.DataFrame:
    """Per reason at a rooftop: rows, rows the rooftop may contact, rows already overdue."""
    return read(
        """
        select reason, count(*) as rows, count(*) filter (where is_contactable) as contactable,
               count(*) filter (where due_date < as_of_date) as overdue
        from marts.service_worklist
        where dealer_code = :dealer_code
        group by reason
        """,
        dealer_code=dealer_code,
    )


@cached(ttl=TTL)
def service_worklist(dealer_code: str, reason: str, contactable_only: bool) -> pd.DataFrame:
    """One reason of a rooftop's worklist, every row; with `contactable_only`, exactly what
    `dealer360 export worklist` writes."""
    sql, params = exports.worklist_query(dealer_code, reason, contactable_only=contactable_only)
    return read(sql, **params)


# ---------------------------------------------------------------------------------------------
# Brand ladder


@cached(ttl=TTL)
def ladder_groups() -> pd.DataFrame:
    """Manufacturer groups with repeat purchases or upsell candidates, largest first."""
    return read(
        """
        with moves as (
            select from_manufacturer_group as manufacturer_group, count(*) as moves
            from marts.brand_ladder_moves
            where from_manufacturer_group is not null
            group by from_manufacturer_group
        ),
        candidates as (
            select manufacturer_group, count(*) as candidates
            from marts.brand_ladder_opportunities
            group by manufacturer_group
        )
        select manufacturer_group, coalesce(moves.moves, 0) as moves,
               coalesce(candidates.candidates, 0) as candidates
        from moves full join candidates using (manufacturer_group)
        order by coalesce(candidates.candidates, 0) desc, coalesce(moves.moves, 0) desc
        """
    )


@cached(ttl=TTL)
def ladder_flows(manufacturer_group: str) -> pd.DataFrame:
    """Purchases that followed a purchase of the group's makes: from which make to which.

    A next purchase outside the group is counted as one destination, so the flows show who
    the group keeps as well as who climbs.
    """
    return read(
        """
        select from_brand,
               case when to_manufacturer_group = :manufacturer_group then to_brand
                    else 'Another group' end as to_brand,
               min(from_tier) as from_tier,
               min(case when to_manufacturer_group = :manufacturer_group then to_tier end)
                   as to_tier,
               count(*) as moves
        from marts.brand_ladder_moves
        where from_manufacturer_group = :manufacturer_group
        group by 1, 2
        order by moves desc
        """,
        manufacturer_group=manufacturer_group,
    )


@cached(ttl=TTL)
def ladder_conversion(manufacturer_group: str) -> pd.DataFrame:
    """Per ladder step (the mart's is_from_ladder_step) and year of the next purchase: how
    many next purchases there were and how many climbed (the mart's move_type)."""
    return read(
        """
        select from_brand,
               extract(year from to_date)::integer as year,
               count(*) as moves,
               count(*) filter (where move_type = 'climb') as climbs
        from marts.brand_ladder_moves
        where from_manufacturer_group = :manufacturer_group and is_from_ladder_step
        group by from_brand, year
        order by from_brand, year
        """,
        manufacturer_group=manufacturer_group,
    )


@cached(ttl=TTL)
def ladder_targets(manufacturer_group: str) -> pd.DataFrame:
    return read(
        """
        select target_brand, count(*) as candidates, round(avg(score)) as average_score
        from marts.brand_ladder_opportunities
        where manufacturer_group = :manufacturer_group
        group by target_brand
        order by count(*) desc
        """,
        manufacturer_group=manufacturer_group,
    )


@cached(ttl=TTL)
def ladder_upsell(target_brand: str, limit: int = 500) -> pd.DataFrame:
    """Customers to offer `target_brand`, best score first."""
    return read(
        """
        select b.customer_id, c.first_name, c.last_name, c.company_name, c.city,
               b.current_brand, b.score, b.reasons, b.dealer_code, d.dealer_name,
               b.last_purchase_date, b.last_price_amount,
               exists (
                   select 1 from marts.contact_permissions as p
                   where p.customer_id = b.customer_id and p.sender = d.sender
               ) as is_contactable
        from marts.brand_ladder_opportunities as b
        inner join marts.customers as c on c.customer_id = b.customer_id
        left join marts.dealers as d on d.dealer_code = b.dealer_code
        where b.target_brand = :target_brand
        order by b.score desc, b.last_purchase_date desc, b.customer_id
        limit :limit
        """,
        target_brand=target_brand,
        limit=limit,
    )


# ---------------------------------------------------------------------------------------------
# Identity review

_DECIDED = """
    exists (
        select 1 from resolve.review_decisions as d
        where (d.source_a, d.source_record_id_a, d.source_b, d.source_record_id_b)
                = (q.source_a, q.source_record_id_a, q.source_b, q.source_record_id_b)
           or (d.source_a, d.source_record_id_a, d.source_b, d.source_record_id_b)
                = (q.source_b, q.source_record_id_b, q.source_a, q.source_record_id_a)
    )
"""

_RECORD_SIDE = """
    jsonb_build_object(
        'source', q.source_{side}, 'source_record_id', q.source_record_id_{side},
        'customer_id', q.customer_id_{side},
        'customer_name', concat_ws(' ', c{side}.first_name, c{side}.last_name),
        'customer_records', c{side}.source_record_count,
        'record_date', e{side}.event_date, 'description', e{side}.description,
        'dealer_name', d{side}.dealer_name,
        'first_name', r{side}.first_name, 'last_name', r{side}.last_name,
        'suffix', r{side}.suffix, 'company', r{side}.company,
        'birth_date', r{side}.birth_date, 'email', r{side}.email, 'phone', r{side}.phone,
        'street', r{side}.street, 'city', r{side}.city, 'postal_code', r{side}.postal_code,
        'vin', r{side}.vin
    )
"""

_RECORD_JOINS = """
    left join resolve.standardized_records as r{side}
        on r{side}.source = q.source_{side} and r{side}.source_record_id = q.source_record_id_{side}
    left join marts.customer_events as e{side}
        on e{side}.customer_id = q.customer_id_{side}
        and e{side}.source = q.source_{side}
        and e{side}.source_record_id = q.source_record_id_{side}
    left join marts.dealers as d{side} on d{side}.dealer_code = e{side}.dealer_code
    left join marts.customers as c{side} on c{side}.customer_id = q.customer_id_{side}
"""


# The identity fields "why not" sets side by side, as the matcher compared them.
WHY_NOT_FIELDS = (*PERSON_IDENTIFIERS, "vin")
_WHY_NOT_VALUES = ",\n".join(
    f"array_remove(array_agg(distinct s.{field}::text), null) as {field}"
    for field in WHY_NOT_FIELDS
)


@cached(ttl=TTL)
def why_apart(customer_a: str, customer_b: str) -> dict:
    """What keeps two customers apart: each identity field's values on each side (as
    matched), the closest pairs of their records the matcher weighed and left uncertain
    (resolve.review_queue, with its evidence), and reviewers' verdicts between them."""
    return {
        "sides": read(
            f"""
            select m.customer_id, count(*) as records, {_WHY_NOT_VALUES}
            from resolve.customer_source_map as m
            left join resolve.standardized_records as s
                on s.source = m.source and s.source_record_id = m.source_record_id
            where m.customer_id in (:a, :b)
            group by m.customer_id
            """,
            a=customer_a,
            b=customer_b,
        ),
        "pairs": read(
            """
            select source_a, source_record_id_a, source_b, source_record_id_b,
                   match_probability, match_weight, evidence
            from resolve.review_queue
            where (customer_id_a, customer_id_b) in ((:a, :b), (:b, :a))
            order by match_probability desc, source_a, source_record_id_a
            limit 5
            """,
            a=customer_a,
            b=customer_b,
        ),
        "decisions": read(
            """
            select d.decision, d.decided_by, d.decided_at, d.source_a, d.source_record_id_a,
                   d.source_b, d.source_record_id_b
            from resolve.review_decisions as d
            inner join resolve.customer_source_map as ma
                on ma.source = d.source_a and ma.source_record_id = d.source_record_id_a
            inner join resolve.customer_source_map as mb
                on mb.source = d.source_b and mb.source_record_id = d.source_record_id_b
            where (ma.customer_id, mb.customer_id) in ((:a, :b), (:b, :a))
            order by d.decided_at desc
            """,
            a=customer_a,
            b=customer_b,
        ),
    }


@cached(ttl=TTL)
def review_summary() -> dict:
    return read_row(
        f"""
        select
            (select count(*) from resolve.review_queue as q where not {_DECIDED}) as pending,
            (select count(*) from resolve.review_decisions where decision = 'must_link')
                as linked,
            (select count(*) from resolve.review_decisions where decision = 'cannot_link')
                as kept_apart
        """
    )


@cached(ttl=TTL)
def review_pairs(limit: int = 50) -> pd.DataFrame:
    """Pairs waiting for a person, those whose verdict would teach the matcher most first
    (`review_priority`, entity_resolution/learning.py), each side with what it is."""
    return read(
        f"""
        with pending as materialized (
            select *
            from resolve.review_queue as q
            where not {_DECIDED}
            order by q.review_priority desc nulls last, abs(q.match_probability - 0.5),
                     q.source_a, q.source_record_id_a, q.source_b, q.source_record_id_b
            limit :limit
        )
        select q.source_a, q.source_record_id_a, q.source_b, q.source_record_id_b,
               q.match_probability, q.match_weight, q.evidence, q.queued_at,
               q.learnt_probability,
               {_RECORD_SIDE.format(side="a")} as record_a,
               {_RECORD_SIDE.format(side="b")} as record_b
        from pending as q
        {_RECORD_JOINS.format(side="a")}
        {_RECORD_JOINS.format(side="b")}
        order by q.review_priority desc nulls last, abs(q.match_probability - 0.5),
                 q.source_a, q.source_record_id_a, q.source_b, q.source_record_id_b
        """,
        limit=limit,
    )


def record_review_decision(
    source_a: str,
    source_record_id_a: str,
    source_b: str,
    source_record_id_b: str,
    decision: str,
    decided_by: str | None = None,
    note: str | None = None,
) -> None:
    """Settle a pair: `must_link` (same person) or `cannot_link` (different people).

    The next resolve run honours it; deciding a pair again replaces the earlier verdict.
    Signed in, the verdict is the person's (whatever name was typed); either way it is
    written to the audit log in the same transaction, a merge or a split being a change to
    who a customer is.
    """
    pair = {
        "source_a": source_a,
        "source_record_id_a": source_record_id_a,
        "source_b": source_b,
        "source_record_id_b": source_record_id_b,
    }
    decided_by = _actor() or decided_by or None
    with as_viewer(read_only=False) as conn:
        merge_fixes.write_decisions(
            conn,
            [((source_a, source_record_id_a), (source_b, source_record_id_b))],
            decision,
            decided_by,
            note or None,
        )
        exports.record_audit(
            conn, "review_decision", pair | {"decision": decision}, None, None, decided_by
        )
    review_summary.clear()
    review_pairs.clear()
    recent_decisions.clear()


@cached(ttl=TTL)
def recent_decisions(limit: int = 20) -> pd.DataFrame:
    return read(
        """
        select source_a, source_record_id_a, source_b, source_record_id_b, decision,
               decided_by, decided_at, note
        from resolve.review_decisions
        order by decided_at desc
        limit :limit
        """,
        limit=limit,
    )


# ---------------------------------------------------------------------------------------------
# Data health


@cached(ttl=TTL)
def files_by_source() -> pd.DataFrame:
    return read(
        """
        select source,
               count(*) filter (where status = 'loaded') as files_loaded,
               count(*) filter (where status = 'unchanged') as files_unchanged,
               count(*) filter (where status = 'rejected') as files_rejected,
               coalesce(sum(rows_loaded), 0) as rows_loaded,
               coalesce(sum(rows_quarantined), 0) as rows_quarantined,
               max(loaded_at) as last_loaded_at
        from raw.files
        group by source
        order by source
        """
    )


@cached(ttl=TTL)
def rows_per_source() -> pd.DataFrame:
    return read(
        """
        select 'dealers' as source, count(*) as rows from raw.dealers
        union all select 'dealer_sales', count(*) from raw.dealer_sales
        union all select 'service_orders', count(*) from raw.service_orders
        union all select 'oem_registrations', count(*) from raw.oem_registrations
        union all select 'crm_leads', count(*) from raw.crm_leads
        """
    )


@cached(ttl=TTL)
def quarantine_reasons(limit: int = 50) -> pd.DataFrame:
    return read(
        """
        select source, reason, count(*) as rows, min(file_name) as example_file
        from raw.quarantine
        group by source, reason
        order by rows desc
        limit :limit
        """,
        limit=limit,
    )


@cached(ttl=TTL)
def rejected_files() -> pd.DataFrame:
    return read(
        """
        select file_name, source, message, loaded_at
        from raw.files
        where status = 'rejected'
        order by loaded_at desc
        """
    )


@cached(ttl=TTL)
def pipeline_runs(limit: int = 10) -> pd.DataFrame:
    return read(
        """
        select run_id, started_at, finished_at, status, summary
        from raw.pipeline_runs
        order by started_at desc
        limit :limit
        """,
        limit=limit,
    )


@cached(ttl=TTL)
def cluster_sizes() -> pd.DataFrame:
    """How many customers gather 1, 2, 3 … landed person records (resolve.customer_source_map,
    counted per customer by the mart: 50 times faster than counting 5M records again)."""
    return read(
        """
        select source_record_count as records, count(*) as customers
        from marts.customers
        group by source_record_count
        order by source_record_count
        """
    )


@cached(ttl=TTL)
def last_identity_run() -> dict | None:
    return read_row(
        """
        select run_id, started_at, finished_at, records, customers, records_kept_id,
               records_before, summary
        from resolve.runs
        order by run_id desc
        limit 1
        """
    )


# ---------------------------------------------------------------------------------------------
# Campaigns: who may send to a customer (marts.contact_permissions) and what each audited
# audience export achieved (marts.campaign_results).


@cached(ttl=TTL)
def dealer_sender(dealer_code: str) -> str:
    """Who sends the rooftop's messages (its legal entity, else itself: marts.dealers)."""
    sender = read_row(
        "select sender from marts.dealers where dealer_code = :dealer_code",
        dealer_code=dealer_code,
    )
    return sender["sender"] if sender else dealer_code


@cached(ttl=TTL)
def consent_by_sender(customer_id: str) -> pd.DataFrame:
    """Each sender that may contact the customer, on which channels, on what ground."""
    return read(
        """
        select sender, string_agg(channel, ', ' order by channel) as channels, consent_basis,
               consent_source, source_record_id, consent_expires_on, granted_to
        from marts.contact_permissions
        where customer_id = :customer_id
        group by sender, consent_basis, consent_source, source_record_id, consent_expires_on,
                 granted_to
        order by sender
        """,
        customer_id=customer_id,
    )


@cached(ttl=TTL)
def campaign_results(limit: int = 200) -> pd.DataFrame:
    """Audited audience exports, latest first, with their targets, controls and lift."""
    return read(
        """
        select export_id, exported_at, sender, channel, targets, controls,
               target_responders, control_responders, target_response_rate,
               control_response_rate, lift, lift_low, lift_high, response_window_ends_on
        from marts.campaign_results
        order by exported_at desc, export_id desc
        limit :limit
        """,
        limit=limit,
    )
