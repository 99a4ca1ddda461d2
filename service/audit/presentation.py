"""A case's recorded history as people read it (auditor pages and the printable report).

Needs an application context (translations, the web UI's labels and form rendering).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..cases.commands import INSTANCE_KEY
from ..cases.forms import expanded_schema
from ..cases.history import model_map
from ..forms.schema import localize
from ..models import Case, ModelVersion, User
from ..web import labels
from ..web.render import Node, describe

# what an event means, for actions the web UI's labels do not name
_MORE_ACTIONS = {
    "engine_steps": _l("Process steps run"),
    "case_migrated": _l("Moved to another model version"),
    "task_data_set": _l("Form pre-filled by tejun"),
    "audit_read": _l("Read by an auditor"),
}


@dataclass
class Row:
    """One event of the timeline."""

    seq: int
    at: datetime
    actor: str
    automatic: bool
    action: str
    label: str
    step: str
    details: Node | None = None
    notes: list[str] = field(default_factory=list)
    hash: str = ""
    prev_hash: str = ""
    model_hash: str | None = None


def action_label(action: str) -> str:
    if action in labels.ACTIONS:
        return str(labels.ACTIONS[action])
    return str(_MORE_ACTIONS[action]) if action in _MORE_ACTIONS else action


class Describer:
    """Titles of elements and readable form data, per model version (cases may move between versions)."""

    def __init__(self, session: Session, case: Case, lang: str):
        self.session, self.case, self.lang = session, case, lang
        self._versions: dict[str | None, int] = {}

    def version_id(self, model_hash: str | None) -> int:
        if model_hash not in self._versions:
            found = self.session.scalars(
                select(ModelVersion.id).where(ModelVersion.content_hash == model_hash)
            ).all() if model_hash else []
            self._versions[model_hash] = (self.case.model_version_id if self.case.model_version_id in found
                                          or not found else min(found))
        return self._versions[model_hash]

    def title(self, model_hash: str | None, element_id: str | None) -> str:
        if not element_id:
            return ""
        version_id = self.version_id(model_hash)
        try:
            found = model_map(self.session, version_id, self.case.process_id)
        except LookupError:
            return element_id
        return found.title(self.session, version_id, element_id, self.lang)

    def data(self, model_hash: str | None, element_id: str | None, data: dict) -> Node:
        version_id = self.version_id(model_hash)
        schema = None
        try:
            element = model_map(self.session, version_id, self.case.process_id).elements.get(element_id or "")
        except LookupError:
            element = None
        if element is not None and element.form:
            expanded = expanded_schema(self.session, SimpleNamespace(model_version_id=version_id), element.form)
            schema = localize(expanded, self.lang) if expanded else None
        return describe(schema, {k: v for k, v in data.items() if k != INSTANCE_KEY})


def timeline(session: Session, case: Case, events: list[dict], lang: str) -> list[Row]:
    """Every event of the case's stream, described (claims, engine steps and errors included)."""
    describer = Describer(session, case, lang)
    user_ids = {e["actor_id"] for e in events if e.get("actor_id")}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    rows = []
    for event in events:
        data = event.get("data") or {}
        row = Row(
            seq=event["seq"], at=event["at"],
            actor=names.get(event.get("actor_id")) or event.get("actor_name") or "",
            automatic=event.get("actor_id") is None, action=event["action"], label=action_label(event["action"]),
            step=describer.title(event.get("model_hash"), event.get("element_id")),
            hash=event.get("hash", ""), prev_hash=event.get("prev_hash", ""), model_hash=event.get("model_hash"),
        )
        row.details, row.notes = _details(describer, event, data)
        rows.append(row)
    return rows


def _details(describer: Describer, event: dict, data: dict[str, Any]) -> tuple[Node | None, list[str]]:
    action, model_hash = event["action"], event.get("model_hash")
    if action == "task_completed":
        notes = [_("instance %(number)d of several", number=data[INSTANCE_KEY] + 1)] if INSTANCE_KEY in data else []
        return describer.data(model_hash, event.get("element_id"), data), notes
    if action in ("engine_steps", "timer_fired"):
        titles = [describer.title(model_hash, element) for element in data.get("completed") or []]
        return None, [", ".join(dict.fromkeys(titles))] if titles else []
    if action == "engine_error":
        return None, [str(data.get("message") or "")]
    if action == "task_assigned":
        return None, [_("to %(name)s", name=data.get("to_username") or data.get("to_user_id"))]
    if action == "message_delivered":
        payload = data.get("payload") or {}
        return (describe(None, payload) if payload else None), [str(data.get("message") or "")]
    if action == "case_migrated":
        return None, [_("from model version %(old)s to %(new)s", old=str(data.get("from_hash") or "")[:12],
                        new=str(data.get("to_hash") or "")[:12])]
    if action == "case_started":
        return None, [str(data.get("title") or "")]
    if data and action not in ("task_claimed", "task_released"):
        return describe(None, data), []
    return None, []
