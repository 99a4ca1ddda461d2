"""Reference data shipped with tejun: critical technology areas (versioned), mitigation catalog, risk levels.

The JSON files in `data/` are the seed for the database tables in `service.models.reference`; these
loaders return plain data (lists of dicts) and never touch the database. See `data/README.md`.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")
_AREA_FILE = re.compile(r"^technology_areas\.(?P<version>[^/]+)\.json$")


def _read(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def technology_area_versions() -> list[str]:
    """Versions of the critical technology areas list present in `data/`, oldest first."""
    versions = [m["version"] for p in DATA_DIR.glob("technology_areas.*.json") if (m := _AREA_FILE.match(p.name))]
    return sorted(versions, key=lambda v: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", v)])


@lru_cache(maxsize=8)
def _areas(version: str) -> dict:
    path = DATA_DIR / f"technology_areas.{version}.json"
    if not _AREA_FILE.match(path.name) or not path.is_file():
        raise KeyError(f"no technology areas list with version {version!r}")
    return _read(path.name)


def technology_areas(version: str | None = None) -> dict:
    """One version of the list (default: the newest): `{"version", "title", "title_en", "areas": [...]}`.

    Each area is `{"code": "1", "ja": "バイオ技術", "en": "Biotechnology"}`. A fresh copy each call.
    """
    if version is None:
        versions = technology_area_versions()
        if not versions:
            raise KeyError("no technology areas list in service/reference/data")
        version = versions[-1]
    return json.loads(json.dumps(_areas(str(version))))


def mitigation_catalog() -> list[dict]:
    """The measures M1–M15 and M99: `{"code", "ja", "en", "description_ja", "description_en", "free_text"}`."""
    return _read("mitigation_catalog.json")["measures"]


def risk_levels() -> list[dict]:
    """Levels L0–L4 in rank order: `{"code", "rank", "ja", "en", "meaning_ja", "meaning_en"}`."""
    return sorted(_read("risk_levels.json")["levels"], key=lambda level: level["rank"])
