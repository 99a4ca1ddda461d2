"""Cache-busting for the built bundles: `?v=<content hash>` from static/vendor/manifest.json."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"
CSS = Path(__file__).resolve().parent / "static" / "css"


@cache
def _manifest() -> dict:
    try:
        return json.loads((VENDOR / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def version_of(name: str) -> str:
    """The bundle's short hash, or the file's modification time for hand-written CSS."""
    entry = _manifest().get(name)
    if entry:
        return entry.get("hash", "")
    path = CSS / name.removeprefix("css/")
    try:
        return str(int(path.stat().st_mtime))
    except OSError:
        return ""
