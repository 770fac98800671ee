"""Whether the marts are current: a build is needed only when something dbt reads changed.

Every statement that writes one of the dbt project's sources notes it in
raw.model_input_changes (a trigger, migration 0014), whoever the writer. The last complete
build says what it was built for in raw.model_builds: the day its time rules took as today,
its dbt vars, the dbt project's files and the migrations. A run whose build would be built
for the same, with no note left and every model's relation in place, keeps the marts as
they are: a nightly run with nothing new pays no dbt build.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealer360 import db

PROJECT_FOLDERS = ("models", "seeds", "macros", "tests")
BUILD_KEY = "dealer360/build"  # a built model's metadata: "incremental" or "full: <why>"


def project_files(project_dir: Path) -> list[Path]:
    """Every file dbt builds from."""
    files = sorted(
        p for folder in PROJECT_FOLDERS for p in (project_dir / folder).rglob("*") if p.is_file()
    )
    return [*files, project_dir / "dbt_project.yml", project_dir / "profiles.yml"]


def project_fingerprint(project_dir: Path) -> str:
    """A digest of every file dbt builds from: a changed model or seed is a new project."""
    digest = hashlib.sha256()
    for path in project_files(project_dir):
        digest.update(str(path.relative_to(project_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def built_for(engine: Engine, project_dir: Path, dbt_vars: dict[str, str]) -> dict:
    """What a build started now is built for."""
    with engine.connect() as conn:
        today = conn.scalar(sa.text("select current_date"))
    return {
        "today": today.isoformat(),
        "vars": dbt_vars,
        "project": project_fingerprint(project_dir),
        "migrations": [path.name for path in db.migration_files()],
    }


def is_current(engine: Engine, wanted: dict, relations: list[tuple[str, str]]) -> bool:
    """The last complete build was built for `wanted`, nothing dbt reads changed since, and
    each of `relations` (schema, name) is in place."""
    with engine.connect() as conn:
        last = conn.scalar(sa.text("select built_for from raw.model_builds"))
        if last != wanted:
            return False
        if conn.scalar(sa.text("select exists (select from raw.model_input_changes)")):
            return False
    return missing(engine, relations) == 0


def missing(engine: Engine, relations: list[tuple[str, str]]) -> int:
    """How many of `relations` (schema, name) are not in the database."""
    with engine.connect() as conn:
        return conn.scalar(
            sa.text(
                "select count(*) from unnest(cast(:schemas as text[]), cast(:names as text[]))"
                " as r(s, n) where to_regclass(quote_ident(r.s) || '.' || quote_ident(r.n)) is null"
            ),
            {"schemas": [s for s, _ in relations], "names": [n for _, n in relations]},
        )


NOTES = ("raw.model_input_changes", "raw.model_changed_records")


def full_refresh_reason(engine: Engine, wanted: dict, *, full: bool) -> str | None:
    """Why a build started now must rebuild its incremental models in full; None when the
    notes since the last complete build say which rows to rebuild."""
    if full:
        return "a full run was asked for"
    if wanted["vars"]:
        return f"the marts are built as known on {wanted['vars'].get('as_of_date')}"
    with engine.connect() as conn:
        last = conn.scalar(sa.text("select built_for from raw.model_builds"))
        if last is None:
            return "the last build did not complete"
        if last["vars"]:
            return f"the last build was as known on {last['vars'].get('as_of_date')}"
        if (last["project"], last["migrations"]) != (wanted["project"], wanted["migrations"]):
            return "the dbt project or the database's migrations changed"
        everything = conn.scalar(
            sa.text(
                "select exists (select from raw.model_changed_records where source = 'everything')"
            )
        )
    return "more changed than an increment" if everything else None


def last_built_for(engine: Engine) -> dict | None:
    """What the last complete build was built for; None when it did not complete."""
    with engine.connect() as conn:
        return conn.scalar(sa.text("select built_for from raw.model_builds"))


def changed_tables(
    engine: Engine, seen: dict[str, list[int]], last: dict | None, wanted: dict
) -> set[str] | None:
    """The tables dbt reads that changed since the `last` complete build, by the notes a
    build saw (`begin`): schema.table, as the dbt project's sources name them. None when every
    model must be built anyway: the last build was for another day (a rule of the day, such
    as an in-market window, may have moved in any model that reads the date)."""
    if last is None or last.get("today") != wanted["today"]:
        return None
    with engine.connect() as conn:
        tables = set(
            conn.scalars(
                sa.text(
                    "select distinct table_name from raw.model_input_changes"
                    " where change_id = any(:seen)"
                ),
                {"seen": seen["raw.model_input_changes"]},
            )
        )
    if seen["raw.model_changed_records"]:
        tables.add("raw.model_changed_records")
    return tables


def unaffected_models(manifest: Mapping[str, Any], changed: set[str]) -> set[str]:
    """The models (unique IDs) of a dbt manifest that read none of the `changed` tables,
    directly or through other models: built from the same rows, they would come out the same.
    Empty when a change is not a source's (a migration's note): everything is affected. A
    model that a test of an affected model also reads stays affected, since dbt leaves out
    the tests of a model it leaves out, and that test must run."""
    sources = {
        f"{source['schema']}.{source['identifier']}": uid
        for uid, source in manifest["sources"].items()
    }
    if not changed <= sources.keys():
        return set()
    affected, frontier = set(), [sources[table] for table in changed]
    while frontier:
        uid = frontier.pop()
        if uid not in affected:
            affected.add(uid)
            frontier.extend(manifest["child_map"].get(uid, []))
    nodes = manifest["nodes"]
    unaffected = {
        uid
        for uid, node in nodes.items()
        if node["resource_type"] == "model" and uid not in affected
    }
    for node in nodes.values():
        parents = set(node.get("depends_on", {}).get("nodes", []))
        if node["resource_type"] == "test" and parents & affected:
            unaffected -= parents
    return unaffected


def begin(engine: Engine) -> dict[str, list[int]]:
    """Before a build: no build counts as complete until this one is; returns the notes it
    will have seen (those committed now), by table."""
    with engine.begin() as conn:
        conn.execute(sa.text("delete from raw.model_builds"))
        return {
            table: list(conn.scalars(sa.text(f"select change_id from {table}"))) for table in NOTES
        }


def finish(engine: Engine, seen: dict[str, list[int]], wanted: dict) -> None:
    """After a complete build: the notes it saw are built; it was built for `wanted`."""
    with engine.begin() as conn:
        for table, ids in seen.items():
            conn.execute(
                sa.text(f"delete from {table} where change_id = any(:seen)"), {"seen": ids}
            )
        conn.execute(
            sa.text(
                "insert into raw.model_builds (built_for) values (cast(:b as jsonb))"
                " on conflict (singleton) do update"
                " set built_for = excluded.built_for, built_at = now()"
            ),
            {"b": json.dumps(wanted)},
        )
