"""Making a case dossier (service/audit/dossier.py says what it holds and checks it offline): the case's events,
model files, submission packages, the replay's result and the printable report. Needs the application (the
report is a Flask template) and its database; checking a dossier needs neither."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from ..eventlog.hashing import HASHED_FIELDS, dumps, iso
from ..eventlog.offline import check_stream
from .dossier import EVENTS, FORMAT, MANIFEST, REPORT


def export_dossier(session, case, *, created_by: str, lang: str = "ja") -> bytes:
    """The dossier of one case as zip bytes (call inside an application context, for the report)."""
    from flask import render_template
    from flask_babel import force_locale
    from sqlalchemy import select

    from .. import clock
    from ..designer.store import version_files
    from ..eventlog.anchors import load_anchors
    from ..eventlog.chain import case_stream
    from ..eventlog.offline import check_chain as chain_of
    from ..models import Event, ModelVersion, Organization
    from .presentation import timeline
    from .replay import replay_and_compare

    stream = case_stream(case.id)
    table = Event.__table__
    rows = session.execute(select(table).where(table.c.stream == stream).order_by(table.c.seq)).mappings().all()
    events = []
    for row in rows:
        event = {name: row[name] for name in (*HASHED_FIELDS, "hash", "id")}
        event["at"] = iso(row["at"])
        events.append(event)
    problem = check_stream(events, stream)
    anchors = chain_of(load_anchors(session))
    anchored = [
        {"seq": a["seq"], "hash": a["hash"], "created_at": a["created_at"], "heads_digest": a["heads_digest"],
         "stream_seq": seq, "stream_hash": head}
        for a in anchors.anchors for name, seq, head in a["changed"] if name == stream
    ]
    hashes = list(dict.fromkeys(e["model_hash"] for e in events if e["model_hash"]))
    versions = []
    files: dict[str, bytes] = {}
    for content_hash in hashes:
        found = session.scalars(select(ModelVersion).where(ModelVersion.content_hash == content_hash)).all()
        if not found:
            continue
        version = next((v for v in found if v.id == case.model_version_id), found[0])
        for name, content in sorted(version_files(session, version.id).items()):
            files[f"models/{content_hash}/{name}"] = content
        versions.append({"hash": content_hash, "id": version.id, "set": version.set_name,
                         "published_at": iso(version.published_at) if version.published_at else None})
    result = replay_and_compare(session, case)
    orgs = {o.id: o for o in session.scalars(select(Organization).where(
        Organization.id.in_([case.funding_agency_id, case.lead_institution_id or 0])))}
    now = clock.now()
    summary = {
        "id": case.id, "reference": case.reference, "title": case.title, "status": case.status,
        "outcome": case.outcome, "stage": case.stage, "risk_level": case.risk_level, "variant": case.variant,
        "process_id": case.process_id, "model_version_id": case.model_version_id,
        "funding_agency": orgs[case.funding_agency_id].name if case.funding_agency_id in orgs else None,
        "lead_institution": orgs[case.lead_institution_id].name if case.lead_institution_id in orgs else None,
        "program": case.program.code if case.program else None,
        "created_at": iso(case.created_at),
    }
    # people read names in the report's language: the maker's display name, organizations, the program's title

    from ..models import User

    def named(org):
        return (org.name_en or org.name) if lang == "en" else org.name

    shown = {
        "created_by": session.scalar(select(User.display_name).where(User.username == created_by)) or created_by,
        "funding_agency": named(orgs[case.funding_agency_id]) if case.funding_agency_id in orgs else None,
        "lead_institution": named(orgs[case.lead_institution_id]) if case.lead_institution_id in orgs else None,
        "program": ((case.program.title_en or case.program.title) if lang == "en" else case.program.title)
        if case.program else None,
        "process": _process_name(session, case, lang),
    }
    with _request_context(), force_locale(lang):
        report = render_template(
            "audit/report.html", case=case, summary=summary, rows=timeline(session, case, _with_times(events), lang),
            events=events, head=events[-1] if events else None, chain_problem=problem, anchored=anchored,
            latest_anchor=anchors.latest, replay=result, versions=versions, created_at=now,
            created_by=shown["created_by"], shown=shown, report_lang=lang,
        ).encode()
    from ..cases.submissions import packages as submission_packages

    submitted = []
    for package in submission_packages(session, case):
        name = f"submissions/round-{package.round}.json"
        files[name] = package.content.encode()
        submitted.append({"round": package.round, "kind": package.kind, "sha256": package.sha256, "file": name,
                          "submitted_at": iso(package.created_at), "submitted_by": package.submitted_by_name})
    files[EVENTS] = "".join(dumps(e) + "\n" for e in events).encode()
    files[REPORT] = report
    manifest = {
        "format": FORMAT,
        "created_at": iso(now),
        "created_by": created_by,
        "case": summary,
        "stream": stream,
        "head": {"seq": events[-1]["seq"], "hash": events[-1]["hash"]} if events else {"seq": 0, "hash": None},
        "chain": "intact" if problem is None else problem,
        "anchors": anchored,
        "submissions": submitted,
        "model_versions": versions,
        "replay": {"identical": result.identical, "events": result.events,
                   "first_difference": str(result.first) if result.first else None},
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in sorted(files.items())},
        "verify_with": "python -m service.audit.dossier verify THIS_FILE [--anchors ANCHORS.jsonl]",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
        for name, content in sorted(files.items()):
            archive.writestr(name, content)
    return buffer.getvalue()


def export_case_dossier(svc, case_id: int, *, created_by: str, lang: str = "ja") -> tuple[str, bytes] | None:
    """`export_dossier` of one case in a read session of its own: (the case's reference, the file), or None
    when there is no such case."""
    from ..models import Case

    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        if case is None:
            return None
        return case.reference, export_dossier(session, case, created_by=created_by, lang=lang)


def _process_name(session, case, lang: str) -> str:
    from ..cases.history import bilingual, model_map

    try:
        names = model_map(session, case.model_version_id, case.process_id).process_names
    except LookupError:
        return case.process_id
    return bilingual(names.get(case.process_id) or case.process_id, lang)


def _request_context():
    """Templates build links (url_for): outside a request (the CLI) give them one for the configured base URL."""
    from contextlib import nullcontext

    from flask import current_app, has_request_context

    if has_request_context():
        return nullcontext()
    return current_app.test_request_context(base_url=current_app.extensions["tejun"].settings.base_url)


def _with_times(events: list[dict]) -> list[dict]:
    from datetime import datetime

    return [{**e, "at": datetime.fromisoformat(e["at"])} for e in events]
