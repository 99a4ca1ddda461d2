"""What every use case needs from the running application: settings and the database."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings
from .db import Database


@dataclass
class Services:
    settings: Settings
    db: Database

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(settings=settings, db=Database(settings.database_url, settings.db_pool_size))
