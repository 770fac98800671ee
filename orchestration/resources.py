"""The one resource every asset shares: where the inbox is and which database to use."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from sqlalchemy.engine import Engine

from dealer360 import db
from dealer360.settings import get_settings


class Dealer360(dg.ConfigurableResource):
    """The inbox to land and the database to land it in (embedded unless DATABASE_URL is set)."""

    inbox: str = ""
    progress: bool = False

    def inbox_path(self) -> Path:
        return Path(self.inbox) if self.inbox else get_settings().inbox

    def engine(self) -> Engine:
        engine = db.connect_checked()
        db.migrate(engine)
        return engine
