"""Reads of the auditor's pages (service/web/audit.py), each opening its own session, checking that the actor
sees the case in FULL (NotFound otherwise) and returning what the page shows as plain values (the page renders
after the session closed)."""

from __future__ import annotations

from datetime import UTC, datetime

from .. import clock
from ..auth.actor import Actor
from ..auth.permissions import View, case_view
from ..cases import queries
from ..cases.history import diagram_links, model_map
from ..cases.views import viewer_xml
from ..designer.store import version_files
from ..eventlog.anchors import latest_anchor, load_anchors
from ..eventlog.chain import case_stream
from ..eventlog.verify import verify
from .presentation import Describer, timeline
from .reads import versions_of
from .replay import ReplayFailed, first_difference, point_in_time, stored_state


def _readable_case(session, actor: Actor, case_id: int):
    return queries.get_case(session, actor, case_id, View.FULL)[0]


def case_list(svc, actor: Actor, search: str | None, page: int):
    """A page of the cases matching `search` and those of them whose history the actor may read (FULL)."""
    with svc.db.reader() as session:
        found = queries.list_cases(session, actor, search=search, page=page)
        return found, [c for c in found.items if case_view(actor, c) >= View.FULL]


def history(svc, actor: Actor, case_id: int, seq: int | None, process_id: str | None, lang: str) -> dict:
    """The case after event `seq` (the last one when None): the replayed moment, its tasks, waits, changes and
    timeline described in `lang`, the diagram's process, and the stream's integrity. On a replay that fails:
    {"case", "failed", "integrity"}."""
    time_limit = svc.settings.script_time_limit
    with svc.db.reader(streaming=True) as session:  # the integrity check reads the stream through a cursor
        case = _readable_case(session, actor, case_id)
        try:
            moment = point_in_time(session, case, seq, time_limit=time_limit)
        except ReplayFailed as exc:
            return {"case": case, "failed": str(exc), "integrity": integrity(session, case)}
        events = moment["events"]
        seq = moment["event"]["seq"]
        view = moment["view"]
        latest = seq == events[-1]["seq"]
        replay_check = None
        if latest and not moment["differences"]:
            # the replayed state after the last event against what is stored: the same check as `audit replay`
            moment["replay"].finish()
            replay_check = {"difference": (
                str(moment["replay"].differences[0]) if moment["replay"].differences else
                first_difference(stored_state(session, case, time_limit), moment["replay"].final_state()))}
        describer = Describer(session, case, lang)
        process_id = process_id or case.process_id
        version_id = view["model_version_id"] or case.model_version_id
        found = model_map(session, version_id, case.process_id)
        if process_id not in found.process_files:
            process_id = case.process_id
        model_hash = view["model_hash"]
        changes = moment["changes"]
        current = moment["event"]
        return {
            "case": case, "failed": None, "moment": moment, "view": view, "seq": seq, "latest": latest,
            "replay_check": replay_check, "version_id": version_id, "process_id": process_id, "changes": changes,
            "tasks": [{**task, "title": describer.title(model_hash, task["element_id"]),
                       "node": describer.data(model_hash, task["element_id"], task["data"])}
                      for task in view["tasks"]],
            "waiting": [{**w, "title": describer.title(model_hash, w["element_id"])} for w in view["waiting"]],
            # steps by their names (unnamed gateways and joins are not listed)
            "changed_steps": [t for t in (describer.title(model_hash, e) for e in changes["completed"]) if t],
            "opened": [t for t in (describer.title(model_hash, e) for e in changes["opened"]) if t],
            "closed": [t for t in (describer.title(moment["before"]["model_hash"], e) for e in changes["closed"])
                       if t],
            "titles": describer.titles(model_hash),
            "current_title": describer.title(model_hash, current.get("element_id"))
            if current.get("element_id") else "",
            "rows": timeline(session, case, events, lang),
            "case_data": describer.plain(model_hash, view["data"]),
            "links": [{"process_id": link.process_id, "name": describer.title(model_hash, link.element_id)
                       or link.name} for link in diagram_links(found, process_id)],
            "integrity": integrity(session, case),
        }


def integrity(session, case) -> dict:
    """The case stream checked now (every hash), and where the latest anchor stands for it."""
    anchors = load_anchors(session)
    report = verify(session.connection(), stream=case_stream(case.id), anchors=anchors)
    anchor = latest_anchor(session)
    anchored_seq = None
    for item in reversed(anchors):
        entry = next((seq for name, seq, _h in item["changed"] if name == case_stream(case.id)), None)
        if entry is not None:
            anchored_seq = entry
            break
    return {
        "ok": report.ok, "problems": [str(p) for p in report.problems[:5]], "events": report.events,
        "anchor": anchor, "anchored_seq": anchored_seq,
        "anchor_at": datetime.fromisoformat(anchor["created_at"]) if anchor else None,
    }


def diagram_xml(svc, actor: Actor, case_id: int, version_id: int, process_id: str, lang: str) -> bytes | None:
    """A diagram of a model version the case ran on, names in `lang` (the names catalog's first, then the forms'
    titles and the roles); None when the version or process is not the case's."""
    from ..designer import names

    with svc.db.reader() as session:
        case = _readable_case(session, actor, case_id)
        if version_id not in versions_of(session, case):
            return None
        found = model_map(session, version_id, case.process_id)
        name = found.process_files.get(process_id)
        xml = version_files(session, version_id).get(name) if name else None
        if xml is None:
            return None
        return viewer_xml(session, version_id, case.process_id, names.localize_xml(xml, lang, model=name), lang)


def dossier(svc, actor: Actor, case_id: int, lang: str) -> tuple[str, bytes]:
    """The case's dossier (zip) made for the actor now, and its file name."""
    from .dossier_export import export_dossier

    with svc.db.reader() as session:
        case = _readable_case(session, actor, case_id)
        content = export_dossier(session, case, created_by=actor.username, lang=lang)
        return f"{case.reference}-dossier-{clock.now().astimezone(UTC):%Y%m%dT%H%M%SZ}.zip", content
