"""Settings every stage shares, read from the environment and nowhere else."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from dealer360.errors import UserError


@dataclass(frozen=True)
class Settings:
    """Where dealer360 keeps its state and which database it talks to.

    `database_url` is None when no `DATABASE_URL` is set: the embedded PostgreSQL in
    `home / "pgdata"` is then used, started on demand. `inbox` is the folder the Dagster
    sensor and schedule watch (`DEALER360_INBOX`, default `home / "inbox"`).
    """

    home: Path
    database_url: str | None
    inbox: Path

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"


def get_settings() -> Settings:
    home = Path(os.environ.get("DEALER360_HOME") or Path.home() / ".dealer360").expanduser()
    url = os.environ.get("DATABASE_URL") or None
    inbox = Path(os.environ.get("DEALER360_INBOX") or home / "inbox").expanduser()
    return Settings(home=home.resolve(), database_url=url, inbox=inbox.resolve())


# Where identity resolution's pair-heavy steps run: here, or on Apache Spark.
ENGINES = ("in-process", "spark")
DEFAULT_SPARK_MASTER = "local[*]"
_SPARK_MASTER = re.compile(
    r"local(\[(\*|[1-9][0-9]*)(,[0-9]+)?\])?|yarn|(spark|sc)://[^\s/]+(:[0-9]+)?.*|k8s://\S+"
)


@dataclass(frozen=True)
class Matching:
    """The resolve stage's engine (`--engine` or DEALER360_ENGINE, default in-process) and,
    for spark, the master (`--spark-master` or DEALER360_SPARK_MASTER, default `local[*]`):
    `local[N]`, `spark://host:port`, `yarn`, `k8s://…` or a Spark Connect `sc://host:port`."""

    engine: str = "in-process"
    spark_master: str = DEFAULT_SPARK_MASTER


def get_matching(engine: str | None = None, spark_master: str | None = None) -> Matching:
    """The matching settings: the arguments (the CLI's options) over the environment."""
    chosen = (engine or os.environ.get("DEALER360_ENGINE") or "in-process").strip().lower()
    if chosen not in ENGINES:
        raise UserError(
            f"The engine (--engine or DEALER360_ENGINE) must be one of {', '.join(ENGINES)},"
            f" not {chosen!r}."
        )
    if spark_master and chosen != "spark":
        raise UserError("--spark-master is for --engine spark; add --engine spark or drop it.")
    master = (
        spark_master or os.environ.get("DEALER360_SPARK_MASTER") or DEFAULT_SPARK_MASTER
    ).strip()
    if not _SPARK_MASTER.fullmatch(master):
        raise UserError(
            f"The Spark master (--spark-master or DEALER360_SPARK_MASTER) {master!r} is not one"
            " Spark takes: local[N], local[*], spark://host:port, yarn, k8s://… or sc://host:port."
        )
    return Matching(engine=chosen, spark_master=master)


# Sign-in with OpenID Connect: the four settings, all or none. Secrets come only from here.
SIGN_IN_VARIABLES = (
    "DEALER360_OIDC_ISSUER",
    "DEALER360_OIDC_CLIENT_ID",
    "DEALER360_OIDC_CLIENT_SECRET",
    "DEALER360_COOKIE_SECRET",
)
MIN_COOKIE_SECRET = 32  # characters; Streamlit signs the identity cookie with it


@dataclass(frozen=True)
class SignIn:
    """Who may open the dashboard is decided by an OpenID Connect provider (Entra, Google,
    Keycloak, Okta ...); what each person then sees, by the role `dealer360 grant user` gave
    them. `public_url` is where people reach the dashboard (`DEALER360_PUBLIC_URL`, e.g. the
    address of a TLS proxy in front of it); None: the address it is served on."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    cookie_secret: str = field(repr=False)
    public_url: str | None = None

    @property
    def server_metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def streamlit_secrets(self, served_at: str) -> str:
        """Streamlit's `[auth]` section (secrets.toml) for a dashboard served at `served_at`
        (or reached at `public_url`): the provider's discovery document, where it sends people
        back, and the secrets. TOML basic strings take JSON's escapes, so each value is quoted
        by `json.dumps`."""
        values = {
            "redirect_uri": f"{self.public_url or served_at.rstrip('/')}/oauth2callback",
            "cookie_secret": self.cookie_secret,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "server_metadata_url": self.server_metadata_url,
        }
        return "[auth]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


def is_loopback(host: str) -> bool:
    """Whether binding `host` serves only this computer."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sign_in_configured() -> bool:
    """Whether any sign-in setting is present: the dashboard then never serves anyone who has
    not signed in, even if the settings turn out to be incomplete."""
    return any(os.environ.get(name, "").strip() for name in SIGN_IN_VARIABLES)


def _http_url(name: str, value: str) -> str:
    parsed = urlparse(value)
    local = parsed.hostname in ("localhost", "127.0.0.1", "::1")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UserError(f"{name} must be an http(s) address, not {value!r}.")
    if parsed.scheme == "http" and not local:
        raise UserError(f"{name} must use https (plain http only for localhost), not {value!r}.")
    return value.rstrip("/")


def get_sign_in() -> SignIn | None:
    """The sign-in settings, validated; None when none of them is set."""
    values = {name: os.environ.get(name, "").strip() for name in SIGN_IN_VARIABLES}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise UserError(f"Sign-in is half configured: set {', '.join(missing)} as well.")
    issuer, client_id, client_secret, cookie_secret = values.values()
    if len(cookie_secret) < MIN_COOKIE_SECRET:
        raise UserError(
            f"DEALER360_COOKIE_SECRET must be at least {MIN_COOKIE_SECRET} characters"
            " (for example `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
        )
    public = os.environ.get("DEALER360_PUBLIC_URL", "").strip()
    return SignIn(
        issuer=_http_url("DEALER360_OIDC_ISSUER", issuer),
        client_id=client_id,
        client_secret=client_secret,
        cookie_secret=cookie_secret,
        public_url=_http_url("DEALER360_PUBLIC_URL", public) if public else None,
    )
