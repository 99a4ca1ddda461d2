"""Evidence files: uploaded while working a task, kept outside the web root, served only as downloads.

* The type is detected from the bytes with libmagic (python-magic), never taken from the browser, and must
  be on the allow-list: PDF, images (no SVG), Office documents, CSV, plain text.
* The size limit is TEJUN_MAX_UPLOAD_MB (settings.max_upload_bytes).
* Files are stored under a generated name in the evidence store the settings choose (`storage.py`: the local
  TEJUN_UPLOAD_DIR, or S3-compatible object storage shared by several hosts); the original name is only
  metadata. Their SHA-256 is kept in the database and checked on every download: bytes that differ are
  never served.
* Uploading needs the right to work the task; downloading needs the right to see that part of the case
  (`permissions.may_download_attachment`). Each upload is an event in the case's audit chain.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import magic
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..auth.permissions import CaseScope, case_scope, may_download_attachment, may_work
from ..cases.queries import visible_work_item
from ..designer.store import model_hash
from ..errors import N_, Conflict, Forbidden, InvalidRequest, NotFound, TejunError
from ..eventlog import chain
from ..models import Attachment, AttachmentShare, Case
from ..services import Services
from ..unit_of_work import unit_of_work
from .sharing import shared_with
from .storage import EvidenceCorrupt, EvidenceMissing, EvidenceStore, LocalDiskStore, build_store

__all__ = ["EvidenceCorrupt", "EvidenceMissing", "EvidenceStore", "evidence_store", "for_case", "for_download",
           "open_download", "store_upload"]

log = logging.getLogger("tejun.evidence")

OFFICE = {
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
}
IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/tiff", "image/bmp"}
ALLOWED_TYPES = frozenset({"application/pdf", "text/plain", "text/csv", *IMAGES, *OFFICE})
# what libmagic calls older Office files (OLE2 containers) when it cannot tell which program wrote them
_OLE2 = {"application/cdfv2", "application/x-ole-storage"}
_OLE2_EXTENSIONS = {".doc": "application/msword", ".xls": "application/vnd.ms-excel",
                    ".ppt": "application/vnd.ms-powerpoint"}


class TooLarge(TejunError):
    status = 413
    title = "File too large"


class TypeNotAllowed(TejunError):
    status = 415
    title = "File type not allowed"


@dataclass(frozen=True)
class Stored:
    id: str
    name: str
    size: int
    content_type: str


def detect_type(content: bytes, filename: str) -> str:
    """The MIME type libmagic reads from the content (the name only tells CSV from text, and old Office)."""
    detected = magic.from_buffer(content, mime=True).lower()
    extension = Path(filename).suffix.lower()
    if detected == "text/plain" and extension == ".csv":
        return "text/csv"
    if detected in _OLE2 and extension in _OLE2_EXTENSIONS:
        return _OLE2_EXTENSIONS[extension]
    return detected


def clean_filename(name: str) -> str:
    """The name people see: no path, no control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name:
        name = "file"
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) < 10 else name[:255]
    return name


def _read_limited(stream: BinaryIO, limit: int) -> bytes:
    content = stream.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(N_("the file is larger than %(mb)d MB"), params={"mb": limit // (1024 * 1024)}, max_bytes=limit)
    return content


def evidence_store(svc: Services) -> EvidenceStore:
    """The store chosen at start-up (built here for Services made without one)."""
    if svc.evidence is None:
        svc.evidence = build_store(svc.settings)
    return svc.evidence


def storage_path(svc: Services, storage_name: str) -> Path:
    """Where the local-disk store keeps a file (whatever store is configured)."""
    return LocalDiskStore(svc.settings.upload_dir).path(storage_name)


def store_upload(svc: Services, actor: Actor, task_id: str, filename: str, stream: BinaryIO) -> Stored:
    """Keep a file someone uploads while working a task; returns what the form stores about it."""
    content = _read_limited(stream, svc.settings.max_upload_bytes)
    if not content:
        raise InvalidRequest(N_("the file is empty"))
    name = clean_filename(filename)
    content_type = detect_type(content, name)
    if content_type not in ALLOWED_TYPES:
        raise TypeNotAllowed(N_("files of type %(type)s cannot be uploaded"), params={"type": content_type},
                             content_type=content_type)
    digest = hashlib.sha256(content).hexdigest()
    storage_name = secrets.token_hex(20)
    store = evidence_store(svc)
    store.put(storage_name, content, digest)
    try:
        with unit_of_work(svc) as session:
            item, case = visible_work_item(session, actor, task_id)
            if not may_work(actor, item):
                raise Forbidden(N_("this task is for another role or person"))
            if item.assignee_id not in (None, actor.user_id):
                raise Conflict(N_("this task is assigned to someone else"))
            attachment = Attachment(
                public_id=secrets.token_hex(16), case_id=case.id, task_id=item.task_id, element_id=item.element_id,
                organization_id=item.organization_id, original_filename=name, content_type=content_type,
                size=len(content), sha256=digest, storage_name=storage_name, uploaded_by_id=actor.user_id,
                uploaded_by_name=actor.display_name or actor.username, uploaded_at=clock.now(),
            )
            session.add(attachment)
            chain.append(
                session, stream=chain.case_stream(case.id), case_id=case.id, action="attachment_added",
                actor_id=actor.user_id, actor_name=actor.username, task_id=item.task_id,
                element_id=item.element_id, model_hash=model_hash(session, case.model_version_id),
                data={"attachment": attachment.public_id, "name": name, "content_type": content_type,
                      "size": len(content), "sha256": digest},
            )
            stored = Stored(attachment.public_id, name, len(content), content_type)
    except BaseException:
        store.delete(storage_name)
        raise
    return stored


def for_download(session: Session, svc: Services, actor: Actor, public_id: str) -> Attachment:
    """The attachment, when the actor may have it (else NotFound); `open_download` then gives its bytes."""
    attachment = session.scalars(select(Attachment).where(Attachment.public_id == str(public_id))).first()
    if attachment is None:
        raise NotFound(N_("no such file"))
    scope = case_scope(actor, session.get(Case, attachment.case_id))
    if not may_download_attachment(actor, scope, attachment.organization_id, attachment.uploaded_by_id,
                                   shared_with(session, attachment.id)):
        raise NotFound(N_("no such file"))
    return attachment


def open_download(svc: Services, attachment: Attachment) -> BinaryIO:
    """The attachment's bytes, read whole and checked against the SHA-256 kept at upload: a seekable file at
    offset 0 (the caller closes it). EvidenceMissing (404) when the store lost them, EvidenceCorrupt (500,
    logged) when they differ: then nothing is served."""
    try:
        return evidence_store(svc).open_verified(attachment.storage_name, attachment.sha256)
    except EvidenceCorrupt:
        log.error("attachment %s (case %s, %r) is not served: its bytes differ from the SHA-256 kept at upload",
                  attachment.public_id, attachment.case_id, attachment.original_filename)
        raise


def for_case(session: Session, actor: Actor, case: Case, scope: CaseScope) -> list[Attachment]:
    """The case's files the actor may download, newest first."""
    rows = session.scalars(
        select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.uploaded_at.desc(),
                                                                          Attachment.id.desc())
    ).all()
    shares: dict[int, set[int]] = {}
    for attachment_id, org in session.execute(select(AttachmentShare.attachment_id, AttachmentShare.organization_id)
                                              .where(AttachmentShare.case_id == case.id)):
        shares.setdefault(attachment_id, set()).add(org)
    return [a for a in rows if may_download_attachment(actor, scope, a.organization_id, a.uploaded_by_id,
                                                       shares.get(a.id, set()))]


def stored_files(svc: Services) -> list[tuple[str, str, str]]:
    """Every evidence file as (public id, storage name, SHA-256), oldest first: what moving or checking the
    store goes through."""
    with svc.db.reader() as session:
        return [tuple(row) for row in session.execute(
            select(Attachment.public_id, Attachment.storage_name, Attachment.sha256).order_by(Attachment.id))]
