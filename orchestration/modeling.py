"""The dbt project as Dagster assets: staging → intermediate → marts, dbt tests as asset checks."""

import contextlib
import graphlib
import importlib.metadata
import json
import os
import shutil
import sys
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging import version

from dealer360 import db
from dealer360.settings import get_settings
from orchestration import builds
from orchestration.automation import FULL_TAG
from orchestration.progress import stage_progress
from orchestration.resources import Dealer360

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's saved parse of the project

# Parsing renders profiles.yml, which reads these; parsing never connects, so placeholders do.
# Real values are set from the database in use right before dbt runs.
for _key, _value in {
    "DEALER360_PG_HOST": "127.0.0.1",
    "DEALER360_PG_PORT": "5432",
    "DEALER360_PG_USER": "postgres",
    "DEALER360_PG_PASSWORD": "",
    "DEALER360_PG_DATABASE": db.DATABASE_NAME,
}.items():
    os.environ.setdefault(_key, _value)

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# The dbt installed beside this Python, whether or not the virtual environment is activated.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


class Dealer360Dbt(DbtCliResource):
    """dagster-dbt's dbt CLI, less two start-ups it pays on every build that dealer360 has no
    use for: running `dbt --version` in a process of its own to learn the version of the dbt
    it is about to run (dealer360 runs the dbt installed beside this Python, whose version
    is that of the dbt-core package here), and opening a dbt adapter in this process (used
    only to fetch row counts and column metadata, which dealer360 does not ask for). Each
    costs a dbt start-up, seconds, on every run (docs/benchmarks.md)."""

    @cached_property
    def _cli_version(self):  # dagster-dbt's name; it compares it to 2 (dbt Fusion)
        if Path(self.dbt_executable) != Path(DBT_EXECUTABLE):
            return super()._cli_version
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 (dagster-dbt's signature)
        return None  # dagster-dbt then fetches no row counts or column metadata


def _newest_source_mtime() -> float:
    return max(p.stat().st_mtime for p in builds.project_files(DBT_PROJECT_DIR))


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than any project file."""
    manifest = dbt_project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime():
        Dealer360Dbt(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE).cli(
            ["parse", "--quiet"], target_path=dbt_project.target_path
        ).wait()
    return manifest


class Dealer360DbtTranslator(DagsterDbtTranslator):
    """Models are keyed by schema and name (marts/customers); groups follow the dbt layers."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "model"


@dbt_assets(
    manifest=ensure_manifest(), dagster_dbt_translator=Dealer360DbtTranslator(), name="dbt_models"
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, dealer360: Dealer360):
    """Build the selected models and run their tests against the database in use (as known
    on the resource's as_of date when it has one)."""
    os.environ.update(db.dbt_env())
    dbt_vars = dealer360.dbt_vars()
    engine = dealer360.engine()
    wanted = builds.built_for(engine, DBT_PROJECT_DIR, dbt_vars)
    whole = context.selected_asset_keys == context.assets_def.keys and (
        context.selected_asset_check_keys == context.assets_def.check_keys
    )  # a build of some models only is never taken for a complete one
    if whole and builds.is_current(engine, wanted, _relations(context.assets_def.keys)):
        context.log.info("nothing dbt reads changed since the marts were built: kept as they are")
        for key in _in_build_order(context.assets_def):
            yield dg.Output(
                None,
                output_name=context.assets_def.get_output_name_for_asset_key(key),
                metadata={"dealer360/kept": True},
            )
        return
    refresh = builds.full_refresh_reason(
        engine, wanted, full=context.run.tags.get(FULL_TAG) == "true"
    )
    seeds = _seeds(context.assets_def.keys)
    # The seeds (and their tests) are what the last complete build loaded when the project is
    # the same and that build completed: an incremental build leaves them alone.
    keep_seeds = whole and not refresh and builds.missing(engine, list(seeds.values())) == 0
    last = builds.last_built_for(engine)
    seen = builds.begin(engine)
    arguments = ["build", *(["--vars", json.dumps(dbt_vars)] if dbt_vars else [])]
    if refresh:
        arguments.append("--full-refresh")
        context.log.info(f"incremental models rebuilt in full: {refresh}")
    else:
        context.log.info("incremental models rebuild only the rows that changed")
    # How this build went, on each model it builds (the run's summary says it).
    build = {builds.BUILD_KEY: f"full: {refresh}" if refresh else "incremental"}
    # Models that read none of the tables changed since the last build (on its day) are
    # left as they are, with their tests.
    unaffected = (
        _unaffected(engine, seen, last, wanted, context.assets_def.keys) if keep_seeds else {}
    )
    kept = _Kept(context.assets_def, seeds.keys() | unaffected.keys() if keep_seeds else set())
    if keep_seeds:
        excluded = ["resource_type:seed", *unaffected.values()]
        arguments += ["--exclude", " ".join(excluded)]
        yield from kept.ready()
    if unaffected:
        context.log.info(
            f"{len(unaffected)} models read nothing that changed: kept as they are"
            f" ({', '.join(sorted(key.to_user_string() for key in unaffected))})"
        )
    if dbt_vars:
        context.log.info(f"building the marts as known on {dbt_vars['as_of_date']}")
    # dagster-dbt echoes every dbt log line to stdout; keep them in a file instead, so the CLI
    # shows its own summary (Dagster records the structured events either way).
    log_dir = get_settings().home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "dbt-last-run.log"
    context.log.info(f"dbt output goes to {log_path}")
    # One step per model, seed and test selected: each yields one event when dbt finishes it.
    steps = len(context.selected_asset_keys) + len(context.selected_asset_check_keys)
    steps -= len(kept.keys) + sum(
        c.asset_key in kept.keys for c in context.selected_asset_check_keys
    )
    with (
        log_path.open("w") as log,
        contextlib.redirect_stdout(log),
        stage_progress("modelling", steps, context.log, bar=dealer360.progress) as advance,
    ):
        invocation = dbt.cli(arguments, context=context, raise_on_error=False)
        for event in invocation.stream():
            if isinstance(event, dg.Output):
                event = event.with_metadata({**event.metadata, **build})
            yield event
            if isinstance(event, dg.Output):
                yield from kept.ready(
                    after=context.assets_def.keys_by_output_name[event.output_name]
                )
            if isinstance(event, dg.Output | dg.AssetMaterialization | dg.AssetCheckResult):
                advance(_event_name(event))
    try:
        if invocation.get_error() is not None:
            raise dg.Failure(description=_failure_sentence(invocation, log_path))
        _keep_partial_parse(invocation)
        if whole:
            builds.finish(engine, seen, wanted)
    finally:
        # Each build gets a target folder of its own (dagster-dbt); its artifacts are read
        # above, and a nightly run would otherwise leave ~10 MB behind every night.
        shutil.rmtree(invocation.target_path, ignore_errors=True)


def _unaffected(engine, seen, last, wanted, keys) -> dict[dg.AssetKey, str]:
    """The models among `keys` that read none of the tables changed since the `last` build,
    each with its dbt name; none when one of their relations is missing."""
    changed = builds.changed_tables(engine, seen, last, wanted)
    if changed is None:
        return {}
    manifest = json.loads(dbt_project.manifest_path.read_text())
    nodes = [manifest["nodes"][uid] for uid in builds.unaffected_models(manifest, changed)]
    by_key = {"/".join((node["schema"], node["name"])): node for node in nodes}
    unaffected = {
        key: by_key[key.to_user_string()] for key in keys if key.to_user_string() in by_key
    }
    relations = [
        (node["schema"], node["alias"])
        for node in unaffected.values()
        if node["config"].get("materialized") != "ephemeral"
    ]
    if builds.missing(engine, relations):
        return {}
    return {key: node["name"] for key, node in unaffected.items()}


class _Kept:
    """The outputs of the models a build leaves as they are (`keys`), each yielded as soon as
    the models it reads are: Dagster wants a step's outputs in build order, and a kept model
    may read one that dbt rebuilds (a view a test of a rebuilt model reads)."""

    def __init__(self, assets: dg.AssetsDefinition, keys: set[dg.AssetKey]):
        self.assets, self.keys, self.done = assets, keys, set()
        self.order = [key for key in _in_build_order(assets) if key in keys]
        self.deps = {
            key: {dep.asset_key for dep in spec.deps} & assets.keys
            for key, spec in assets.specs_by_key.items()
        }

    def ready(self, after: dg.AssetKey | None = None):
        """The kept outputs whose models are all yielded, `after` (just yielded) among them."""
        if after is not None:
            self.done.add(after)
        for key in self.order:
            if key not in self.done and self.deps[key] <= self.done:
                self.done.add(key)
                yield dg.Output(
                    None,
                    output_name=self.assets.get_output_name_for_asset_key(key),
                    metadata={"dealer360/kept": True},
                )


def _in_build_order(assets: dg.AssetsDefinition) -> list[dg.AssetKey]:
    """The models of `assets`, each after those it reads (as Dagster wants them yielded)."""
    graph = {
        key: {dep.asset_key for dep in spec.deps} & assets.keys
        for key, spec in assets.specs_by_key.items()
    }
    return list(graphlib.TopologicalSorter(graph).static_order())


def _seeds(keys) -> dict[dg.AssetKey, tuple[str, str]]:
    """The seeds among `keys`, each with its (schema, name)."""
    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
    by_name = {
        "/".join((node["schema"], node["name"])): (node["schema"], node["alias"])
        for node in nodes
        if node["resource_type"] == "seed"
    }
    return {key: by_name[key.to_user_string()] for key in keys if key.to_user_string() in by_name}


def _relations(keys) -> list[tuple[str, str]]:
    """The (schema, name) of each model behind `keys` that is a relation (not ephemeral)."""
    keys = {key.to_user_string() for key in keys}
    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
    return [
        (node["schema"], node["alias"])
        for node in nodes
        if node["resource_type"] in ("model", "seed")
        and node["config"].get("materialized") != "ephemeral"
        and "/".join((node["schema"], node["name"])) in keys
    ]


def _keep_partial_parse(invocation: DbtCliInvocation) -> None:
    """Keep this build's parse where dagster-dbt looks for one (the project's target
    folder), so the next build on the same database skips parsing the project: dbt parses
    again when the connection or the vars differ from the kept parse, never wrongly."""
    built = invocation.target_path / PARTIAL_PARSE
    if built.exists():
        kept = Path(dbt_project.project_dir) / dbt_project.target_path / PARTIAL_PARSE
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(built, kept.with_suffix(".tmp"))
        kept.with_suffix(".tmp").replace(kept)  # a reader never sees half a file


def _event_name(event) -> str:
    """The model or test an event of dbt's stream is about, for the progress line."""
    if isinstance(event, dg.AssetCheckResult):
        return event.check_name or ""
    key = getattr(event, "asset_key", None) or dg.AssetKey(event.output_name)
    return key.to_user_string()


def _failure_sentence(invocation: DbtCliInvocation, log_path: Path) -> str:
    """What dbt could not build, in one sentence that names the log holding dbt's output."""
    failed = []
    with contextlib.suppress(OSError, ValueError):
        nodes = invocation.manifest["nodes"]
        for result in invocation.get_artifact("run_results.json")["results"]:
            if result["status"] not in ("error", "fail"):
                continue
            node = nodes.get(result["unique_id"], {})
            kind, name = node.get("resource_type", "node"), node.get("name", result["unique_id"])
            if kind in ("model", "seed", "snapshot"):
                name = f"{node.get('schema')}.{name}"
            failed.append(f"{kind} {name}: {_first_line(result.get('message'))}")
    if not failed:  # dbt stopped before building anything: its own error messages
        _, _, parsed = str(invocation.get_error()).partition("Errors parsed from dbt logs:")
        failed += [_first_line(parsed)] if parsed.strip() else []
    more = f"; and {len(failed) - 1:,} more" if len(failed) > 1 else ""
    detail = f" ({failed[0]}{more})" if failed else ""
    return f"dbt failed building the marts{detail}; its log is {log_path}."


def _first_line(message: str | None) -> str:
    """The line of a dbt message that says what went wrong: `Database Error in model x (...)`
    is followed by the database's own words, which are the ones to show."""
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if len(lines) > 1 and " Error in " in lines[0]:
        return lines[1]
    return lines[0] if lines else "no message"


dbt_resource = Dealer360Dbt(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
