"""Hostile input and exposure.

SQL-injection strings, quotes, LIKE wildcards, control characters, RTL marks, zero-width
joiners, emoji, combining accents and very long values are data like any other: they land,
travel to the marts and come back from the dashboard's search literally, and no SQL in
dashboard/ or dealer360/ is built by pasting a value into its text. Nothing secret is in the
repository, and neither the dashboard nor the embedded PostgreSQL listens beyond localhost
unless told to."""

from __future__ import annotations

import ast
import csv
import io
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
import streamlit as st
from dashboard_apptest import open_page
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_
from sqlalchemy.engine import URL, Engine

from dashboard import lookup, queries
from dealer360 import db
from ingest.contract import BLANKS
from ingest.loader import load_file

ROOT = Path(__file__).resolve().parents[1]

DROP_FILES = "'; drop table raw.files; --"
BOBBY = "Robert'); DROP TABLE marts.customers;--"
LONG = "Wolfeschlegelsteinhausenbergerdorff" * 100  # 3,500 characters
# One person per row: (first name, last name, street, service description). No runs of
# blanks, tabs or newlines: collapsing those is the cleaning dbt promises, not a loss.
PEOPLE = [
    (DROP_FILES, BOBBY, '1 "Quoted" St \\ back\\slash \\\\', "Oil change'; delete from raw.service_orders where ''='"),
    ("100%", "_under_score_", "{value} {0} %(name)s %s :value $1 ?", "50% off {{promo}} :x %%"),
    ("Zoë\u200d🚗", "Co\u0302te\u0301", "\u202eevil\u202c 12 rue \u200fdes Érables", "bell\x07 esc\x1b[31m del\x7f"),
    ("Ame\u0301lie", "👨\u200d👩\u200d👧 Family", "line\x01ctrl\x02chars\x1f", "<script>alert(1)</script> [x](javascript:alert(1))"),
    ("Jean", LONG, "1 " + "Rue " * 2000 + "Fin", "x" * 10_000),
]  # fmt: skip


def email(i: int) -> str:
    """A usable address (example.com is a placeholder the marts drop); one with LIKE's
    wildcards and a quote in it."""
    return "100%_off+o'brien@courriel.ca" if i == 1 else f"hostile{i}@courriel.ca"


def write_inbox(inbox: Path) -> None:
    """A dealer, one sale and one repair order per hostile person, each with its own e-mail
    and phone so that every one of them is a customer of their own."""
    for folder in ("dealers", "dealer_sales", "service_orders"):
        (inbox / folder).mkdir(parents=True)
    (inbox / "dealers" / "dealers.csv").write_text(
        "dealer_code,dealer_name,brands,city,region\nD01,Alpha Honda,Honda,Laval,QC\n"
    )
    with (inbox / "dealer_sales" / "sales.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["dealer_code", "deal_id", "deal_date", "first_name", "last_name", "email",
             "phone", "street", "city", "region", "vin", "make", "model", "sale_price"]
        )  # fmt: skip
        for i, (first, last, street, _) in enumerate(PEOPLE):
            writer.writerow(
                ["D01", f"S{i}", f"2024-02-{i + 1:02d}", first, last, email(i),
                 f"514-321-4{i:03d}", street, "Laval", "QC", f"HOSTILEVIN{i:07d}", "Honda",
                 "Civic", "25000"]
            )  # fmt: skip
    with (inbox / "service_orders" / "orders.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["dealer_code", "ro_number", "open_date", "email", "phone", "vin", "description"]
        )
        for i, (*_, description) in enumerate(PEOPLE):
            writer.writerow(
                ["D01", f"R{i}", f"2024-03-{i + 1:02d}", email(i), f"514-321-4{i:03d}",
                 f"HOSTILEVIN{i:07d}", description]
            )  # fmt: skip


@pytest.fixture(scope="module")
def hostile_db(template_url: URL, tmp_path_factory) -> Iterator[Engine]:
    """A database the whole pipeline ran on, with DATABASE_URL pointing at it."""
    from orchestration.runner import run_pipeline

    inbox = tmp_path_factory.mktemp("hostile") / "inbox"
    write_inbox(inbox)
    url = db.create_database(
        template_url, f"t_{uuid.uuid4().hex[:12]}", template=template_url.database
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
        patch.delenv("DEALER360_DASHBOARD_URL", raising=False)
        summary = run_pipeline(inbox)
        assert summary.succeeded, summary.error
        yield db.get_engine(url)
    db.get_engine(url).dispose()
    db.drop_database(template_url, url.database)


def customer_of_sale(engine: Engine, i: int) -> dict:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                sa.text(
                    "select c.* from resolve.customer_source_map m"
                    " join marts.customers c using (customer_id)"
                    " where m.source = 'dealer_sales' and m.source_record_id = :r"
                ),
                {"r": f"D01:S{i}"},
            )
            .one()
            ._mapping
        )


@pytest.mark.slow
def test_injection_strings_and_odd_unicode_reach_the_marts_literally_and_drop_nothing(
    hostile_db: Engine,
):
    with hostile_db.connect() as conn:
        for table in ("raw.files", "marts.customers", "marts.customer_events"):
            assert conn.scalar(sa.text("select to_regclass(:t) is not null"), {"t": table})
        assert conn.scalar(sa.text("select count(*) from raw.files")) == 3
        assert conn.scalar(sa.text("select count(*) from raw.quarantine")) == 0
        descriptions = dict(
            conn.execute(
                sa.text(
                    "select source_record_id, description from marts.customer_events"
                    " where source = 'service_orders'"
                )
            ).all()
        )
    for i, (first, last, street, description) in enumerate(PEOPLE):
        customer = customer_of_sale(hostile_db, i)
        assert (customer["first_name"], customer["last_name"]) == (first, last)
        assert customer["street"] == street
        assert customer["email"] == email(i)
        assert descriptions[f"D01:R{i}"] == description
    assert len({customer_of_sale(hostile_db, i)["customer_id"] for i in range(len(PEOPLE))}) == len(
        PEOPLE
    )


def search(text: str):
    st.cache_data.clear()
    parsed = lookup.parse(text)
    return queries.search_customers(parsed.kind, parsed.value)


@pytest.mark.slow
@pytest.mark.parametrize("i", range(len(PEOPLE) - 1))
def test_searching_a_hostile_name_finds_that_customer_first(hostile_db: Engine, i: int):
    first, last, *_ = PEOPLE[i]
    found = search(f"{first} {last}")
    assert found["customer_id"].iloc[0] == customer_of_sale(hostile_db, i)["customer_id"]
    assert (found["first_name"].iloc[0], found["last_name"].iloc[0]) == (first, last)


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "%",
        "_",
        "%%",
        "%_%",
        "%@courriel.ca",
        "_ostile0@courriel.ca",
        "100%@courriel.ca",
        "1__%_off+o'brien@courriel.ca",
    ],
)
def test_like_wildcards_in_a_search_match_only_themselves(hostile_db: Engine, text: str):
    # Every customer has a name and most an @courriel.ca address; a wildcard read as a
    # wildcard would return them.
    assert search(text).empty


@pytest.mark.slow
def test_an_email_search_is_an_exact_match(hostile_db: Engine):
    with hostile_db.connect() as conn:
        holders = set(
            conn.scalars(
                sa.text("select customer_id from marts.customers where email = :e"), {"e": email(1)}
            )
        )
    assert customer_of_sale(hostile_db, 1)["customer_id"] in holders
    assert set(search(email(1).upper())["customer_id"]) == holders


@pytest.mark.slow
@pytest.mark.parametrize("text", [DROP_FILES, BOBBY, "%", "_", "Co\u0302te\u0301", "\u202e"])
def test_the_search_page_takes_hostile_text_without_an_error(hostile_db: Engine, text: str):
    count = "select count(*) from marts.customers"
    with hostile_db.connect() as conn:
        before = conn.scalar(sa.text(count))
    at = open_page("search")
    at.text_input(key="search_text").input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    links = [link.proto.query_string for link in at.get("page_link")]
    if text in (DROP_FILES, BOBBY):
        assert f"customer_id={customer_of_sale(hostile_db, 0)['customer_id']}" in links[0]
    if text in ("%", "_"):
        assert not [q for q in links if "customer_id=" in q]
        assert "No customer matches" in " ".join(w.value for w in at.warning)
    with hostile_db.connect() as conn:
        assert conn.scalar(sa.text(count)) == before


@pytest.mark.slow
@pytest.mark.parametrize("i", range(len(PEOPLE)))
def test_a_hostile_customers_profile_opens(hostile_db: Engine, i: int):
    open_page("profile", customer_id=customer_of_sale(hostile_db, i)["customer_id"])


# ---------------------------------------------------------------------------------------------
# The loader, property-based: whatever text a row holds, it lands literally or is quarantined
# with a reason (tests/test_landing_properties.py proves the counts for random files and
# bytes; this adds the reason and the literal values).

VIN = "1HGCM82633A004352"
hostile_text = st_.one_of(
    st_.sampled_from(
        ["", " ", DROP_FILES, BOBBY, "%", "_", "%_%", "\\", "\\'", "'", '"', "{0}", ":value",
         "%(x)s", "\u202e", "\u200d", "a\u0301", "🚗", "\x07\x1b", " padded "]
    ),
    st_.text(st_.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30),
)  # fmt: skip
row = st_.fixed_dictionaries(
    {
        "dealer_code": st_.one_of(st_.just("D01"), hostile_text),
        "deal_id": st_.one_of(st_.sampled_from(["1", "2", "3"]), hostile_text),
        "deal_date": st_.one_of(st_.sampled_from(["2024-01-02", "2024-13-01"]), hostile_text),
        "vin": st_.one_of(st_.just(VIN), hostile_text),
        "first_name": hostile_text,
        "last_name": hostile_text,
        "street": hostile_text,
        "city": hostile_text,
    }
)
TEXT_COLUMNS = ("first_name", "last_name", "street", "city")
_files = itertools.count()


def literal(cell: str) -> str | None:
    """What the landing contract keeps of a cell: trimmed, an empty one unknown."""
    return cell.strip(BLANKS) or None


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st_.lists(row, min_size=1, max_size=8))
def test_every_row_of_hostile_text_lands_literally_or_is_quarantined_with_a_reason(
    engine: Engine, tmp_path_factory, rows: list[dict]
):
    with engine.begin() as conn:
        conn.execute(sa.text("truncate raw.dealer_sales, raw.files, raw.quarantine"))
    text = io.StringIO()
    # `marker` (an extra column) makes every row non-blank, so each one is a row to account for.
    writer = csv.DictWriter(
        text, [*rows[0], "marker"], quoting=csv.QUOTE_ALL, lineterminator="\r\n"
    )
    writer.writeheader()
    writer.writerows({**r, "marker": str(n)} for n, r in enumerate(rows))
    assert len(list(csv.reader(io.StringIO(text.getvalue(), newline="")))) == len(rows) + 1
    folder = tmp_path_factory.mktemp("rows")
    path = folder / "dealer_sales" / f"{next(_files)}.csv"
    path.parent.mkdir()
    path.write_text(text.getvalue(), newline="")
    result = load_file(engine, path, "dealer_sales", folder)

    assert result.status == "loaded", result.message
    with engine.connect() as conn:
        landed = {
            r.row_number: r
            for r in conn.execute(
                sa.text(
                    "select row_number, first_name, last_name, street, city from raw.dealer_sales"
                )
            )
        }
        quarantined = dict(
            conn.execute(sa.text("select row_number, reason from raw.quarantine")).all()
        )
    numbers = range(2, len(rows) + 2)  # the header is row 1
    assert sorted([*landed, *quarantined]) == list(numbers)
    assert all(reason.strip() for reason in quarantined.values())
    for number, cells in zip(numbers, rows, strict=True):
        if number in landed:
            kept = landed[number]
            assert tuple(getattr(kept, c) for c in TEXT_COLUMNS) == tuple(
                literal(cells[c]) for c in TEXT_COLUMNS
            )


# ---------------------------------------------------------------------------------------------
# No value pasted into SQL text: a static check of dashboard/ and dealer360/.

SCANNED = ("dashboard", "dealer360")
SQL_TEXT = re.compile(r"\b(select|insert|update|delete|where|from|set|values|limit)\b", re.I)
# Text right before a placeholder that puts it where a value goes (a comparison, a list of
# values, a LIMIT), rather than where an identifier or a clause goes.
VALUE_POSITION = re.compile(
    r"(=|<>|<|>|\blike|\bilike|\bin\s*\(|\bany\s*\(|\ball\s*\(|\bvalues\s*\(|\blimit|\boffset"
    r"|\bbetween)\s*$",
    re.I,
)
# Placeholders in a value position that hold SQL built from constants, by reason.
ALLOWED = {
    ("dealer360/forget.py", "row_hash"): "an SQL expression ingest.merge.row_hash_sql builds "
    "from the landing contract's column names",
    ("dealer360/suppression.py", "kept_param"): "the name of a bind parameter (':kept'), passed "
    "as a literal by the one caller",
}


def _is_constant(node: ast.expr, constants: set[str]) -> bool:
    """Whether `node` is built from literals and module constants (UPPER_CASE names) only."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in constants or node.id.lstrip("_").isupper()
    if isinstance(node, ast.Attribute):
        return node.attr.lstrip("_").isupper() or _is_constant(node.value, constants)
    if isinstance(node, ast.Subscript):
        return _is_constant(node.value, constants)
    if isinstance(node, ast.Call):  # a builder given literals only, e.g. _SIDE.format(side="a")
        parts = [*node.args, *(k.value for k in node.keywords)]
        return all(_is_constant(p, constants) for p in parts)
    if isinstance(node, ast.JoinedStr):
        return all(
            _is_constant(v.value if isinstance(v, ast.FormattedValue) else v, constants)
            for v in node.values
        )
    return False


def _local_constants(tree: ast.Module) -> set[str]:
    """Names assigned exactly once in the module, to a literal string."""
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    return {
        name
        for name, values in assigned.items()
        if len(values) == 1 and isinstance(values[0], ast.Constant)
    }


def _templates(node: ast.AST) -> Iterator[tuple[list[str], list[ast.expr]]]:
    """(literal pieces, placeholders) of a string built by an f-string, `+`, `%` or a
    `.format()` on a literal: placeholder i sits between pieces i and i + 1."""
    if isinstance(node, ast.JoinedStr):
        pieces, holes = [""], []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                holes.append(value.value)
                pieces.append("")
            else:
                pieces[-1] += value.value
        yield pieces, holes
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = node.left, node.right
        if isinstance(left, ast.Constant) and isinstance(left.value, str):
            if not isinstance(right, ast.Constant):
                yield [left.value, ""], [right]
        elif isinstance(right, ast.Constant) and isinstance(right.value, str):
            yield ["", right.value], [left]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
            pieces = re.split(r"%(?:\([^)]*\))?[sdr]", node.left.value)
            holes = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
            if len(pieces) > 1:
                yield pieces, [holes[min(i, len(holes) - 1)] for i in range(len(pieces) - 1)]
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
    ):
        pieces = re.split(r"\{[^{}]*\}", node.func.value.value)
        holes = [*node.args, *(k.value for k in node.keywords)]
        if len(pieces) > 1 and holes:
            yield pieces, [holes[min(i, len(holes) - 1)] for i in range(len(pieces) - 1)]


def values_pasted_into_sql(source: str, file_name: str) -> list[str]:
    """Places where `source` pastes a non-constant into SQL text where a value goes (or
    inside a quoted SQL literal), each as `file:line: expression`."""
    tree = ast.parse(source)
    constants = _local_constants(tree)
    found = []
    for node in ast.walk(tree):
        for pieces, holes in _templates(node):
            if not SQL_TEXT.search("".join(pieces)):
                continue
            for i, hole in enumerate(holes):
                before, after = pieces[i], pieces[i + 1]
                quoted = before.endswith("'") or before.endswith("%") or after.startswith("'")
                if not (quoted or VALUE_POSITION.search(before)):
                    continue
                expression = ast.unparse(hole)
                if _is_constant(hole, constants) or (file_name, expression) in ALLOWED:
                    continue
                found.append(f"{file_name}:{node.lineno}: {expression}")
    return found


def test_no_sql_in_dashboard_or_dealer360_has_a_value_pasted_into_its_text():
    found = []
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            found += values_pasted_into_sql(path.read_text(), name)
    assert not found, "pass these as bind parameters (:name), not in the SQL text:\n" + "\n".join(
        found
    )


@pytest.mark.parametrize(
    "code",
    [
        "sa.text(f\"select * from marts.customers where last_name = '{name}'\")",
        'conn.execute(sa.text(f"select * from marts.customers where email = {value}"))',
        'read("select * from marts.customers where last_name like \'%" + text + "%\'")',
        'cur.execute("select * from raw.files where file_name = %s" % name)',
        'read("select * from marts.customers limit {}".format(limit))',
        'sql = f"delete from raw.files where file_name in ({names})"',
    ],
)
def test_the_sql_check_catches_a_value_pasted_into_sql(code: str):
    assert values_pasted_into_sql(code, "example.py")


@pytest.mark.parametrize(
    "code",
    [
        'read("select * from marts.customers where last_name = :name", name=name)',
        'sa.text(f"select count(*) from raw.{source}")',
        "sa.text(f\"select * from marts.customers where {' and '.join(CLAUSES)}\")",
        'print(f"no customer = {customer_id}")',
        "sa.text(f\"select * from t where x = {_ALWAYS.format(side='a')}\")",
    ],
)
def test_the_sql_check_lets_identifiers_constants_and_parameters_through(code: str):
    assert not values_pasted_into_sql(code, "example.py")


# ---------------------------------------------------------------------------------------------
# Exposure: nothing secret in the repository, nothing listening beyond this machine unless
# asked. (tests/test_deploy.py checks docker-compose: its password comes from the
# environment and it publishes its ports on 127.0.0.1 only.)

DSN = re.compile(r"\b[a-z][a-z0-9+.-]*://[^:/@\s'\"`]+:(?P<password>[^@\s'\"`]+)@")
QUOTED_SECRET = re.compile(
    r"(?i)(password|passwd|secret|token|api_?key)\w*['\"]?\s*[:=]\s*(['\"])(?P<value>[^'\"\s]{3,})\2"
)
ENV_SECRET = re.compile(
    r"\b[A-Z0-9_]*(PASSWORD|SECRET|TOKEN|API_KEY)[A-Z0-9_]*=(?P<value>[^\s'\"]+)"
)
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# Passwords in URLs that are no one's password, by reason.
PLACEHOLDER_PASSWORDS = {
    "pass": "README's example of a DATABASE_URL",
    "p": "tests: URLs of a database that cannot exist (port 1, or not PostgreSQL)",
    "secret": "tests: the URL of a database that cannot exist (port 1)",
}


def repository_text_files() -> Iterator[tuple[str, str]]:
    """Every file git tracks or would track (new files included), with its text."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    for name in filter(None, listed):
        path = ROOT / name
        if not path.is_file() or name == "uv.lock":  # uv.lock: package hashes, no secrets
            continue
        try:
            yield name, path.read_text()
        except UnicodeDecodeError:
            continue


def committed_secrets(name: str, text: str) -> list[str]:
    found = [f"{name}: a private key" for _ in PRIVATE_KEY.finditer(text)]
    for match in DSN.finditer(text):
        password = match["password"]
        if not password.startswith(("${", "{{", "%(")) and password not in PLACEHOLDER_PASSWORDS:
            found.append(f"{name}: a password in the URL {match[0]}")
    if not name.startswith("tests/"):  # tests create throwaway roles in throwaway databases
        for pattern in (QUOTED_SECRET, ENV_SECRET):
            for match in pattern.finditer(text):
                if not match["value"].startswith(("$", "{{", "%(", "…", "...")):
                    found.append(f"{name}: a literal secret in {match[0]}")
    return found


def test_no_password_key_or_token_is_in_the_repository():
    found = [f for name, text in repository_text_files() for f in committed_secrets(name, text)]
    assert not found, "\n".join(found)


# Each example is split in two so that this file does not hold what it looks for.
@pytest.mark.parametrize(
    "name,text",
    [
        ("deploy/.env", "POSTGRES_PASSWORD=hunter2hunter2\n"),
        ("dealer360/settings.py", 'DEFAULT_URL = "postgresql://dealer360:' + 's3cr3t@db:5432/x"\n'),
        ("dashboard/app.py", 'api_key = "sk-live-0123456789"\n'),
        ("deploy/values.yaml", "password: 'correct-horse-battery'\n"),
        ("tests/fixture.py", 'URL = "postgres://admin:' + 'Tr0ub4dor@prod.example.com/db"\n'),
        ("deploy/id_ed25519", "-----BEGIN OPENSSH PRIVATE " + "KEY-----\nb3Blb\n"),
    ],
)
def test_the_secret_scan_catches_a_committed_secret(name: str, text: str):
    assert committed_secrets(name, text)


def listening_addresses(pid: int, port: int) -> set[str]:
    """The addresses the process tree of `pid` listens on at `port`."""
    tree = psutil.Process(pid)
    pids = {pid, *(child.pid for child in tree.children(recursive=True))}
    return {
        c.laddr.ip
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.pid in pids and c.laddr.port == port
    }


def other_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback."""
    return [
        a.address
        for addresses in psutil.net_if_addrs().values()
        for a in addresses
        if a.family == socket.AF_INET and not a.address.startswith("127.")
    ]


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_the_dashboard_listens_on_localhost_only_unless_told_otherwise(database_url, tmp_path):
    port = db._free_port()
    log = (tmp_path / "dashboard.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "dealer360.cli", "dashboard", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": database_url.render_as_string(hide_password=False)},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not reachable("127.0.0.1", port):
            assert server.poll() is None, (tmp_path / "dashboard.log").read_text()
            assert time.monotonic() < deadline, "the dashboard did not come up"
            time.sleep(0.5)
        health = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=10)
        assert health.status == 200
        assert listening_addresses(server.pid, port) == {"127.0.0.1"}
        for address in other_addresses():
            assert not reachable(address, port), f"the dashboard answers on {address}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_the_embedded_server_keeps_its_password_private_and_listens_on_localhost_only(
    pg_home: Path, server_url: URL
):
    assert (pg_home / "postgres-password").stat().st_mode & 0o777 == 0o600
    engine = sa.create_engine(server_url)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("show listen_addresses")) == "127.0.0.1"
        assert conn.scalar(sa.text("show unix_socket_directories")) == ""
    engine.dispose()
    postmaster = int((pg_home / "pgdata" / "postmaster.pid").read_text().split()[0])
    assert listening_addresses(postmaster, server_url.port) == {"127.0.0.1"}
    for address in other_addresses():
        assert not reachable(address, server_url.port)
