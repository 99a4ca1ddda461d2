"""/api/v1/cases/<id>/consultations: the FA–institution consultation threads of a case (service/consultations).

| route | permission |
| --- | --- |
| GET .../consultations | `case_view` >= SUMMARY (else 404); the threads only for the parties (the FA, the lead |
|                       | institution's staff) and auditors in scope: an empty list for others |
| POST .../consultations | the FA's officers and managers, the lead's security officers and administrators (403 |
|                        | for others who see the case); 409 after the FA's decision |
| POST .../consultations/<thread_id>/messages | the same parties (404 for those who do not see the threads); |
|                                             | 409 when the thread is closed |
| POST .../consultations/<thread_id>/attachments | a message with files (multipart): the same parties and checks |
|                                                | as .../messages; each file checked as the case page's |
| POST .../consultations/<thread_id>/close | the side that asked (403 for the other side) |

Each message lists its files with their download link.
"""

from __future__ import annotations

from http import HTTPStatus

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import validate
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict, FileStorage

from .. import consultations
from .context import actor, services
from .paging import PageQuerySchema, envelope, page_of
from .schemas import StrictSchema

blp = Blueprint("consultations", __name__, url_prefix="/api/v1",
                description="Consultation between the funding agency and the lead institution on a case")
# a multipart request's text fields and files in one schema (one documented multipart/form-data body): this
# blueprint's "files" location reads both
blp.ARGUMENTS_PARSER = FlaskParser()


@blp.ARGUMENTS_PARSER.location_loader("files")
def _form_and_files(request, schema):
    return MultiDictProxy(CombinedMultiDict([request.form, request.files]), schema)


class ConsultationMessageSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"description": "question, answer or closing"})
    side = ma.fields.String(metadata={"description": "fa or institution"})
    author = ma.fields.String(attribute="author_name")
    body = ma.fields.String()
    at = ma.fields.DateTime()
    attachments = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "the files attached: public_id, name, content_type, size, sha256, download"})


class ConsultationThreadSchema(ma.Schema):
    id = ma.fields.Integer()
    subject = ma.fields.String(metadata={"description": "general, team_scope or measure"})
    measure = ma.fields.String(allow_none=True, metadata={"description": "the catalog code when about a measure"})
    title = ma.fields.String()
    side = ma.fields.String(metadata={"description": "the side that asked (and closes it): fa or institution"})
    opened_by = ma.fields.String()
    opened_at = ma.fields.DateTime()
    status = ma.fields.String(metadata={"description": "open or closed"})
    closed_at = ma.fields.DateTime(allow_none=True)
    messages = ma.fields.List(ma.fields.Nested(ConsultationMessageSchema))


class ConsultationOpenSchema(StrictSchema):
    subject = ma.fields.String(required=True, validate=validate.OneOf(consultations.SUBJECTS))
    measure = ma.fields.String(load_default=None, validate=validate.Length(max=16),
                               metadata={"description": "required when the subject is `measure`: a catalog code"})
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=consultations.MAX_TITLE))
    body = ma.fields.String(required=True, validate=validate.Length(min=1, max=consultations.MAX_BODY),
                            metadata={"description": "the question"})


class ConsultationPostSchema(StrictSchema):
    body = ma.fields.String(required=True, validate=validate.Length(min=1, max=consultations.MAX_BODY))


class _File(Upload):
    """A part of the request that is a file (a text field of the same name is refused: 422)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("a file is expected")
        return value


class ConsultationFilesSchema(StrictSchema):
    body = ma.fields.String(required=True, validate=validate.Length(min=1, max=consultations.MAX_BODY),
                            metadata={"description": "the answer (or further question) the files go with"})
    files = ma.fields.List(_File(), required=True, validate=validate.Length(min=1, max=consultations.MAX_FILES),
                           metadata={"description": "one or more evidence files (type from the bytes, the "
                                                    "allow-list and size limit of every evidence file)"})


class ConsultationCloseSchema(StrictSchema):
    note = ma.fields.String(load_default="", validate=validate.Length(max=consultations.MAX_BODY),
                            metadata={"description": "optional: how it was settled"})


class ConsultationCreatedSchema(ma.Schema):
    id = ma.fields.Integer()


THREAD_EXAMPLE = {"items": [{
    "id": 7, "subject": "team_scope", "measure": None, "title": "研究チームの範囲", "side": "fa",
    "opened_by": "FA 調査官", "opened_at": "2026-04-10T10:00:00+09:00", "status": "closed",
    "closed_at": "2026-04-12T15:00:00+09:00",
    "messages": [
        {"id": 11, "kind": "question", "side": "fa", "author": "FA 調査官", "body": "留学生を含めますか。",
         "at": "2026-04-10T10:00:00+09:00", "attachments": []},
        {"id": 12, "kind": "answer", "side": "institution", "author": "研究推進課 田中", "body": "含めません。",
         "at": "2026-04-11T09:00:00+09:00",
         "attachments": [{"public_id": "3f9a0c6d2b7e41a8b5c4d3e2f1a0b9c8", "name": "名簿.pdf",
                          "content_type": "application/pdf", "size": 48213, "sha256": "9f86d0" + "0" * 58,
                          "download": "/api/v1/attachments/3f9a0c6d2b7e41a8b5c4d3e2f1a0b9c8"}]},
        {"id": 13, "kind": "closing", "side": "fa", "author": "FA 調査官", "body": "",
         "at": "2026-04-12T15:00:00+09:00", "attachments": []}]}],
    "total": 1, "page": 1, "per_page": 25}


def shown(thread: consultations.Thread) -> dict:
    row = thread.row
    return {
        "id": row.id, "subject": row.subject, "measure": row.measure, "title": row.title, "side": row.side,
        "opened_by": row.opened_by_name, "opened_at": row.opened_at, "status": row.status,
        "closed_at": row.closed_at,
        "messages": [{"id": m.id, "kind": m.kind, "side": m.side, "author_name": m.author_name, "body": m.body,
                      "at": m.at, "attachments": [_file(thread.files[p]) for p in (m.attachments or [])
                                                  if p in thread.files]}
                     for m in thread.messages],
    }


def _file(attachment) -> dict:
    return {"public_id": attachment.public_id, "name": attachment.original_filename,
            "content_type": attachment.content_type, "size": attachment.size, "sha256": attachment.sha256,
            "download": f"/api/v1/attachments/{attachment.public_id}"}


@blp.route("/cases/<int:case_id>/consultations")
class Consultations(MethodView):
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, envelope(ConsultationThreadSchema, "ConsultationList"), example=THREAD_EXAMPLE)
    def get(self, args, case_id):
        """The case's consultation threads, oldest first, each with its messages: for the FA and the lead
        institution (the parties) and auditors; an empty list for others who see the case"""
        return page_of([shown(t) for t in consultations.case_threads(services(), actor(), case_id)], args)

    @blp.arguments(ConsultationOpenSchema)
    @blp.alt_response(409, "CONFLICT")
    @blp.response(201, ConsultationCreatedSchema)
    def post(self, args, case_id):
        """Open a thread with a question (the FA's officers and managers, the lead institution's security
        officers and administrators) while the case runs, before the FA's decision; the other side is notified"""
        return {"id": consultations.open_thread(services(), actor(), case_id, subject=args["subject"],
                                                title=args["title"], body=args["body"], measure=args["measure"])}


@blp.route("/cases/<int:case_id>/consultations/<int:thread_id>/messages")
class ConsultationMessages(MethodView):
    @blp.arguments(ConsultationPostSchema)
    @blp.alt_response(409, "CONFLICT")
    @blp.response(201, ConsultationCreatedSchema)
    def post(self, args, case_id, thread_id):
        """Answer in an open thread (or ask further), either party; 409 when the thread is closed"""
        return {"id": consultations.answer(services(), actor(), case_id, thread_id, body=args["body"])}


@blp.route("/cases/<int:case_id>/consultations/<int:thread_id>/attachments")
class ConsultationAttachments(MethodView):
    @blp.arguments(ConsultationFilesSchema, location="files")
    @blp.alt_response(409, "CONFLICT")
    @blp.alt_response(413, HTTPStatus(413).name)
    @blp.alt_response(415, HTTPStatus(415).name)
    @blp.response(201, ConsultationCreatedSchema)
    def post(self, args, case_id, thread_id):
        """Answer in an open thread with evidence files (multipart/form-data: `body` and one or more `files`),
        either party; each file is checked as on the case page (413 too large, 415 a type not allowed)"""
        uploads = [consultations.Upload(f.filename or "", f.stream) for f in args["files"]]
        return {"id": consultations.answer(services(), actor(), case_id, thread_id, body=args["body"],
                                           files=uploads)}


@blp.route("/cases/<int:case_id>/consultations/<int:thread_id>/close")
class ConsultationClose(MethodView):
    @blp.arguments(ConsultationCloseSchema)
    @blp.alt_response(409, "CONFLICT")
    @blp.response(200, ConsultationCreatedSchema)
    def post(self, args, case_id, thread_id):
        """Close a thread: the side that asked (403 for the other side); 409 when closed already"""
        consultations.close(services(), actor(), case_id, thread_id, note=args["note"])
        return {"id": thread_id}
