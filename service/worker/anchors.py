"""The daily audit anchor (service/eventlog/anchors.py), made by whichever timer worker gets there first."""

from __future__ import annotations

import logging

from ..eventlog.anchors import AnchorRefused, ensure_daily_anchor
from ..services import Services

log = logging.getLogger("tejun.worker")


def anchor_daily(svc: Services) -> None:
    """Anchor the event log when the latest anchor is a day old; a refusal means tampering: say so loudly."""
    try:
        anchor = ensure_daily_anchor(svc)
    except AnchorRefused as exc:
        log.error("audit anchor refused, the event log went backwards (run `flask --app wsgi audit verify`): %s", exc)
        return
    except Exception:
        log.exception("making the daily audit anchor failed; trying again next round")
        return
    if anchor is not None:
        log.info("audit anchor %d: %d streams, %d events", anchor["seq"], anchor["stream_count"],
                 anchor["event_count"])
