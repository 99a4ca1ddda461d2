"""FA–institution consultation on a case before and during the FA's review.

Seed 003: 「FAは必要に応じ、研究機関とリスク確認、リスク評価等について相談・調整」, measures agreed
「FAと研究機関の間で相談・調整等を通じて」, the team's scope 「研究室の状況等に応じてFAと調整」.

* **Parties.** The funding agency of the case's programme (its `fa_officer` and `fa_manager`) and the lead
  institution's research-security office (`security_officer`, `institution_admin` of the lead institution).
  Either side opens a thread, both post answers (and further questions), the side that asked closes it.
* **Who sees it.** Those two sides and auditors in scope, decided by `case_scope`: a thread is the FA's and
  the lead's shared part of the case, seen by whoever sees the FA's part (`scope.sees(funding_agency_id)`:
  the FA also before the institution's first submission, the lead institution in full, auditors). Partner
  institutions and consulted ministries are not parties: what the FA asks of a partner goes through the lead,
  which is answerable for the case (docs/procedure.md §9.1), and researchers see the case's summary only.
* **When.** A thread can be opened while the case is running and the FA has not decided (①–③, submission,
  the review); open threads can still be answered and closed afterwards.
* **Record.** Every change is an event in the case's stream through `pipeline.record_event`
  (`consultation_opened`, `consultation_answered`, `consultation_closed`, with the text and the files'
  SHA-256), so the audit trail shows the whole exchange; replays pass over them (they move no workflow).
* **Files.** Evidence files (service/attachments: type from the bytes, allow-list, size limit, SHA-256)
  kept as attachments of the FA's part of the case (`organization_id` = the FA, `element_id` "consultation"),
  so exactly the parties download them.
* **Notifications.** Each message tells the other side's people (their roles in their organization) in
  their own language; the first answer to an FA question also its asker, and so on: everyone who wrote in the
  thread hears of what the other side adds.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..attachments import ALLOWED_TYPES, TooLarge, TypeNotAllowed, clean_filename, detect_type, evidence_store
from ..auth.actor import Actor
from ..auth.permissions import CaseScope, case_scope
from ..cases.pipeline import instant, record_event
from ..errors import N_, Conflict, Forbidden, NotFound, ValidationFailed
from ..models import Attachment, Case, ConsultationMessage, ConsultationThread, Membership, User
from ..notifications import notify
from ..notifications.texts import text
from ..reference import mitigation_catalog
from ..services import Services
from ..unit_of_work import unit_of_work

__all__ = ["FA_SIDE", "INSTITUTION_SIDE", "SUBJECTS", "Thread", "answer", "close", "may_open", "open_thread",
           "side_of", "threads", "visible"]

FA_SIDE, INSTITUTION_SIDE = "fa", "institution"
FA_ROLES = ("fa_officer", "fa_manager")
INSTITUTION_ROLES = ("security_officer", "institution_admin")
SUBJECTS = ("general", "team_scope", "measure")
ELEMENT = "consultation"  # element_id of a consultation's evidence files
MAX_TITLE, MAX_BODY, MAX_FILES = 300, 8000, 10

OPENED_TITLE = N_("Consultation on %(case)s: %(title)s")
MESSAGE_BODY = N_("%(who)s: %(body)s")
ANSWERED_TITLE = N_("New reply in the consultation on %(case)s: %(title)s")
CLOSED_TITLE = N_("Consultation closed on %(case)s: %(title)s")


@dataclass
class Upload:
    """A file someone attaches to a message: its name and a stream of its bytes."""

    filename: str
    stream: BinaryIO


@dataclass
class Thread:
    """A thread as the pages and the API show it."""

    row: ConsultationThread
    messages: list[ConsultationMessage] = field(default_factory=list)
    files: dict[str, Attachment] = field(default_factory=dict)  # public id -> attachment


# -- who ------------------------------------------------------------------------------------------------------
def side_of(actor: Actor, case: Case) -> str | None:
    """The side the actor speaks for in this case's consultations, if any (by their roles in that organization)."""
    if any(actor.has(role, case.funding_agency_id) for role in FA_ROLES):
        return FA_SIDE
    if case.lead_institution_id is not None and any(actor.has(role, case.lead_institution_id)
                                                    for role in INSTITUTION_ROLES):
        return INSTITUTION_SIDE
    return None


def visible(scope: CaseScope, case: Case) -> bool:
    """Does this scope of the case include its consultations (the FA's and the lead's shared part)?"""
    return case.kind == "application" and scope.sees(case.funding_agency_id)


def may_open(actor: Actor, case: Case) -> bool:
    """May the actor open a thread now: a party, while the case runs and before the FA's decision."""
    return side_of(actor, case) is not None and _open_for_questions(case)


def _open_for_questions(case: Case) -> bool:
    return case.kind == "application" and case.status == "running" and case.outcome is None


def _case_for(session: Session, actor: Actor, case_id: int, *, writing: bool) -> tuple[Case, str | None]:
    case = session.get(Case, case_id)
    scope = case_scope(actor, case)
    if case is None or not visible(scope, case):
        raise NotFound(N_("no such consultation"))  # the same whether the case or its threads are out of sight
    side = side_of(actor, case)
    if writing and side is None:
        raise Forbidden(N_("only the funding agency and the lead institution's research-security office consult "
                           "on a case"))
    return case, side


def _authorize(svc: Services, actor: Actor, case_id: int, thread_id: int | None = None) -> None:
    """Who may write here is decided before what they wrote is looked at (a refusal says nothing of the input);
    the unit of work checks again."""
    with svc.db.reader() as session:
        case, _side = _case_for(session, actor, case_id, writing=True)
        if thread_id is not None and session.scalar(select(ConsultationThread.id).where(
                ConsultationThread.id == thread_id, ConsultationThread.case_id == case.id)) is None:
            raise NotFound(N_("no such consultation"))


def _thread_for(session: Session, case: Case, thread_id: int) -> ConsultationThread:
    thread = session.scalars(select(ConsultationThread).where(ConsultationThread.id == thread_id,
                                                              ConsultationThread.case_id == case.id)
                             .with_for_update()).first()
    if thread is None:
        raise NotFound(N_("no such consultation"))
    return thread


# -- reading --------------------------------------------------------------------------------------------------
def threads(session: Session, actor: Actor, case: Case) -> list[Thread]:
    """The case's threads the actor may read, oldest first, each with its messages and files."""
    if not visible(case_scope(actor, case), case):
        return []
    rows = session.scalars(select(ConsultationThread).where(ConsultationThread.case_id == case.id)
                           .order_by(ConsultationThread.id)).all()
    if not rows:
        return []
    found = {row.id: Thread(row) for row in rows}
    for message in session.scalars(select(ConsultationMessage)
                                   .where(ConsultationMessage.thread_id.in_(list(found)))
                                   .order_by(ConsultationMessage.id)):
        found[message.thread_id].messages.append(message)
    public_ids = [pid for t in found.values() for m in t.messages for pid in (m.attachments or [])]
    if public_ids:
        files = {a.public_id: a for a in session.scalars(select(Attachment).where(
            Attachment.case_id == case.id, Attachment.public_id.in_(public_ids)))}
        for thread in found.values():
            thread.files = {pid: files[pid] for m in thread.messages for pid in (m.attachments or [])
                            if pid in files}
    return list(found.values())


# -- changing -------------------------------------------------------------------------------------------------
def section(svc: Services, actor: Actor, case_id: int) -> dict | None:
    """What the case page's consultation section shows the actor, read in a session of its own: the threads,
    the actor's side and whether they may open one; None when the actor is not a party (no section)."""
    with svc.db.reader() as session:
        case = session.get(Case, case_id)
        if not visible(case_scope(actor, case), case):
            return None
        return {"threads": threads(session, actor, case), "side": side_of(actor, case),
                "may_open": may_open(actor, case)}


def case_threads(svc: Services, actor: Actor, case_id: int) -> list[Thread]:
    """`threads` of a case the actor sees (NotFound otherwise), read in a session of its own."""
    from ..cases.queries import scoped_case

    with svc.db.reader() as session:
        case, _scope = scoped_case(session, actor, case_id)
        return threads(session, actor, case)


def open_thread(svc: Services, actor: Actor, case_id: int, *, subject: str, title: str, body: str,
                measure: str | None = None, files: Iterable[Upload] = ()) -> int:
    """Open a thread with its question; returns its id."""
    files = list(files)
    _authorize(svc, actor, case_id)
    _check_text(title=title, body=body, subject=subject, measure=measure, files=files)
    stored = _store_files(svc, files)
    try:
        with unit_of_work(svc) as session:
            case, side = _case_for(session, actor, case_id, writing=True)
            if not _open_for_questions(case):
                raise Conflict(N_("consultations are opened before the funding agency's decision, while the case "
                                  "runs"))
            now = instant(session)
            thread = ConsultationThread(case_id=case.id, subject=subject, measure=measure if subject == "measure"
                                        else None, title=title.strip(), side=side, opened_by_id=actor.user_id,
                                        opened_by_name=_name(actor), opened_at=now, status="open")
            session.add(thread)
            session.flush()
            message = _message(session, case, thread, actor, side, "question", body, stored)
            record_event(session, case, actor, "consultation_opened", data={
                "thread": thread.id, "subject": thread.subject, "measure": thread.measure, "title": thread.title,
                "side": side, "body": message.body, "attachments": _described(stored)})
            _tell(session, case, thread, side, OPENED_TITLE, message, actor)
            return thread.id
    except BaseException:
        _forget(svc, stored)
        raise


def answer(svc: Services, actor: Actor, case_id: int, thread_id: int, *, body: str,
           files: Iterable[Upload] = ()) -> int:
    """Add an answer (or a further question) to an open thread; returns the message's id."""
    files = list(files)
    _authorize(svc, actor, case_id, thread_id)
    _check_text(body=body, files=files)
    stored = _store_files(svc, files)
    try:
        with unit_of_work(svc) as session:
            case, side = _case_for(session, actor, case_id, writing=True)
            thread = _thread_for(session, case, thread_id)
            if thread.status != "open":
                raise Conflict(N_("this consultation is closed"))
            message = _message(session, case, thread, actor, side, "answer", body, stored)
            record_event(session, case, actor, "consultation_answered", data={
                "thread": thread.id, "message": message.id, "side": side, "body": message.body,
                "attachments": _described(stored)})
            _tell(session, case, thread, side, ANSWERED_TITLE, message, actor)
            return message.id
    except BaseException:
        _forget(svc, stored)
        raise


def close(svc: Services, actor: Actor, case_id: int, thread_id: int, *, note: str = "") -> None:
    """Close a thread: only the side that asked (their question is settled)."""
    _authorize(svc, actor, case_id, thread_id)
    _check_text(body=note, files=[], body_required=False)
    with unit_of_work(svc) as session:
        case, side = _case_for(session, actor, case_id, writing=True)
        thread = _thread_for(session, case, thread_id)
        if side != thread.side:
            raise Forbidden(N_("only the side that asked closes a consultation"))
        if thread.status != "open":
            raise Conflict(N_("this consultation is closed"))
        now = instant(session)
        thread.status, thread.closed_at, thread.closed_by_name = "closed", now, _name(actor)
        message = _message(session, case, thread, actor, side, "closing", note, [])
        record_event(session, case, actor, "consultation_closed", data={
            "thread": thread.id, "message": message.id, "side": side, "body": message.body})
        _tell(session, case, thread, side, CLOSED_TITLE, message, actor)


# -- the parts ------------------------------------------------------------------------------------------------
def _name(actor: Actor) -> str:
    return actor.display_name or actor.username or ""


def _check_text(*, body: str, files: list[Upload], title: str | None = None, subject: str | None = None,
                measure: str | None = None, body_required: bool = True) -> None:
    """Every problem at once, by pointer, as a form's are (422)."""
    errors = []
    if title is not None and not (title or "").strip():
        errors.append(("/title", "a title is required", "required"))
    if title is not None and len(title or "") > MAX_TITLE:
        errors.append(("/title", f"at most {MAX_TITLE} characters", "maxLength"))
    if body_required and not (body or "").strip():
        errors.append(("/body", "the message is empty", "required"))
    if len(body or "") > MAX_BODY:
        errors.append(("/body", f"at most {MAX_BODY} characters", "maxLength"))
    if subject is not None and subject not in SUBJECTS:
        errors.append(("/subject", "one of: " + ", ".join(SUBJECTS), "enum"))
    if subject == "measure" and measure not in {m["code"] for m in mitigation_catalog()}:
        errors.append(("/measure", "a measure of the mitigation catalog", "enum"))
    if len(files) > MAX_FILES:
        errors.append(("/files", f"at most {MAX_FILES} files", "maxItems"))
    if errors:
        raise ValidationFailed([{"pointer": p, "message": m, "keyword": k} for p, m, k in errors])


@dataclass
class _Stored:
    name: str
    content_type: str
    size: int
    sha256: str
    storage_name: str
    public_id: str


def _store_files(svc: Services, files: list[Upload]) -> list[_Stored]:
    """The files' bytes into the evidence store, checked as every evidence file is (service/attachments)."""
    limit = svc.settings.max_upload_bytes
    stored: list[_Stored] = []
    try:
        for upload in files:
            content = upload.stream.read(limit + 1)
            if len(content) > limit:
                raise TooLarge(N_("the file is larger than %(mb)d MB"), params={"mb": limit // (1024 * 1024)},
                               max_bytes=limit)
            if not content:
                raise ValidationFailed([{"pointer": "/files", "message": "the file is empty", "keyword": "minLength"}])
            name = clean_filename(upload.filename)
            content_type = detect_type(content, name)
            if content_type not in ALLOWED_TYPES:
                raise TypeNotAllowed(N_("files of type %(type)s cannot be uploaded"), params={"type": content_type},
                                     content_type=content_type)
            digest = hashlib.sha256(content).hexdigest()
            storage_name = secrets.token_hex(20)
            evidence_store(svc).put(storage_name, content, digest)
            stored.append(_Stored(name, content_type, len(content), digest, storage_name, secrets.token_hex(16)))
    except BaseException:
        _forget(svc, stored)
        raise
    return stored


def _forget(svc: Services, stored: list[_Stored]) -> None:
    for item in stored:
        evidence_store(svc).delete(item.storage_name)


def _described(stored: list[_Stored]) -> list[dict]:
    return [{"attachment": s.public_id, "name": s.name, "content_type": s.content_type, "size": s.size,
             "sha256": s.sha256} for s in stored]


def _message(session: Session, case: Case, thread: ConsultationThread, actor: Actor, side: str, kind: str,
             body: str, stored: list[_Stored]) -> ConsultationMessage:
    now = instant(session)
    for s in stored:
        # the FA's part of the case: seen by both parties and auditors, not by partners or ministries
        session.add(Attachment(public_id=s.public_id, case_id=case.id, task_id=None, element_id=ELEMENT,
                               organization_id=case.funding_agency_id, original_filename=s.name,
                               content_type=s.content_type, size=s.size, sha256=s.sha256,
                               storage_name=s.storage_name, uploaded_by_id=actor.user_id,
                               uploaded_by_name=_name(actor), uploaded_at=now))
    message = ConsultationMessage(thread_id=thread.id, kind=kind, side=side, author_id=actor.user_id,
                                  author_name=_name(actor), body=(body or "").strip(),
                                  attachments=[s.public_id for s in stored], at=now)
    session.add(message)
    session.flush()
    return message


def _tell(session: Session, case: Case, thread: ConsultationThread, side: str, title: str,
          message: ConsultationMessage, actor: Actor) -> None:
    """The other side's people, and whoever of them already wrote in the thread, in their own language."""
    other_org, other_roles = ((case.lead_institution_id, INSTITUTION_ROLES) if side == FA_SIDE
                              else (case.funding_agency_id, FA_ROLES))
    people = set(session.scalars(select(Membership.user_id).where(Membership.organization_id == other_org,
                                                                  Membership.role.in_(other_roles))))
    people |= {uid for uid in session.scalars(select(ConsultationMessage.author_id).where(
        ConsultationMessage.thread_id == thread.id, ConsultationMessage.side != side)) if uid is not None}
    people.discard(actor.user_id)
    if not people:
        return
    locales: dict[str, list[int]] = {}
    for user_id, locale in session.execute(select(User.id, User.locale).where(User.id.in_(sorted(people)),
                                                                             User.active.is_(True))):
        locales.setdefault(locale or "ja", []).append(user_id)
    for locale, users in locales.items():
        params = {"case": case.reference, "title": thread.title, "who": message.author_name,
                  "body": message.body[:500]}
        notify(session, user_ids=users, kind="consultation", title=text(locale, title, **params),
               body=text(locale, MESSAGE_BODY, **params) if message.body else "", case_id=case.id,
               url=f"/cases/{case.id}#consultation-{thread.id}", dedupe_key=f"consultation:{message.id}")
