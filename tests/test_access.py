"""Who may read what: PostgreSQL row-level security for dealer and OEM login roles.

One small dealer group, landed, resolved and modelled once for the module, then read through
the roles `dealer360 grant` creates (over TCP, with the password in the printed URL):
- D01 (Toyota) sold Alice two cars and Bruno one; D02 (Honda) serviced Bruno's car (Bruno is
  the shared customer) and sold Chloé a Civic and took her lead (Chloé is D02's alone).
- Denis is known only from a Honda registration: no rooftop served him.
- Toyota registered Alice's Corolla, Honda Chloé's Civic and Denis's Accord.
- A rooftop whose code is an SQL injection attempt sold Élise a car.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool
from test_models import make_vin, model_inbox, run_dbt
from typer.testing import CliRunner

from dealer360 import access, db
from dealer360.cli import app
from dealer360.errors import UserError

HOSTILE = 'x"; drop table raw.dealers; --'
COROLLA, CAMRY, RAV4 = make_vin("2T1BURHE", 11), make_vin("4T1B11HK", 12), make_vin("2T3W1RFV", 13)
CIVIC, ACCORD, GOLF = make_vin("2HGFC2F5", 21), make_vin("1HGCV1F3", 22), make_vin("3VW5T7AU", 31)

INBOX = {
    "dealers": f"""\
dealer_code,dealer_name,brands,city,region,phone
D01,Toyota Rive-Sud,Toyota,Longueuil,QC,(450) 555-0100
D02,Honda Centre-Ville,Honda,Montréal,QC,514-555-0200
"{HOSTILE.replace('"', '""')}",Garage Bobby Tables,Volkswagen,Laval,QC,450-555-0300
""",
    "dealer_sales": f"""\
dealer_code,deal_id,deal_date,first_name,last_name,email,phone,street,city,region,postal_code,birth_date,vin,make,model,model_year,condition,sale_price,trade_in_vin
D01,A1,2019-03-10,Alice,Martin,alice.martin@videotron.ca,514-555-1001,12 rue des Érables,Longueuil,QC,J4K 1A1,1980-02-14,{COROLLA},Toyota,Corolla,2019,new,24500.00,
D01,A2,2023-05-01,Alice,Martin,alice.martin@videotron.ca,514-555-1001,12 rue des Érables,Longueuil,QC,J4K 1A1,1980-02-14,{CAMRY},Toyota,Camry,2023,new,36000.00,{COROLLA}
D01,B1,2020-04-01,Bruno,Lefebvre,bruno.lefebvre@gmail.com,438-555-2002,45 boulevard Taschereau,Greenfield Park,QC,J4V 2H1,1991-07-30,{RAV4},Toyota,RAV4,2020,new,28000.00,
D02,C1,2022-02-01,Chloé,Roy,chloe.roy@outlook.com,514-555-4004,300 avenue du Parc,Montréal,QC,H2V 4E6,1988-03-21,{CIVIC},Honda,Civic,2022,new,29500.00,
"{HOSTILE.replace('"', '""')}",E1,2021-06-01,Élise,Pelletier,elise.pelletier@sympatico.ca,450-555-6006,9 rue Principale,Laval,QC,H7N 3K2,1969-05-17,{GOLF},Volkswagen,Golf,2021,new,31000.00,
""",
    "service_orders": f"""\
dealer_code,ro_number,open_date,customer_name,phone,email,vin,pay_type,total_amount,description
D02,R1,2024-01-10,"LEFEBVRE, BRUNO",438-555-2002,bruno.lefebvre@gmail.com,{RAV4},customer,189.95,Oil change
""",
    "oem_registrations": f"""\
brand,registration_id,vin,registration_date,event,owner_first_name,owner_last_name,street,city,region,postal_code,phone,email,consent_marketing
Toyota,TOY-1,{COROLLA},2019-03-15,new_owner,Alice,Martin,12 rue des Érables,Longueuil,QC,J4K 1A1,514-555-1001,alice.martin@videotron.ca,Y
Honda,HON-1,{CIVIC},2022-02-05,new_owner,Chloé,Roy,300 avenue du Parc,Montréal,QC,H2V 4E6,514-555-4004,chloe.roy@outlook.com,Y
Honda,HON-2,{ACCORD},2024-03-04,new_owner,Denis,Gagnon,77 rue Jarry,Montréal,QC,H2P 1S5,514-555-5005,denis.gagnon@gmail.com,N
""",
    "crm_leads": """\
dealer_code,lead_id,created_at,source,first_name,last_name,email,phone,interest_make,interest_model,status
D02,L1,2026-09-15T10:30:00-04:00,web,Chloé,Roy,chloe.roy@outlook.com,514-555-4004,Honda,CR-V,open
""",
}

PEOPLE = {
    "Alice": [
        ("dealer_sales", "D01:A1"),
        ("dealer_sales", "D01:A2"),
        ("oem_registrations", "TOY-1"),
    ],
    "Bruno": [("dealer_sales", "D01:B1"), ("service_orders", "D02:R1")],
    "Chloé": [("dealer_sales", "D02:C1"), ("crm_leads", "D02:L1"), ("oem_registrations", "HON-1")],
    "Denis": [("oem_registrations", "HON-2")],
    "Élise": [("dealer_sales", f"{HOSTILE}:E1")],
}

runner = CliRunner()


class Group:
    """The modelled scenario, its customers by first name, and the granted roles' URLs."""

    def __init__(self, url: URL, engine: Engine, work: Path):
        self.url, self.engine, self.work = url, engine, work
        # Customers by person, from their records: a test asserts who is visible, not how
        # identity resolution numbered them.
        with engine.connect() as conn:
            self.customers = {
                person: set(
                    conn.scalars(
                        sa.text(
                            "select customer_id from resolve.customer_source_map"
                            " where (source, source_record_id) in"
                            " (select * from unnest(cast(:s as text[]), cast(:r as text[])))"
                        ),
                        {"s": [s for s, _ in records], "r": [r for _, r in records]},
                    )
                )
                for person, records in PEOPLE.items()
            }
        self.urls: dict[str, str] = {}

    def ids(self, *names: str) -> set[str]:
        return set().union(*(self.customers[n] for n in names))

    def one(self, name: str) -> str:
        return min(self.customers[name])


def as_role(url: str) -> Engine:
    """An engine that logs in afresh for every connection (no pooled session survives)."""
    return sa.create_engine(db.normalize_url(url), poolclass=NullPool)


def read(url: str, sql: str, **params) -> list[sa.Row]:
    engine = as_role(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))
    finally:
        engine.dispose()


def customers_seen(url: str, table: str = "marts.customers") -> set[str]:
    return {r.customer_id for r in read(url, f"select distinct customer_id from {table}")}


def refused(url: str, sql: str) -> bool:
    """True when the server refuses the statement for lack of privilege (not read-only mode)."""
    engine = as_role(url)
    try:
        with engine.connect() as conn:
            # Read-only by default is a convenience a role can switch off; the privileges are
            # the barrier, so switch it off to prove it.
            conn.execute(sa.text("set default_transaction_read_only = off"))
            conn.commit()
            conn.execute(sa.text(sql))
    except sa.exc.ProgrammingError as exc:
        assert exc.orig.sqlstate == "42501", exc  # insufficient_privilege
        return True
    finally:
        engine.dispose()
    return False


@pytest.fixture(scope="module")
def group(template_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Group]:
    name = f"a_{uuid.uuid4().hex[:12]}"
    url = db.create_database(template_url, name, template=template_url.database)
    work = tmp_path_factory.mktemp("access")
    engine = model_inbox(url, work, INBOX)
    scenario = Group(url, engine, work)
    for code in ("D01", "D02"):
        scenario.urls[code] = access.grant_dealer(engine, code).url
    for brand in ("Toyota", "Honda"):
        scenario.urls[brand] = access.grant_oem(engine, brand).url
    yield scenario
    with engine.connect() as conn:
        roles = list(conn.scalars(sa.text("select role_name from access.roles")))
    for role in roles:
        access.revoke(engine, role)
    engine.dispose()
    db.drop_database(template_url, name)


def test_dealer_a_cannot_read_dealer_b_customers(group: Group) -> None:
    assert customers_seen(group.urls["D01"]) == group.ids("Alice", "Bruno")
    assert customers_seen(group.urls["D02"]) == group.ids("Bruno", "Chloé")
    one_of_d02 = group.one("Chloé")
    rows = read(
        group.urls["D01"], "select * from marts.customers where customer_id = :c", c=one_of_d02
    )
    assert rows == []


def test_a_customer_known_only_to_an_oem_is_no_dealers_customer(group: Group) -> None:
    for code in ("D01", "D02"):
        assert not group.ids("Denis") & customers_seen(group.urls[code])


def test_every_mart_shows_a_dealer_only_its_own_customers(group: Group) -> None:
    with group.engine.connect() as conn:
        tables = list(
            conn.scalars(
                sa.text(
                    "select table_schema || '.' || table_name from information_schema.columns"
                    " where table_schema in ('marts', 'access') and column_name = 'customer_id'"
                )
            )
        )
    assert "marts.customer_events" in tables and "access.customer_dealers" in tables
    for table in tables:
        assert customers_seen(group.urls["D01"], table) <= group.ids("Alice", "Bruno"), table


def test_a_shared_customer_shows_each_dealer_only_its_own_events(group: Group) -> None:
    bruno = group.one("Bruno")
    for code in ("D01", "D02"):
        events = read(
            group.urls[code],
            "select dealer_code, source_record_id from marts.customer_events"
            " where customer_id = :c",
            c=bruno,
        )
        assert events and {e.dealer_code for e in events} == {code}
    registrations = read(
        group.urls["D01"],
        "select 1 from marts.customer_events where event_type = 'registration'",
    )
    assert registrations == []  # no rooftop's row while the group does not share


def test_a_dealer_reads_only_its_own_rows_in_raw(group: Group) -> None:
    for table in ("raw.dealer_sales", "raw.service_orders", "raw.crm_leads"):
        codes = {r.dealer_code for r in read(group.urls["D02"], f"select dealer_code from {table}")}
        assert codes == {"D02"}, table
    assert refused(group.urls["D02"], "select * from raw.oem_registrations")  # the OEMs' data
    rooftops = {r.dealer_code for r in read(group.urls["D02"], "select * from raw.dealers")}
    assert rooftops == {"D01", "D02", HOSTILE}  # the rooftop list holds no personal data


def test_with_group_sharing_on_rooftops_see_each_others_customers(group: Group) -> None:
    access.set_group_sharing(group.engine, True)
    try:
        assert customers_seen(group.urls["D01"]) == group.ids("Alice", "Bruno", "Chloé", "Élise")
        events = read(
            group.urls["D01"],
            "select dealer_code, event_type from marts.customer_events where customer_id = :c",
            c=group.one("Chloé"),
        )
        assert {(e.dealer_code, e.event_type) for e in events} == {
            ("D02", "sale"),
            ("D02", "lead"),
            (None, "registration"),
        }
        raw_codes = {
            r.dealer_code for r in read(group.urls["D01"], "select * from raw.dealer_sales")
        }
        assert raw_codes == {"D01", "D02", HOSTILE}
    finally:
        access.set_group_sharing(group.engine, False)
    assert customers_seen(group.urls["D01"]) == group.ids("Alice", "Bruno")
    assert not access.group_sharing(group.engine)


def test_group_sharing_is_one_cli_setting(group: Group, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", group.url.render_as_string(hide_password=False))
    try:
        assert runner.invoke(app, ["grant", "sharing", "on"]).exit_code == 0
        assert group.one("Chloé") in customers_seen(group.urls["D01"])
    finally:
        assert runner.invoke(app, ["grant", "sharing", "off"]).exit_code == 0
    assert group.one("Chloé") not in customers_seen(group.urls["D01"])
    wrong = runner.invoke(app, ["grant", "sharing", "maybe"])
    assert wrong.exit_code == 1 and "maybe" in wrong.output and "Traceback" not in wrong.output


@pytest.mark.parametrize(
    "statement",
    [
        "insert into raw.dealer_sales (source_record_id, dealer_code, deal_id, deal_date, vin,"
        " is_vin_valid, file_name, row_number, row_hash) values ('D01:Z', 'D01', 'Z',"
        " '2020-01-01', 'V', true, 'f', 2, 'h')",
        "update marts.customers set email = 'x@example.com'",
        "delete from raw.crm_leads",
        "truncate marts.customer_events",
        "create table marts.mine (x int)",
        "create table public.mine (x int)",
        "create temporary table mine (x int)",
        "update access.settings set is_group_sharing = true",
        "insert into access.roles (role_name, kind, dealer_code) values (current_user, 'dealer', 'D02')",
    ],
    ids=[
        "insert",
        "update",
        "delete",
        "truncate",
        "create",
        "create-public",
        "temp",
        "share",
        "remap",
    ],
)
def test_a_dealer_role_cannot_write(group: Group, statement: str) -> None:
    assert refused(group.urls["D01"], statement)


def test_a_dealer_role_cannot_set_role_to_the_pipeline(group: Group) -> None:
    pipeline = group.url.username
    assert refused(group.urls["D01"], f'set role "{pipeline}"')
    assert refused(group.urls["D01"], "set role postgres")
    assert refused(group.urls["D01"], f'set session authorization "{pipeline}"')
    memberships = read(
        group.urls["D01"],
        "select 1 from pg_auth_members m join pg_roles r on r.oid = m.member"
        " where r.rolname = current_user",
    )
    assert memberships == []


@pytest.mark.parametrize(
    "table",
    [
        "staging.stg_raw__dealer_sales",
        "intermediate.int_person_records",
        "reference.brands",
        "resolve.customer_source_map",
        "resolve.standardized_records",
        "raw.quarantine",
        "raw.files",
        "access.roles",
    ],
)
def test_a_dealer_role_cannot_read_what_policies_do_not_guard(group: Group, table: str) -> None:
    assert refused(group.urls["D01"], f"select * from {table} limit 1")


def test_an_oem_role_sees_only_its_brands_registrations(group: Group) -> None:
    honda = read(group.urls["Honda"], "select registration_id from raw.oem_registrations")
    assert {r.registration_id for r in honda} == {"HON-1", "HON-2"}
    toyota = read(group.urls["Toyota"], "select registration_id from raw.oem_registrations")
    assert {r.registration_id for r in toyota} == {"TOY-1"}
    assert refused(group.urls["Honda"], "select * from raw.dealer_sales")


def test_an_oem_role_sees_its_brands_aggregates_and_no_personal_data(group: Group) -> None:
    value = read(group.urls["Honda"], "select dealer_code, brand from marts.dealer_brand_value")
    assert {(r.dealer_code, r.brand) for r in value} == {("D02", "Honda")}
    flows = read(group.urls["Toyota"], "select from_brand, to_brand from marts.brand_ladder_flows")
    assert {(r.from_brand, r.to_brand) for r in flows} == {("Toyota", "Toyota")}
    assert read(group.urls["Honda"], "select * from marts.brand_ladder_flows") == []
    with group.engine.connect() as conn:
        personal = list(
            conn.scalars(
                sa.text(
                    "select distinct table_schema || '.' || table_name"
                    " from information_schema.columns where table_schema in ('marts', 'access')"
                    " and column_name = 'customer_id'"
                )
            )
        )
    for table in personal:
        assert read(group.urls["Honda"], f"select * from {table}") == [], table


def test_a_rebuilt_mart_keeps_its_policy(group: Group) -> None:
    # customer_dealers, which every mart's policy reads, is rebuilt too: the policies of the
    # marts left alone must survive the old copy being dropped.
    run_dbt(
        group.url, group.work, "run", "--select", "customer_dealers", "customers", "customer_events"
    )
    with group.engine.connect() as conn:
        secured = {
            r.relname: (r.relrowsecurity, r.policies)
            for r in conn.execute(
                sa.text(
                    "select relname, relrowsecurity,"
                    " (select count(*) from pg_policy where polrelid = c.oid) as policies"
                    " from pg_class c where relnamespace = 'marts'::regnamespace and relkind = 'r'"
                )
            )
        }
    assert secured and set(secured.values()) == {(True, 2)}, secured
    assert customers_seen(group.urls["D01"]) == group.ids("Alice", "Bruno")
    assert customers_seen(group.urls["D01"], "marts.customer_events") == group.ids("Alice", "Bruno")


def test_a_table_no_policy_protects_is_never_granted(group: Group) -> None:
    with group.engine.begin() as conn:
        conn.execute(sa.text("create table marts.scratch as select * from marts.customers"))
    try:
        group.urls["D01"] = access.grant_dealer(group.engine, "D01").url
        assert refused(group.urls["D01"], "select * from marts.scratch")
    finally:
        with group.engine.begin() as conn:
            conn.execute(sa.text("drop table marts.scratch"))


def test_granting_again_gives_a_new_password_and_the_same_privileges(group: Group) -> None:
    old = group.urls["D02"]
    group.urls["D02"] = new = access.grant_dealer(group.engine, "d02").url  # any case
    assert new != old
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        read(old, "select 1")
    assert customers_seen(new) == group.ids("Bruno", "Chloé")
    assert refused(new, "delete from raw.crm_leads")


def test_a_role_password_is_hashed_as_the_server_asks(group: Group) -> None:
    # libpq computes the SCRAM verifier with the server's own scram_iterations; a verifier
    # written by hand would keep its fixed count whatever the server's policy says.
    engine = sa.create_engine(
        group.url, poolclass=NullPool, connect_args={"options": "-c scram_iterations=5000"}
    )
    try:
        granted = access.grant_oem(engine, "Toyota")
    finally:
        engine.dispose()
    group.urls["Toyota"] = granted.url
    with group.engine.connect() as conn:
        stored = conn.scalar(
            sa.text("select rolpassword from pg_authid where rolname = :r"), {"r": granted.role}
        )
    assert stored.startswith("SCRAM-SHA-256$5000:")
    assert read(granted.url, "select 1 as one")[0].one == 1


def test_the_printed_url_works_with_psql(group: Group, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", group.url.render_as_string(hide_password=False))
    result = runner.invoke(app, ["grant", "dealer", "D01"])
    assert result.exit_code == 0, result.output
    url = next(line for line in result.output.splitlines() if line.startswith("postgresql://"))
    group.urls["D01"] = url
    psql = db._bin("psql")
    out = subprocess.run(
        [str(psql), url, "-Atc", "select count(*) from marts.customers"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(len(group.ids("Alice", "Bruno")))


def test_an_unknown_dealer_code_names_the_known_ones(
    group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", group.url.render_as_string(hide_password=False))
    result = runner.invoke(app, ["grant", "dealer", "D99"])
    assert result.exit_code == 1
    assert "D99" in result.output and "D01, D02" in result.output
    assert "Traceback" not in result.output


def test_a_hostile_dealer_code_is_only_a_name(group: Group) -> None:
    granted = access.grant_dealer(group.engine, HOSTILE)
    assert granted.role == f"{group.url.database}_dealer_x_drop_table_raw_dealers"
    assert customers_seen(granted.url) == group.ids("Élise")
    with group.engine.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from raw.dealers")) == 3
    with pytest.raises(UserError, match="Unknown dealer code"):
        access.grant_dealer(group.engine, 'D01"; drop table raw.dealers; --')


def test_a_role_granted_in_one_database_reads_nothing_in_another(
    group: Group, database_url: URL
) -> None:
    other = database_url.set(username=db.normalize_url(group.urls["D01"]).username)
    other = other.set(password=db.normalize_url(group.urls["D01"]).password)
    assert refused(other.render_as_string(hide_password=False), "select * from raw.dealer_sales")


def test_a_database_user_who_cannot_create_roles_gets_one_sentence(
    group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = f"{group.url.database}_limited"
    with group.engine.begin() as conn:
        conn.execute(sa.text(f"create role {user} login password 'limited-pw'"))
    try:
        limited = group.url.set(username=user, password="limited-pw")
        monkeypatch.setenv("DATABASE_URL", limited.render_as_string(hide_password=False))
        result = runner.invoke(app, ["grant", "dealer", "D01"])
        assert result.exit_code == 1
        assert "CREATEROLE" in result.output and "Traceback" not in result.output
    finally:
        db.get_engine(limited).dispose()
        with group.engine.begin() as conn:
            conn.execute(sa.text(f"drop role {user}"))


def test_role_names_are_safe_and_bounded() -> None:
    assert access.role_name("dealer360", "dealer", "TOY-LAV") == "dealer360_dealer_toy_lav"
    long = access.role_name("d" * 40, "dealer", "X" * 40)
    assert len(long) == 63 and long != access.role_name("d" * 40, "dealer", "X" * 39 + "Y")


def test_revoke_drops_a_granted_role_and_its_url_stops_working(
    group: Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    granted = access.grant_oem(group.engine, "Volkswagen")
    assert read(granted.url, "select 1")
    monkeypatch.setenv("DATABASE_URL", group.url.render_as_string(hide_password=False))
    result = runner.invoke(app, ["revoke", granted.role])
    assert result.exit_code == 0, result.output
    with pytest.raises(sa.exc.OperationalError):
        read(granted.url, "select 1")
    with group.engine.connect() as conn:
        assert not conn.scalar(
            sa.text("select count(*) from pg_roles where rolname = :r"), {"r": granted.role}
        )
        assert not conn.scalar(
            sa.text("select count(*) from access.roles where role_name = :r"), {"r": granted.role}
        )
    again = runner.invoke(app, ["revoke", granted.role])
    assert again.exit_code == 1 and "No role named" in again.output
    assert "Traceback" not in again.output


def test_a_dealer_sees_only_its_own_rooftops_leads_and_their_performance(group: Group) -> None:
    for code in ("D01", "D02"):
        for table in ("marts.lead_outcomes", "marts.lead_source_performance"):
            seen = {
                r.dealer_code for r in read(group.urls[code], f"select dealer_code from {table}")
            }
            assert seen <= {code}, (code, table)
    chloe = read(group.urls["D02"], "select customer_id from marts.lead_outcomes")
    assert {r.customer_id for r in chloe} == group.ids("Chloé")
    assert read(group.urls["Honda"], "select 1 from marts.lead_source_performance") == []


# People: `dealer360 grant user`, and a signed-in person's queries as their role.


def as_person(group: Group, email: str, sql: str) -> list[sa.Row]:
    """A query as the dashboard runs it for a signed-in person: on the pipeline's connection,
    in a transaction that becomes the person's role."""
    with group.engine.begin() as conn:
        person = access.person(conn, email)
        assert person is not None, f"{email} is unknown"
        access.become(conn, person)
        return list(conn.execute(sa.text(sql)))


def test_a_person_granted_a_dealer_sees_only_that_dealers_customers(group: Group) -> None:
    person = access.grant_user(
        group.engine, " Ann.Marketer@D01.example ", dealer="d01", granted_by="test"
    )
    assert (person.email, person.kind, person.dealer_code) == (
        "ann.marketer@d01.example",
        "dealer",
        "D01",
    )
    seen = as_person(group, "ann.marketer@d01.example", "select customer_id from marts.customers")
    assert {r.customer_id for r in seen} == group.ids("Alice", "Bruno")
    # The same role as the dealer's own login: one role per rooftop, its URL still works.
    assert person.role == access.role_name(group.url.database, "dealer", "D01")
    assert customers_seen(group.urls["D01"]) == group.ids("Alice", "Bruno")


def test_a_person_granted_a_brand_sees_no_personal_data(group: Group) -> None:
    access.grant_user(group.engine, "olivier@honda.example", brand="honda", granted_by="test")
    assert as_person(group, "olivier@honda.example", "select * from marts.customers") == []
    registrations = as_person(
        group, "olivier@honda.example", "select registration_id from raw.oem_registrations"
    )
    assert {r.registration_id for r in registrations} == {"HON-1", "HON-2"}


def test_a_persons_transaction_cannot_write_and_ends_as_the_pipeline(group: Group) -> None:
    access.grant_user(group.engine, "ann.marketer@d01.example", dealer="D01", granted_by="test")
    with pytest.raises(sa.exc.InternalError, match="read-only transaction"):
        as_person(group, "ann.marketer@d01.example", "delete from raw.audit_log")
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        as_person(group, "ann.marketer@d01.example", "select * from access.users")
    # A failed query rolls its transaction back, and with it the role: the pooled
    # connection is the pipeline's again for whoever asks next.
    with group.engine.connect() as conn:
        assert conn.scalar(sa.text("select current_user")) == group.url.username
        assert len(conn.execute(sa.text("select * from marts.customers")).all()) > 2


def test_an_unknown_or_revoked_person_is_no_one(group: Group) -> None:
    access.grant_user(group.engine, "temp@d02.example", dealer="D02", granted_by="test")
    result = runner.invoke(app, ["revoke", "user", "temp@d02.example"], env=pipeline_env(group))
    assert result.exit_code == 0, result.output
    with group.engine.connect() as conn:
        assert access.person(conn, "temp@d02.example") is None
        assert access.person(conn, "nobody@example.com") is None
        assert access.person(conn, None) is None
    again = runner.invoke(app, ["revoke", "user", "temp@d02.example"], env=pipeline_env(group))
    assert again.exit_code == 1 and "No person 'temp@d02.example'" in again.output


def test_revoking_a_role_leaves_its_people_with_nothing(group: Group) -> None:
    access.grant_user(group.engine, "vw@volkswagen.example", brand="Volkswagen", granted_by="t")
    with group.engine.connect() as conn:
        role = access.person(conn, "vw@volkswagen.example").role
    access.revoke(group.engine, role)
    with group.engine.connect() as conn:
        assert access.person(conn, "vw@volkswagen.example") is None


def test_a_group_person_is_whom_others_ask(group: Group) -> None:
    person = access.grant_user(group.engine, "Chef@Group.example", group=True, granted_by="t")
    assert (person.kind, person.role) == ("group", None)
    with group.engine.connect() as conn:
        assert "chef@group.example" in access.administrators(conn)


def pipeline_env(group: Group) -> dict[str, str]:
    return {"DATABASE_URL": group.url.render_as_string(hide_password=False)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ann@d01.example"], "Give exactly one of --dealer CODE, --oem BRAND or --group."),
        (["ann@d01.example", "--dealer", "D01", "--group"], "Give exactly one of"),
        (["not an e-mail", "--dealer", "D01"], "'not an e-mail' is not an e-mail address."),
        (["ann@d01.example", "--dealer", "D99"], "Unknown dealer code 'D99'"),
    ],
)
def test_grant_user_mistakes_are_one_sentence(group: Group, args: list[str], message: str):
    result = runner.invoke(app, ["grant", "user", *args], env=pipeline_env(group))
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output


def test_grant_user_says_what_the_person_will_see(group: Group) -> None:
    result = runner.invoke(
        app, ["grant", "user", "bea@d02.example", "--dealer", "D02"], env=pipeline_env(group)
    )
    assert result.exit_code == 0, result.output
    assert "bea@d02.example sees the customers of dealer D02 once signed in" in result.output
