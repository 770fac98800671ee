"""Settings every stage shares, read from the environment and nowhere else."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


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
