"""What every use case needs from the running application: settings and the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import Settings
from .db import Database

if TYPE_CHECKING:
    from .attachments.storage import EvidenceStore


@dataclass
class Services:
    settings: Settings
    db: Database
    # where evidence bytes live (service/attachments/storage.py), chosen once from the settings
    evidence: EvidenceStore | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        from .attachments.storage import build_store

        return cls(settings=settings, db=Database(settings.database_url, settings.db_pool_size),
                   evidence=build_store(settings))
