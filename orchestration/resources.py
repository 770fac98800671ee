"""The one resource every asset shares: where the inbox is and which database to use.

It also makes a pipeline run the only one on its database while it lives: the CLI, the inbox
sensor and the schedules can start runs that overlap, and two dbt builds at once break each
other (two processes creating one view). A run that finds another in progress says which
and waits for it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealer360 import db
from dealer360.errors import UserError
from dealer360.settings import Matching, get_matching, get_settings
from entity_resolution.engine import IN_PROCESS, Backend
from entity_resolution.spark import spark_backend

# PostgreSQL shows a one-key advisory lock as (classid, objid) = its high and low 32 bits.
_LOCK_CLASSID, _LOCK_OBJID = divmod(int(db.LockKey.PIPELINE), 1 << 32)


def _trigger(tags: dict[str, str]) -> str:
    if tags.get("dealer360/trigger") == "cli":
        return "dealer360 run"
    if "dagster/schedule_name" in tags:
        return f"schedule {tags['dagster/schedule_name']}"
    if "dagster/sensor_name" in tags:
        return f"sensor {tags['dagster/sensor_name']}"
    return "Dagster"


def running_pipeline(conn: sa.Connection) -> str | None:
    """How the run holding the pipeline lock names itself, or None when no run holds it."""
    return conn.scalar(
        sa.text(
            "select activity.application_name from pg_locks as locks"
            " join pg_stat_activity as activity on activity.pid = locks.pid"
            " where locks.locktype = 'advisory' and locks.granted"
            " and locks.classid = :classid and locks.objid = :objid and locks.objsubid = 1"
        ),
        {"classid": _LOCK_CLASSID, "objid": _LOCK_OBJID},
    )


@contextlib.contextmanager
def pipeline_lock(engine: Engine, run_name: str, log, *, announce: bool = False) -> Iterator[None]:
    """Hold the pipeline lock while the block runs; wait for it, saying for whom, when another
    run holds it. `log` is Dagster's run log; `announce` also prints the wait on stderr (the
    CLI's console is quiet). The lock goes with the session, so a killed run frees it."""
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    key = {"k": int(db.LockKey.PIPELINE)}
    try:
        if not conn.scalar(sa.text("select pg_try_advisory_lock(:k)"), key):
            holder = running_pipeline(conn) or "a run whose name could not be read"
            message = f"Another pipeline run is in progress ({holder}); waiting for it to finish."
            log.warning(message)
            if announce:
                print(message, file=sys.stderr, flush=True)
            conn.execute(sa.text("select pg_advisory_lock(:k)"), key)
            log.info("The other run finished; this one starts.")
        # application_name holds at most 63 bytes.
        conn.execute(
            sa.text("select set_config('application_name', :n, false)"), {"n": run_name[:63]}
        )
        yield
    finally:
        try:
            conn.execute(sa.text("select pg_advisory_unlock_all()"))
        except sa.exc.DBAPIError:
            conn.invalidate()  # the database went away, and the lock with it
        conn.close()


def parse_as_of(value: str) -> date:
    """The date of `run --as-of`: a past or today's date as YYYY-MM-DD, else one sentence."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"--as-of takes a date as YYYY-MM-DD, not {value!r}.") from None
    if day > date.today():
        raise UserError(
            f"--as-of {day} is after today: the marts can be built as known on a past day,"
            " not on one to come."
        )
    return day


class Dealer360(dg.ConfigurableResource):
    """The inbox to land and the database to land it in (embedded unless DATABASE_URL is set).

    `as_of` (YYYY-MM-DD, empty for today) builds the marts as they were known on that day:
    the landed rows dated later are left out of every model (the dbt var as_of_date).
    `resolve_engine` and `spark_master` say where identity resolution runs (empty: the
    DEALER360_ENGINE and DEALER360_SPARK_MASTER settings, else in-process).
    """

    inbox: str = ""
    progress: bool = False
    as_of: str = ""
    resolve_engine: str = ""
    spark_master: str = ""

    def matching(self) -> Matching:
        return get_matching(self.resolve_engine or None, self.spark_master or None)

    def dbt_vars(self) -> dict[str, str]:
        return {"as_of_date": parse_as_of(self.as_of).isoformat()} if self.as_of else {}

    def inbox_path(self) -> Path:
        return Path(self.inbox) if self.inbox else get_settings().inbox

    def engine(self) -> Engine:
        engine = db.connect_checked()
        db.migrate(engine)
        return engine

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Dealer360]:
        """A run's steps share one process (the job's in-process executor), so this resource
        lives as long as the run does and holds the pipeline lock for all of it."""
        run = context.run
        if run is None:  # built outside a run (a check or a test): nothing to serialize
            yield self
            return
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        run_id = run.tags.get("dealer360/run_id", run.run_id)  # raw.pipeline_runs's, if any
        name = f"{_trigger(run.tags)} {run_id[:8]}, started {started}"
        with pipeline_lock(self.engine(), name, context.log, announce=self.progress):
            yield self


class Spark(dg.ConfigurableResource):
    """The Spark session identity resolution runs on when the engine is spark.

    The resolve step starts it on the master its matching settings name (Dealer360's
    `spark_master`, else DEALER360_SPARK_MASTER, else local[*]) and stops it when resolving
    ends, so the dbt build that follows has the memory back. `conf` holds Spark's own
    settings as `spark-submit --conf` takes them: spark.driver.memory and
    spark.executor.memory cap what a run may use (a deployment sets them here or in
    Spark's spark-defaults.conf). A session already running in the process is used as it is.
    """

    conf: dict[str, str] = {}

    @contextlib.contextmanager
    def match_backend(self, matching: Matching, log) -> Iterator[Backend]:
        """Where the resolve stage's blocking, comparing and components run, for one run:
        this process, or a Spark session whose master and UI address go to `log` (Dagster's
        run log) as it starts."""
        if matching.engine != "spark":
            yield IN_PROCESS
            return
        with spark_backend(matching.spark_master, self.conf) as backend:
            log.info(
                f"Resolving on Spark ({backend.master or matching.spark_master}); Spark UI: "
                f"{backend.ui_url or 'on the Spark Connect server'}"
            )
            yield backend
