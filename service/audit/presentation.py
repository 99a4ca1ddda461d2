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

from .. import model_cache
from ..cases.commands import INSTANCE_KEY
from ..cases.forms import expanded_schema
from ..cases.history import model_map
from ..consultations import described as consultation_record
from ..designer import names
from ..forms import references
from ..forms.schema import label, localize
from ..models import Call, Case, ModelVersion, Organization, Program, User
from ..wording import labels
from ..wording.render import Node, describe, duration_text, person_name

# what an event means, for actions the web UI's labels do not name: a sentence in the reader's language
_MORE_ACTIONS = {
    "engine_steps": _l("Process steps run"),
    "case_migrated": _l("Moved to another model version"),
    "task_data_set": _l("Form pre-filled by tejun"),
    "audit_read": _l("Read by an auditor"),
    "task_data_changed": _l("tejun updated an open form with new information"),
    "designation_applied": _l("The program designation took effect"),
    "disclosure_certified": _l("A disclosure was certified for this case"),
    "disclosure_prefilled": _l("A disclosure form was started from the researcher's profile"),
    "disclosure_profile_changed": _l("A researcher changed their disclosure profile"),
    "disclosure_profile_updated": _l("A disclosure profile was saved"),
    "disclosure_consent_granted": _l("Consent to pre-fill from the profile given"),
    "disclosure_consent_revoked": _l("Consent to pre-fill from the profile withdrawn"),
    "screening_performed": _l("Screened against the restricted-party lists"),
    "screening_skipped": _l("Automatic screening skipped"),
    "screening_failed": _l("Automatic screening could not run"),
    "screening_hit_reviewed": _l("A possible restricted-list match was reviewed"),
    "screening_rescreened": _l("Screened again after a list update"),
    "attachment_shared": _l("A document was shared with another organization"),
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
    return str(_MORE_ACTIONS[action]) if action in _MORE_ACTIONS else _("Recorded event")


def field_titles(session: Session, version_id: int, lang: str) -> dict[str, str]:
    """Every property name of the version's forms with its title in `lang` (first one wins): names for the
    keys of data that no single form describes (case data, event payloads)."""
    version = session.get(ModelVersion, version_id)
    key = (version.content_hash if version is not None else str(version_id), lang)  # ids differ per database
    hit = _titles.peek(key)
    if hit is not None:
        return hit
    from ..designer.store import version_files

    found: dict[str, str] = {}

    def walk(node: Any, depth: int = 0) -> None:
        if depth > 30:
            return
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if isinstance(sub, dict) and isinstance(sub.get("title"), str):
                    found.setdefault(name, sub["title"])
                # a reference list's values are named when the data is shown (the lists change): noted as "name=@"
                if isinstance(sub, dict):
                    items = sub.get("items") if isinstance(sub.get("items"), dict) else {}
                    listed = sub.get("x-reference") or items.get("x-reference")
                    if isinstance(listed, str):
                        found.setdefault(f"{name}=@", listed)
                # its choices too, as "name=value" (an array's under the array's name)
                choices = sub.get("items") if isinstance(sub, dict) and isinstance(sub.get("items"), dict) else sub
                for option in (choices or {}).get("oneOf") or (choices or {}).get("anyOf") or []:
                    if isinstance(option, dict) and "const" in option and isinstance(option.get("title"), str):
                        found.setdefault(f"{name}={option['const']}", option["title"])
            for value in node.values():
                walk(value, depth + 1)
        elif isinstance(node, list):
            for value in node:
                walk(value, depth + 1)

    import json

    for name, content in sorted(version_files(session, version_id).items()):
        if name.endswith(".schema.json"):
            try:
                walk(localize(json.loads(content), lang))
            except ValueError:
                continue
    _titles.put(key, found)
    return found


_titles = model_cache.bounded("field_titles", 256)  # (model content hash, language) -> field and choice titles


class Describer:
    """Titles of elements and readable form data, per model version (cases may move between versions)."""

    def __init__(self, session: Session, case: Case, lang: str):
        self.session, self.case, self.lang = session, case, lang
        self._versions: dict[str | None, int] = {}
        self._titles: dict[int, dict[str, str]] = {}

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
            return ""
        element = found.elements.get(element_id)
        if element is not None and element.name and not element.form:  # a task with a form is named by it
            named = names.current().element(element_id, self.lang, found.process_files.get(element.process_id))
            if named:
                return named
        return found.title(self.session, version_id, element_id, self.lang)

    def titles(self, model_hash: str | None = None) -> dict[str, str]:
        """Names of data keys and of their values ("key=value"): the names catalog (bpmn/names/data.json), then
        the version's forms (a form names a field for its own context, the catalog for the case data); values
        of reference lists and of ids (organizations, programmes, calls) by the record's name in the reader's
        language."""
        version_id = self.version_id(model_hash)
        if version_id in self._titles:
            return self._titles[version_id]
        catalog = names.current()
        found = {**field_titles(self.session, version_id, self.lang), **catalog.titles(self.lang)}
        found.update({f"{key}=@": listed for key, listed in catalog.lists().items()})
        lookup = references.provider(self.session)
        for key, listed in [(k[:-2], v) for k, v in found.items() if k.endswith("=@")]:
            del found[f"{key}=@"]
            try:
                entries = lookup(listed)
            except LookupError:
                continue
            for value, text in entries:
                found.setdefault(f"{key}={value}", label(text, self.lang))
        for key, kind in catalog.kinds().items():
            for value, text in self._records(kind).items():
                found.setdefault(f"{key}={value}", text)
        self._titles[version_id] = found
        return found

    def _records(self, kind: str) -> dict[Any, str]:
        """id -> name of the records an id-valued variable points at, in the reader's language."""
        model = {"organization": Organization, "program": Program, "call": Call}.get(kind)
        if model is None:
            return {}
        english = model.name_en if model is Organization else model.title_en
        native = model.name if model is Organization else model.title
        rows = self.session.execute(select(model.id, native, english)).all()
        return {row[0]: (row[2] if self.lang == "en" and row[2] else row[1]) for row in rows}

    def plain(self, model_hash: str | None, data: Any) -> Node:
        """Data no one form describes, its keys named by the version's forms and the names catalog; the
        catalog's internal variables left out (they stay in the record)."""
        return describe(None, without_internal(data), titles=self.titles(model_hash))

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
        shown = without_internal({k: v for k, v in data.items() if k != INSTANCE_KEY})
        return describe(schema, shown, titles=self.titles(model_hash))


def without_internal(data: Any) -> Any:
    """`data` without the variables the names catalog marks internal, at any depth."""
    hidden = names.current().internal
    if not hidden:
        return data

    def strip(value: Any, depth: int = 0) -> Any:
        if depth > 30:
            return value
        if isinstance(value, dict):
            return {k: strip(v, depth + 1) for k, v in value.items() if k not in hidden}
        if isinstance(value, list):
            return [strip(v, depth + 1) for v in value]
        return value

    return strip(data)


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
        # automatic steps by their names; unnamed ones (gateways, joins) are not named to people
        titles = [t for t in (describer.title(model_hash, element) for element in data.get("completed") or []) if t]
        return None, ["、".join(dict.fromkeys(titles))] if titles else []
    if action == "engine_error":
        return None, [str(data.get("message") or "")]
    if action == "task_assigned":
        return None, [_("to %(name)s", name=person_name(data.get("to_username")) or data.get("to_user_id"))]
    if action == "message_delivered":
        payload = data.get("payload") or {}
        return (describer.plain(model_hash, payload) if payload else None), [
            labels.pick(data.get("message"), labels.MESSAGES)]
    if action in ("task_data_set", "task_data_changed"):
        changed = data.get("set") or {}
        return (describer.data(model_hash, event.get("element_id"), changed) if changed else None), []
    if action in ("disclosure_certified", "disclosure_prefilled"):
        who = person_name(data.get("username")) or data.get("member_id") or ""
        notes = [_("%(name)s, certified on %(date)s", name=who, date=data.get("certification_date") or "—")
                 if action == "disclosure_certified" else str(who)]
        if data.get("filled_by"):
            notes.append(_("filled in by the researcher") if data["filled_by"] == "self"
                         else _("filled in by the research-security office"))
        return None, notes
    if action == "disclosure_profile_changed":
        titles = describer.titles(model_hash)
        sections = [titles.get(s, s) for s in data.get("changed_sections") or []]
        return None, [_("%(name)s changed: %(sections)s", name=person_name(data.get("username")),
                        sections="、".join(sections) or "—")]
    if action == "screening_skipped":
        return None, [_("No restricted-party list has been imported yet (%(count)d to screen).",
                        count=int(data.get("subjects") or 0))]
    if action == "screening_failed":
        return None, [_("The security officer screens by hand."), str(data.get("error") or "")]
    if action in ("screening_performed", "screening_rescreened"):
        hits = data.get("hits") if action == "screening_performed" else data.get("new_hits")
        subjects = data.get("subjects")
        notes = [_("%(count)d possible matches", count=len(hits or []))]
        if isinstance(subjects, list):
            notes.insert(0, _("%(count)d people and organizations screened", count=len(subjects)))
        return None, notes
    if action == "screening_hit_reviewed":
        return None, [f"{data.get('subject_name') or ''} / {data.get('entry_name') or ''}",
                      str(data.get("reason") or "")]
    if action == "designation_applied":
        interval = duration_text(data.get("follow_up_interval") or "", describer.lang) or "—"
        return None, [_("Program %(program)s, call %(call)s; follow-up every %(interval)s; risk management due "
                        "%(due)s", program=data.get("program_code") or "", call=data.get("call_code") or "",
                        interval=interval, due=data.get("risk_deadline") or "—")]
    if action == "attachment_shared":
        return None, [str(data.get("name") or "")]
    if action == "audit_read":
        return None, [str(data.get("path") or "")]
    if action == "case_migrated":
        return None, [_("from model version %(old)s to %(new)s", old=str(data.get("from_hash") or "")[:12],
                        new=str(data.get("to_hash") or "")[:12])]
    if action == "case_started":
        return None, [str(data.get("title") or "")]
    if action in consultation_record.CONSULTATION_ACTIONS:
        return None, consultation_record.notes(describer.session, action, data, describer.lang)
    if data and action not in ("task_claimed", "task_released"):
        return describer.plain(model_hash, data), []
    return None, []
