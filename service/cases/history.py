"""Reads behind the case page: what was done at each step, who did what and when, and the diagrams.

Everything is scoped by the actor's view of the case (`permissions.case_scope`): the lead institution, the
funding agency and auditors see it all; a partner institution or consulted ministry sees the steps routed to
its own organization (`task_routes`), whoever did them; researchers see the summary only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import model_cache
from ..auth.permissions import CaseScope, View
from ..designer import names
from ..designer.store import form_json, specs_for, version_files
from ..models import Case, ConsultationThread, Event, TaskRoute, User, WorkItem
from ..notifications.texts import N_, text
from . import private_steps
from .routing import task_titles

# a consultation between the FA and the lead (service/consultations), told as a sentence on the timeline
CONSULTATION_ACTIONS = ("consultation_opened", "consultation_answered", "consultation_closed")
_CONSULTATION_SENTENCES = {
    ("consultation_opened", "fa"): N_("The funding agency asked the institution: %(title)s"),
    ("consultation_opened", "institution"): N_("The institution asked the funding agency: %(title)s"),
    ("consultation_answered", "fa"): N_("The funding agency replied in the consultation: %(title)s"),
    ("consultation_answered", "institution"): N_("The institution replied in the consultation: %(title)s"),
    ("consultation_closed", "fa"): N_("The funding agency closed the consultation: %(title)s"),
    ("consultation_closed", "institution"): N_("The institution closed the consultation: %(title)s"),
}
# events people care about (engine bookkeeping such as `engine_steps` stays in the audit log)
TIMELINE_ACTIONS = ("case_started", "task_completed", "task_claimed", "task_released", "task_assigned",
                    "message_delivered", "timer_fired", "engine_error", "case_retried", "attachment_added",
                    "submission_frozen", *CONSULTATION_ACTIONS)
_PROCESS = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?process\b[^>]*?\bid=\"([^\"]+)\"")
# the procedure names elements "日本語 (English)"
_BILINGUAL = re.compile(
    r"^(?P<ja>.*[\u3040-\u30ff\u4e00-\u9fff].*?)\s*[(（](?P<en>[^()（）]*[A-Za-z][^()（）]*)[)）]\s*$"
)


def bilingual(name: str, lang: str) -> str:
    """One language of an element name written "日本語 (English)"; other names as they are."""
    match = _BILINGUAL.match(name or "")
    if not match:
        return name or ""
    return match["en"].strip() if lang == "en" else match["ja"].strip()


# flow and gateway labels written "日本語 english" (受理 accept, 差戻し→① return)
_SPACED = re.compile(r"^(?P<ja>.*[\u3040-\u30ff\u4e00-\u9fff][^A-Za-z]*?)\s+(?P<en>[A-Za-z][A-Za-z .,'-]*)$")
_BPMN_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def diagram_name(name: str, lang: str, words: dict | None = None) -> str:
    """An element name as the reader's language shows it: "日本語 (English)" and "日本語 english" split, and
    a code that `words` knows (a lane's role, a flow's variant, a message) as that word."""
    name = name or ""
    code, _at, where = name.partition("@")
    if words and code in words:
        return f"{words[code]}（{words[where]}）" if where and where in words else str(words[code])
    if _BILINGUAL.match(name):
        return bilingual(name, lang)
    match = _SPACED.match(name)
    if match:
        return match["en"].strip() if lang == "en" else match["ja"].strip()
    return name


def localized_diagram(xml: bytes, lang: str, *, title=None, words: dict | None = None) -> bytes:
    """The BPMN file the diagram viewer draws, its element names in the reader's language (the stored file is
    bilingual; this is only what is drawn). `title(element_id)` names an element (a task by its form's title)."""
    from lxml import etree

    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError:
        return xml
    for node in root.iter(f"{{{_BPMN_MODEL}}}*"):
        name = node.get("name")
        if not name or etree.QName(node).localname in ("message", "signal", "error", "escalation"):
            continue
        shown = title(node.get("id")) if title and node.get("id") else ""
        node.set("name", shown or diagram_name(name, lang, words))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True)
class Element:
    element_id: str
    name: str
    process_id: str
    form: str | None
    kind: str


@dataclass(frozen=True)
class CallLink:
    element_id: str
    name: str
    process_id: str


@dataclass
class ModelMap:
    """What a model version says about its elements, for one entry process and everything it calls."""

    elements: dict[str, Element] = field(default_factory=dict)
    process_files: dict[str, str] = field(default_factory=dict)
    calls: dict[str, list[CallLink]] = field(default_factory=dict)
    process_names: dict[str, str] = field(default_factory=dict)

    def title(self, session: Session, version_id: int, element_id: str | None, lang: str) -> str:
        element = self.elements.get(element_id or "")
        if element is None or not element.name:
            return ""  # an element without a name (a gateway, a start) has no title a person reads: not its id
        if not element.form:
            # a step without a form (a timer, a script, a call) by the names catalog (bpmn/names), else by its
            # name in the model ("日本語 (English)" split)
            named = names.current().element(element_id, lang, self.process_files.get(element.process_id))
            return named or bilingual(element.name, lang)
        ja, en = task_titles(form_json(session, version_id, element.form), element.name)
        return en if lang == "en" else ja


_maps = model_cache.bounded("history_maps", 64)  # (version, process) -> ModelMap


def model_map(session: Session, version_id: int, process_id: str) -> ModelMap:
    """Elements, forms, call activities and the file of each process (versions are immutable: cached)."""
    return _maps.get((version_id, process_id), lambda: _model_map(session, version_id, process_id))


def _model_map(session: Session, version_id: int, process_id: str) -> ModelMap:
    found = ModelMap()
    for name, content in version_files(session, version_id).items():
        if name.endswith(".bpmn"):
            for match in _PROCESS.finditer(content):
                found.process_files.setdefault(match.group(1).decode(), name)
    spec, subprocess_specs = specs_for(session, version_id, process_id)
    for process in [spec, *subprocess_specs.values()]:
        found.process_names[process.name] = getattr(process, "description", None) or process.name
        links = found.calls.setdefault(process.name, [])
        for task_spec in process.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            kind = type(task_spec).__name__
            props = ((getattr(task_spec, "extensions", None) or {}).get("properties") or {})
            found.elements.setdefault(bpmn_id, Element(
                bpmn_id, getattr(task_spec, "bpmn_name", None) or "", process.name,
                props.get("formJsonSchemaFilename"), kind,
            ))
            if kind in ("CallActivity", "SubWorkflowTask", "TransactionSubprocess"):
                links.append(CallLink(bpmn_id, getattr(task_spec, "bpmn_name", None) or bpmn_id, task_spec.spec))
    return found


def diagram_links(found: ModelMap, process_id: str) -> list[CallLink]:
    """Processes one can open from `process_id`'s diagram: its call activities, also those inside its
    embedded sub-processes (which are drawn in the same file)."""
    links: list[CallLink] = []
    seen: set[str] = set()
    pending = [process_id]
    while pending:
        current = pending.pop(0)
        if current in seen:
            continue
        seen.add(current)
        for link in found.calls.get(current, []):
            if link.process_id in found.process_files:
                if link.process_id != process_id and all(x.process_id != link.process_id for x in links):
                    links.append(link)
            else:
                pending.append(link.process_id)  # embedded: look inside
    return links


def diagram_xml(session: Session, case: Case, process_id: str) -> bytes | None:
    """The BPMN file (as stored in the case's model version) that holds `process_id`, if the case uses it."""
    found = model_map(session, case.model_version_id, case.process_id)
    if process_id != case.process_id and process_id not in found.calls:
        return None
    name = found.process_files.get(process_id)
    return version_files(session, case.model_version_id).get(name) if name else None


@dataclass
class Entry:
    event: Event
    title: str
    actor: str
    withheld: bool = False  # a step its organization keeps to itself (service/cases/private_steps.py)


def task_organizations(session: Session, case_id: int) -> dict[str, int]:
    """Each routed task of the case: the organization it went to (open tasks and done ones)."""
    routes = dict(session.execute(select(TaskRoute.task_id, TaskRoute.organization_id)
                                  .where(TaskRoute.case_id == case_id)).all())
    routes.update(session.execute(select(WorkItem.task_id, WorkItem.organization_id)
                                  .where(WorkItem.case_id == case_id)).all())
    return routes


def history(session: Session, scope: CaseScope, case: Case, lang: str) -> list[Entry]:
    """The case's timeline events the actor may see, oldest first, with step titles and people's names.

    A full view sees every event; a part view only the events of tasks routed to its organizations (events
    that belong to no task, such as the case being opened, are the lead's and the FA's)."""
    if scope.view < View.PART:
        return []
    events = session.scalars(
        select(Event).where(Event.case_id == case.id, Event.action.in_(TIMELINE_ACTIONS)).order_by(Event.seq)
    ).all()
    routes = task_organizations(session, case.id)
    # the consultations are the FA's and the lead's shared part: seen as their threads are (also by the FA
    # before the first submission; not by partners, ministries or researchers)
    consulting = case.kind == "application" and scope.sees(case.funding_agency_id)
    events = [e for e in events if (consulting if e.action in CONSULTATION_ACTIONS
                                    else scope.full or (e.task_id and scope.sees(routes.get(e.task_id))))]
    hidden = private_steps.withheld(session, scope, case, routes)
    user_ids = {e.actor_id for e in events if e.actor_id is not None}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    found = model_map(session, case.model_version_id, case.process_id)
    titles = thread_titles(session, events)
    return [
        Entry(event, consultation_sentence(event, titles, lang) if event.action in CONSULTATION_ACTIONS
              else found.title(session, case.model_version_id, event.element_id, lang),
              names.get(event.actor_id) or event.actor_name, event.task_id in hidden)
        for event in events
    ]


def thread_titles(session: Session, events: list[Event]) -> dict[int, str]:
    ids = {e.data.get("thread") for e in events if e.action in CONSULTATION_ACTIONS and isinstance(e.data, dict)}
    ids.discard(None)
    if not ids:
        return {}
    return dict(session.execute(select(ConsultationThread.id, ConsultationThread.title)
                                .where(ConsultationThread.id.in_(ids))).all())


def consultation_sentence(event: Event, titles: dict[int, str], lang: str) -> str:
    """"The funding agency asked the institution: <the thread's title>", in the reader's language."""
    data = event.data if isinstance(event.data, dict) else {}
    msgid = _CONSULTATION_SENTENCES.get((event.action, data.get("side")))
    title = titles.get(data.get("thread")) or data.get("title") or ""
    return text(lang, msgid, title=title) if msgid else title


def open_items(session: Session, scope: CaseScope, case: Case) -> list[WorkItem]:
    """The case's open tasks the actor may see: all (FULL), their organization's (PART), their own."""
    items = session.scalars(
        select(WorkItem).where(WorkItem.case_id == case.id).order_by(WorkItem.due_at.is_(None), WorkItem.due_at,
                                                                     WorkItem.id)
    ).all()
    return [
        item for item in items
        if scope.sees(item.organization_id) or (scope.user_id is not None and item.assignee_id == scope.user_id)
    ]


def visible_team(scope: CaseScope, case: Case, members: list, partners: list) -> dict:
    """The roster as the actor may see it: all of it (FULL), a partner's own team (PART), nothing else.

    The lead's team belongs to the lead institution; each partner's team to that partner."""
    if scope.full:
        return {"members": members, "partners": partners}
    return {"members": [], "partners": [p for p in partners if isinstance(p, dict)
                                        and _as_int(p.get("organization_id")) is not None
                                        and scope.sees(_as_int(p.get("organization_id")))]}


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass
class Step:
    at: datetime
    actor: str
    title: str
    element_id: str
    form: str | None
    data: dict


def steps(entries: list[Entry], found: ModelMap) -> list[Step]:
    """Submitted forms, from the `task_completed` events among the visible entries."""
    result = []
    for entry in entries:
        event = entry.event
        if event.action != "task_completed" or not isinstance(event.data, dict) or entry.withheld:
            continue
        element = found.elements.get(event.element_id or "")
        result.append(Step(event.at, entry.actor, entry.title, event.element_id or "",
                           element.form if element else None, event.data))
    return result
