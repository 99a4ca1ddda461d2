"""What the institution submits to the FA, frozen as versioned packages, and what changed between rounds.

**Where a submission happens is the model's to say.** A user task whose completion hands the institution's work
to the FA carries two properties (docs/modeling.md, docs/procedure.md §3):

| property | value |
| --- | --- |
| `submitsToFundingAgency` | `true`, or a condition over the task's data with the submitted form in it, e.g. |
|                          | `institutional_approval["decision"] == "approve"` (a return for rework submits nothing) |
| `submissionKind` | what kind of round it is: `initial`, `information_response`, `additional_mitigation`, ... |

A designer moves the submission by moving the properties. When such a task is completed and the condition
holds, `complete_task` freezes a package in the same transaction (`freeze`): the case's data as the FA
receives it, i.e. after the model's own scripts that follow the task ran (`submit_to_fa`,
`record_information_response`, `apply_additional_mitigation`), read as the case sees it (`CaseWorkflow.lookup`):

* ① identification: the team (members, partners), who disclosed (not what: the disclosures stay steps of the
  case), the partners' due-diligence results, managed data, screening results;
* ② assessment: technology sensitivity, proposed and final level, override, findings per subject with their
  factor levels; the case-wide risk level;
* ③ mitigation: the plan (summary, feasibility) and its measures;
* the submission record, the FA's questions with the answers given, the additional-mitigation rounds;
* the evidence files of the institution and its partners (name, type, size, SHA-256; not the bytes).

The package is canonical JSON (`eventlog.hashing.dumps`); its SHA-256 goes into the `submission_frozen` event of
the case stream (audit chain, dossier). Replays ignore that event: it records what was sent, it does not move
the case (service/audit/replay.py).

Cases whose model declares a submitting task start with `Case.fa_submission = "awaiting"`; the first package
makes it `"submitted"`. Until then the FA sees only its own part of the case (`permissions.case_scope`,
docs/security.md "Before the institution submits").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..auth.permissions import CaseScope
from ..engine.runtime import CaseWorkflow, EngineError, HumanTask
from ..errors import N_
from ..eventlog.hashing import dumps, iso
from ..models import Attachment, Case, SubmissionPackage, WorkItem

PROPERTY = "submitsToFundingAgency"
KIND_PROPERTY = "submissionKind"
FORMAT = "tejun-submission/1"
AWAITING, SUBMITTED = "awaiting", "submitted"

KINDS = {
    "initial": N_("Risk management results (first submission)"),
    "information_response": N_("Answer to the FA's questions"),
    "additional_mitigation": N_("Additional mitigation"),
}


# -- the model's say ----------------------------------------------------------------------------------------
def declares_submission(spec, subprocess_specs: dict) -> bool:
    """Does the model (an entry process and everything it calls) name a task that submits to the FA?"""
    for process in [spec, *subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
            if (props.get(PROPERTY) or "").strip():
                return True
    return False


def submitting(flow: CaseWorkflow, task: HumanTask, data: dict) -> str | None:
    """The kind of submission completing `task` with `data` makes, or None when it submits nothing.

    Call after the task was completed (`task` taken before): a model error here stops the case in error like
    any other, after the engine's own steps, so replays (which do not evaluate this) end in the same state."""
    expression = (task.properties.get(PROPERTY) or "").strip()
    if not expression or expression.lower() in ("false", "no"):
        return None
    if expression.lower() not in ("true", "yes"):
        try:
            holds = _evaluate(flow, expression, {**task.data, **data})
        except Exception as exc:  # a wrong expression is the model's error, reported on its element
            raise EngineError(f"{PROPERTY} {expression!r}: {exc}", task.element_id) from exc
        if not holds:
            return None
    return (task.properties.get(KIND_PROPERTY) or "submission").strip()[:32]


def _evaluate(flow: CaseWorkflow, expression: str, context: dict) -> bool:
    """In the sandbox the case's own scripts and conditions run in (time limit, vetted evaluator)."""
    return bool(flow.wf.script_engine.environment.evaluate(expression, context))


# -- freezing -----------------------------------------------------------------------------------------------
def freeze(change, item: WorkItem, kind: str) -> SubmissionPackage:
    """Freeze the package of this submission, record `submission_frozen` (with its hash) in the case stream and
    mark the case submitted: all in the change's transaction."""
    session, case = change.session, change.case
    last = session.scalar(select(func.max(SubmissionPackage.round)).where(SubmissionPackage.case_id == case.id))
    round_no = (last or 0) + 1
    content = build_content(session, case, change.flow, round_no=round_no, kind=kind, at=change.at,
                            submitted_by=change.actor.username)
    text = dumps(content)
    digest = hashlib.sha256(text.encode()).hexdigest()
    package = SubmissionPackage(
        case_id=case.id, round=round_no, kind=kind, task_id=item.task_id, element_id=item.element_id,
        submitted_by_id=change.actor.user_id, submitted_by_name=change.actor.username or "",
        created_at=change.at, content=text, sha256=digest,
    )
    session.add(package)
    case.fa_submission = SUBMITTED
    change.record("submission_frozen", task_id=item.task_id, element_id=item.element_id,
                  data={"round": round_no, "kind": kind, "sha256": digest})
    return package


def build_content(session: Session, case: Case, flow: CaseWorkflow, *, round_no: int, kind: str, at: datetime,
                  submitted_by: str | None) -> dict:
    get = flow.lookup
    assessment = get("assessment") or {}
    plan = get("mitigation_plan") or {}
    content = {
        "format": FORMAT,
        "case": {"id": case.id, "reference": case.reference, "title": case.title},
        "round": round_no,
        "kind": kind,
        "submitted_at": iso(at),
        "submitted_by": submitted_by,
        "identification": {
            "team": {"members": get("members") or [], "partners": get("partners") or [],
                     "project": get("project") or {}},
            "disclosures": [
                {k: d.get(k) for k in ("member_id", "name", "role", "partner_id", "filled_by", "recorded_on")}
                for d in (get("disclosures") or []) if isinstance(d, dict)
            ],
            "partner_results": [
                {"partner_id": p.get("partner_id"), "name": p.get("name"), "organization_id": p.get("organization_id"),
                 "team_assessment": ((p.get("due_diligence") or {}).get("team_assessment")),
                 "completed_on": p.get("completed_on")}
                for p in (get("partner_results") or []) if isinstance(p, dict)
            ],
            "managed_data": get("managed_data") or [],
            "screening": get("screening") or [],
        },
        "assessment": {
            **{k: assessment.get(k) for k in ("technology_sensitivity", "proposed_level", "level", "overridden",
                                              "override_reason", "mitigation_needed", "assessed_on",
                                              "revised_in_round")},
            "findings": [
                {k: f.get(k) for k in ("subject_id", "subject_type", "label", "side", "level", "factors")}
                for f in (assessment.get("findings") or []) if isinstance(f, dict)
            ],
        },
        "risk_level": get("risk_level"),
        "mitigation": {"summary": plan.get("summary"), "feasibility": plan.get("feasibility"),
                       "planned_on": plan.get("planned_on"), "measures": plan.get("measures") or []},
        "submission": get("submission"),
        "information_requests": get("information_requests") or [],
        "additional_mitigation": {"rounds": get("additional_mitigation_rounds") or 0,
                                  "log": get("additional_mitigation_log") or []},
        "attachments": attachment_list(session, case),
    }
    return json.loads(dumps(content))  # plain JSON, as stored


def attachment_list(session: Session, case: Case) -> list[dict]:
    """The evidence of the institution and its partners (not the FA's nor a ministry's), without the bytes."""
    ministries = {p.organization_id for p in case.parties if p.role == "ministry"}
    rows = session.scalars(select(Attachment).where(Attachment.case_id == case.id)
                           .order_by(Attachment.uploaded_at, Attachment.id)).all()
    return [{"name": a.original_filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
             "element_id": a.element_id, "uploaded_at": iso(a.uploaded_at)}
            for a in rows if a.organization_id != case.funding_agency_id and a.organization_id not in ministries]


# -- reading ------------------------------------------------------------------------------------------------
def packages(session: Session, case: Case) -> list[SubmissionPackage]:
    return list(session.scalars(select(SubmissionPackage).where(SubmissionPackage.case_id == case.id)
                                .order_by(SubmissionPackage.round)).all())


def visible_packages(session: Session, scope: CaseScope, case: Case) -> list[SubmissionPackage]:
    """The packages: for full views (the FA once submitted, the lead institution, auditors); they hold the lead's
    team and assessment, which partners, ministries and researchers do not see."""
    return packages(session, case) if scope.full else []


def content_of(package: SubmissionPackage) -> dict:
    return json.loads(package.content)


def intact(package: SubmissionPackage) -> bool:
    return hashlib.sha256(package.content.encode()).hexdigest() == package.sha256


# -- what changed between two rounds, in people's words -------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """One difference: a message (English msgid, translated) and its values."""

    code: str
    message: str
    params: dict

    def text(self) -> str:
        return gettext(self.message, **self.params)


def kind_label(kind: str) -> str:
    return gettext(KINDS[kind]) if kind in KINDS else kind


def _catalog() -> dict[str, dict]:
    from ..reference import mitigation_catalog

    return {m["code"]: m for m in mitigation_catalog()}


def _measure_name(measure: dict, lang: str, catalog: dict) -> str:
    code = str(measure.get("measure") or "")
    entry = catalog.get(code) or {}
    name = entry.get("en" if lang == "en" else "ja") or ""
    text = f"{code} {name}".strip()
    if measure.get("description"):
        text += f"「{measure['description']}」" if lang != "en" else f" \"{measure['description']}\""
    return text


def _measure_key(measure: dict) -> str:
    return dumps([measure.get("measure"), measure.get("target"), measure.get("description")])


def _measure_details(measure: dict) -> str:
    parts = []
    if measure.get("target"):
        parts.append(gettext("target: %(value)s", value=measure["target"]))
    if measure.get("owner"):
        parts.append(gettext("owner: %(value)s", value=measure["owner"]))
    if measure.get("due_date"):
        parts.append(gettext("due: %(value)s", value=measure["due_date"]))
    return ", ".join(parts)


def _subject(finding: dict) -> str:
    return str(finding.get("label") or finding.get("subject_id") or "")


def _factor_levels(finding: dict) -> dict[str, int]:
    levels: dict[str, int] = {}
    for hit in finding.get("factors") or []:
        if isinstance(hit, dict) and hit.get("factor"):
            try:
                level = int(hit.get("level") or 0)
            except (TypeError, ValueError):
                continue
            levels[str(hit["factor"])] = max(level, levels.get(str(hit["factor"]), 0))
    return levels


def diff(old: dict, new: dict, lang: str = "ja") -> list[str]:
    """What changed from package `old` to package `new`, one sentence each, in `lang` (ja or en)."""
    with force_locale(lang):
        return [c.text() for c in changes(old, new, lang)]


def changes(old: dict, new: dict, lang: str = "ja") -> list[Change]:
    """The differences that matter to a reviewer: measures, levels, answers, rounds, team, data, documents."""
    found: list[Change] = []
    catalog = _catalog()
    add = found.append

    # ③ measures
    before = {_measure_key(m): m for m in (old.get("mitigation") or {}).get("measures") or [] if isinstance(m, dict)}
    after = {_measure_key(m): m for m in (new.get("mitigation") or {}).get("measures") or [] if isinstance(m, dict)}
    for key, m in after.items():
        if key not in before:
            add(Change("measure_added", N_("Measure added: %(measure)s (%(details)s)"),
                       {"measure": _measure_name(m, lang, catalog), "details": _measure_details(m)}))
        elif before[key] != m:
            fields = []
            for name, label in (("owner", N_("owner")), ("due_date", N_("due date"))):
                if before[key].get(name) != m.get(name):
                    fields.append(f"{gettext(label)} {before[key].get(name) or '—'} → {m.get(name) or '—'}")
            add(Change("measure_changed", N_("Measure changed: %(measure)s (%(details)s)"),
                       {"measure": _measure_name(m, lang, catalog), "details": ", ".join(fields)}))
    for key, m in before.items():
        if key not in after:
            add(Change("measure_removed", N_("Measure removed: %(measure)s"),
                       {"measure": _measure_name(m, lang, catalog)}))

    # ② levels
    old_level, new_level = old.get("risk_level"), new.get("risk_level")
    if old_level != new_level:
        add(Change("level_changed", N_("Overall risk level changed: %(old)s → %(new)s"),
                   {"old": old_level or "—", "new": new_level or "—"}))
    old_findings = {f.get("subject_id"): f for f in (old.get("assessment") or {}).get("findings") or []}
    for finding in (new.get("assessment") or {}).get("findings") or []:
        previous = old_findings.get(finding.get("subject_id"))
        if previous is None:
            add(Change("subject_added", N_("Newly assessed: %(subject)s (%(level)s)"),
                       {"subject": _subject(finding), "level": finding.get("level") or "—"}))
            continue
        if previous.get("level") != finding.get("level"):
            add(Change("subject_level_changed", N_("Risk level of %(subject)s changed: %(old)s → %(new)s"),
                       {"subject": _subject(finding), "old": previous.get("level") or "—",
                        "new": finding.get("level") or "—"}))
        was, now = _factor_levels(previous), _factor_levels(finding)
        for factor in sorted(set(was) | set(now)):
            if was.get(factor) != now.get(factor):
                add(Change("factor_changed", N_("%(subject)s, factor %(factor)s: %(old)s → %(new)s"),
                           {"subject": _subject(finding), "factor": factor,
                            "old": f"L{was[factor]}" if factor in was else "—",
                            "new": f"L{now[factor]}" if factor in now else "—"}))

    # answers to the FA's questions, additional rounds
    answered = len(old.get("information_requests") or [])
    for request in (new.get("information_requests") or [])[answered:]:
        response = request.get("response") or {}
        add(Change("answer_given", N_("Answer given to the FA's questions: %(answer)s"),
                   {"answer": str(response.get("answer") or "")[:500]}))
    done = len((old.get("additional_mitigation") or {}).get("log") or [])
    for entry in ((new.get("additional_mitigation") or {}).get("log") or [])[done:]:
        add(Change("round_added", N_("Additional mitigation round %(round)s: %(summary)s"),
                   {"round": entry.get("round"), "summary": str(entry.get("summary") or "")[:500]}))

    # ① team, managed data; documents
    def names(package: dict) -> dict[str, str]:
        team = (package.get("identification") or {}).get("team") or {}
        people = {str(m.get("member_id") or m.get("name")): str(m.get("name") or "")
                  for m in team.get("members") or [] if isinstance(m, dict)}
        for partner in team.get("partners") or []:
            for m in (partner.get("members") or []) if isinstance(partner, dict) else []:
                people[str(m.get("member_id") or m.get("name"))] = f"{m.get('name') or ''} ({partner.get('name')})"
        return people

    was_team, team = names(old), names(new)
    for key in team.keys() - was_team.keys():
        add(Change("member_added", N_("Team member added: %(name)s"), {"name": team[key]}))
    for key in was_team.keys() - team.keys():
        add(Change("member_removed", N_("Team member removed: %(name)s"), {"name": was_team[key]}))

    def data_titles(package: dict) -> set[str]:
        return {str(i.get("title")) for i in (package.get("identification") or {}).get("managed_data") or []
                if isinstance(i, dict)}

    for title in sorted(data_titles(new) - data_titles(old)):
        add(Change("data_added", N_("Managed data added: %(title)s"), {"title": title}))
    for title in sorted(data_titles(old) - data_titles(new)):
        add(Change("data_removed", N_("Managed data removed: %(title)s"), {"title": title}))

    files_before = {a.get("sha256"): a for a in old.get("attachments") or []}
    files_after = {a.get("sha256"): a for a in new.get("attachments") or []}
    for digest in files_after.keys() - files_before.keys():
        add(Change("document_added", N_("Document added: %(name)s"), {"name": files_after[digest].get("name")}))
    for digest in files_before.keys() - files_after.keys():
        add(Change("document_removed", N_("Document removed: %(name)s"), {"name": files_before[digest].get("name")}))
    return found


@dataclass
class Round:
    """A package as pages and the API show it: with what changed since the round before."""

    package: SubmissionPackage
    content: dict
    changes: list[str]
    intact: bool

    @property
    def round(self) -> int:
        return self.package.round


def rounds(session: Session, scope: CaseScope, case: Case, lang: str) -> list[Round]:
    """The visible packages, oldest first, each with the changes from the previous round (in `lang`)."""
    result: list[Round] = []
    previous: dict | None = None
    for package in visible_packages(session, scope, case):
        content = content_of(package)
        result.append(Round(package, content, diff(previous, content, lang) if previous is not None else [],
                            intact(package)))
        previous = content
    return result
