"""A case's data as its page shows it: submitted steps, timeline, open tasks, team, evidence files.

Every operation takes the caller's scope of the case from `queries.scoped_case` (404 when they do not see the
case at all) and then the very reads of the case page (`service.cases.history`, `service.attachments`): a FULL
view gets everything, a partner institution or consulted ministry (PART) the parts routed to its own
organization, a researcher on the team (SUMMARY) only what the page shows them (no steps, no timeline, their
own tasks and files).

| route | permission |
| --- | --- |
| GET /api/v1/cases/<id>/steps, /timeline, /tasks, /team, /attachments, /submissions | `case_view` >= SUMMARY |
| GET /api/v1/attachments/<public_id> | `may_download_attachment` (else 404), as GET /attachments/<id> |
"""

from __future__ import annotations

import marshmallow as ma
from flask import send_file
from flask.views import MethodView
from flask_babel import force_locale
from flask_smorest import Blueprint
from marshmallow import validate

from ..attachments import open_download
from ..cases import case_data as reads
from ..cases import history, submissions
from .context import actor, services
from .paging import LangPageQuerySchema, PageQuerySchema, envelope, page_of

blp = Blueprint("case_data", __name__, url_prefix="/api/v1", description="A case's data, as its page shows it")

ELEMENT = ma.fields.String(validate=validate.Length(min=1, max=255),
                           metadata={"description": "only this BPMN element (e.g. `fix_team_roster`)"})


class StepQuerySchema(LangPageQuerySchema):
    element_id = ELEMENT


class StepSchema(ma.Schema):
    at = ma.fields.DateTime()
    actor = ma.fields.String(metadata={"description": "who submitted the form"})
    title = ma.fields.String()
    element_id = ma.fields.String()
    form = ma.fields.String(allow_none=True, metadata={"description": "the form's JSON Schema file"})
    data = ma.fields.Dict(metadata={"description": "the submitted form data"})


class TimelineQuerySchema(LangPageQuerySchema):
    action = ma.fields.String(validate=validate.OneOf(history.TIMELINE_ACTIONS))
    element_id = ELEMENT


class TimelineEntrySchema(ma.Schema):
    seq = ma.fields.Integer()
    at = ma.fields.DateTime()
    action = ma.fields.String(metadata={"description": ", ".join(history.TIMELINE_ACTIONS)})
    title = ma.fields.String(metadata={"description": "the step's title, when the event belongs to one"})
    actor = ma.fields.String()
    element_id = ma.fields.String(allow_none=True)
    task_id = ma.fields.String(allow_none=True)


class CaseTaskQuerySchema(PageQuerySchema):
    role = ma.fields.String(validate=validate.Length(min=1, max=32))
    element_id = ELEMENT


class CaseTaskSchema(ma.Schema):
    task_id = ma.fields.String()
    element_id = ma.fields.String()
    title = ma.fields.String()
    title_en = ma.fields.String()
    role = ma.fields.String()
    organization_id = ma.fields.Integer()
    assignee_id = ma.fields.Integer(allow_none=True)
    stage = ma.fields.String(allow_none=True)
    priority = ma.fields.Integer()
    due_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class TeamSchema(ma.Schema):
    members = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "the lead institution's team (full views only), as the roster form holds it"})
    partners = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "partner institutions with their teams: all (full views), the caller's own (partners)"})


class AttachmentQuerySchema(PageQuerySchema):
    element_id = ELEMENT


class AttachmentSchema(ma.Schema):
    public_id = ma.fields.String()
    name = ma.fields.String(attribute="original_filename")
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    sha256 = ma.fields.String()
    task_id = ma.fields.String(allow_none=True)
    element_id = ma.fields.String(allow_none=True)
    organization_id = ma.fields.Integer()
    uploaded_by_name = ma.fields.String()
    uploaded_at = ma.fields.DateTime()
    download = ma.fields.Function(lambda a: f"/api/v1/attachments/{a.public_id}",
                                  metadata={"description": "where to download it"})


class SubmissionSchema(ma.Schema):
    round = ma.fields.Integer(metadata={"description": "1, 2, ... in the order the institution submitted"})
    kind = ma.fields.String(metadata={"description": "the submitting task's `submissionKind`: initial, "
                                                     "information_response, additional_mitigation"})
    kind_label = ma.fields.String(metadata={"description": "the kind in the requested language"})
    submitted_at = ma.fields.DateTime()
    submitted_by = ma.fields.String()
    element_id = ma.fields.String(allow_none=True, metadata={"description": "the task whose completion submitted"})
    sha256 = ma.fields.String(metadata={"description": "SHA-256 of `content` as canonical JSON (sorted keys, "
                                                       "compact, UTF-8); the `submission_frozen` event has it too"})
    intact = ma.fields.Boolean(metadata={"description": "the stored package still matches its SHA-256"})
    changes = ma.fields.List(ma.fields.String(), metadata={
        "description": "what changed since the previous round, one sentence each in the requested language "
                       "(empty for the first round)"})
    content = ma.fields.Dict(metadata={
        "description": "the package: identification (team, disclosures made, partners' results, managed data, "
                       "screening), assessment (levels per subject and factor), risk_level, mitigation (plan "
                       "and measures), submission, information_requests, additional_mitigation, attachments "
                       "(name, type, size, SHA-256)"})


STEP_EXAMPLE = {"items": [{"at": "2026-04-01T09:30:00+09:00", "actor": "研究推進課 田中",
                           "title": "研究チーム名簿と同意",
                           "element_id": "fix_team_roster", "form": "team_roster.schema.json",
                           "data": {"roster": {"project": {"title": "量子センサの研究"}}}}],
                "total": 1, "page": 1, "per_page": 25}
TIMELINE_EXAMPLE = {"items": [{"seq": 1, "at": "2026-04-01T09:00:00+09:00", "action": "case_started", "title": "",
                               "actor": "研究推進課 田中", "element_id": None, "task_id": None}],
                    "total": 1, "page": 1, "per_page": 25}
TASK_EXAMPLE = {"items": [{"task_id": "5b0c1e0e-3f4a-4c55-9a43-0d7f2b1f6a10", "element_id": "fill_disclosure",
                           "title": "研究者の開示", "title_en": "Researcher's disclosure", "role": "researcher",
                           "organization_id": 3, "assignee_id": 12, "stage": "identification", "priority": 1,
                           "due_at": "2026-04-15T23:59:00+09:00", "created_at": "2026-04-01T09:31:00+09:00"}],
                "total": 1, "page": 1, "per_page": 25}
TEAM_EXAMPLE = {"members": [{"member_id": "M1", "name": "山田 太郎", "role": "pi",
                             "erad_researcher_number": "12345678"}],
                "partners": [{"partner_id": "P1", "organization_id": 4, "name": "B大学", "members": []}]}
ATTACHMENT_EXAMPLE = {"items": [{"public_id": "3f9a0c6d2b7e41a8b5c4d3e2f1a0b9c8", "name": "誓約書.pdf",
                                 "content_type": "application/pdf", "size": 48213, "sha256": "9f86d0" + "0" * 58,
                                 "task_id": "5b0c1e0e-3f4a-4c55-9a43-0d7f2b1f6a10", "element_id": "fix_team_roster",
                                 "organization_id": 3, "uploaded_by_name": "研究推進課 田中",
                                 "uploaded_at": "2026-04-01T09:35:00+09:00",
                                 "download": "/api/v1/attachments/3f9a0c6d2b7e41a8b5c4d3e2f1a0b9c8"}],
                      "total": 1, "page": 1, "per_page": 25}


SUBMISSION_EXAMPLE = {"items": [{"round": 2, "kind": "additional_mitigation", "kind_label": "追加的なリスク軽減措置",
                                 "submitted_at": "2026-05-01T10:00:00+09:00", "submitted_by": "inst_admin",
                                 "element_id": "approve_additional_mitigation", "sha256": "3a7bd3" + "0" * 58,
                                 "intact": True,
                                 "changes": ["措置を追加: M7 サイバーセキュリティ対策（期限: 2026-07-30）",
                                             "総合リスクレベルを変更: L3 → L2"],
                                 "content": {"format": "tejun-submission/1", "round": 2, "risk_level": "L2"}}],
                      "total": 1, "page": 1, "per_page": 25}


@blp.route("/cases/<int:case_id>/steps")
class CaseSteps(MethodView):
    @blp.arguments(StepQuerySchema, location="query")
    @blp.response(200, envelope(StepSchema, "CaseStepList"), example=STEP_EXAMPLE)
    def get(self, args, case_id):
        """The submitted forms of the case, oldest first, as the case page shows them to the caller: all of them
        (full view), those of the steps routed to the caller's organization (partners, ministries), none
        (researchers on the team)"""
        rows = reads.steps(services(), actor(), case_id, args["lang"])
        if args.get("element_id"):
            rows = [s for s in rows if s.element_id == args["element_id"]]
        return page_of(rows, args)


@blp.route("/cases/<int:case_id>/timeline")
class CaseTimeline(MethodView):
    @blp.arguments(TimelineQuerySchema, location="query")
    @blp.response(200, envelope(TimelineEntrySchema, "CaseTimeline"), example=TIMELINE_EXAMPLE)
    def get(self, args, case_id):
        """The case's history, oldest first, scoped like its page (a partner sees the events of its own steps)"""
        rows = []
        for entry in reads.timeline(services(), actor(), case_id, args["lang"]):
            event = entry.event
            if args.get("action") and event.action != args["action"]:
                continue
            if args.get("element_id") and event.element_id != args["element_id"]:
                continue
            rows.append({"seq": event.seq, "at": event.at, "action": event.action, "title": entry.title,
                         "actor": entry.actor, "element_id": event.element_id, "task_id": event.task_id})
        return page_of(rows, args)


@blp.route("/cases/<int:case_id>/tasks")
class CaseTasks(MethodView):
    @blp.arguments(CaseTaskQuerySchema, location="query")
    @blp.response(200, envelope(CaseTaskSchema, "CaseTaskList"), example=TASK_EXAMPLE)
    def get(self, args, case_id):
        """The case's open tasks the caller may see (as on its page): all (full view), those routed to their
        organization (partners, ministries), and those assigned to them; soonest due first"""
        rows = [i for i in reads.open_items(services(), actor(), case_id)
                if (not args.get("role") or i.role == args["role"])
                and (not args.get("element_id") or i.element_id == args["element_id"])]
        return page_of(rows, args)


@blp.route("/cases/<int:case_id>/team")
class CaseTeam(MethodView):
    @blp.response(200, TeamSchema, example=TEAM_EXAMPLE)
    def get(self, case_id):
        """The team roster as the caller may see it (one roster, not paged): all of it (full view), a partner
        institution its own team, nothing for others who see the case

        One object, not a paged list, on purpose: the team is one document, the roster the institution submitted
        as a whole (lead team and partner teams together, read from the case's workflow in one piece), so
        paging it would save the server no work, and pages fetched while the roster is revised could mix two
        versions of it. A project team is tens of people (a roster file imports at most 500 rows)."""
        return reads.team(services(), actor(), case_id)


@blp.route("/cases/<int:case_id>/attachments")
class CaseAttachments(MethodView):
    @blp.arguments(AttachmentQuerySchema, location="query")
    @blp.response(200, envelope(AttachmentSchema, "CaseAttachmentList"), example=ATTACHMENT_EXAMPLE)
    def get(self, args, case_id):
        """The case's evidence files the caller may download, newest first: those of the parts they see, and
        the ones they uploaded themselves"""
        rows = [a for a in reads.attachments(services(), actor(), case_id)
                if not args.get("element_id") or a.element_id == args["element_id"]]
        return page_of(rows, args)


@blp.route("/cases/<int:case_id>/submissions")
class CaseSubmissions(MethodView):
    @blp.arguments(LangPageQuerySchema, location="query")
    @blp.response(200, envelope(SubmissionSchema, "CaseSubmissionList"), example=SUBMISSION_EXAMPLE)
    def get(self, args, case_id):
        """What the institution submitted to the FA, one frozen package per round (first submission, each
        answer to the FA's questions, each additional-mitigation round), oldest first, each with what changed
        since the round before. Full views only (the FA once the institution submitted, the lead institution,
        auditors); an empty list for others who see the case"""
        rows = []
        with force_locale(args["lang"]):
            for entry in reads.rounds(services(), actor(), case_id, args["lang"]):
                package = entry.package
                rows.append({"round": package.round, "kind": package.kind,
                             "kind_label": submissions.kind_label(package.kind),
                             "submitted_at": package.created_at, "submitted_by": package.submitted_by_name,
                             "element_id": package.element_id, "sha256": package.sha256,
                             "intact": entry.intact, "changes": entry.changes, "content": entry.content})
        return page_of(rows, args)


@blp.route("/attachments/<public_id>")
class AttachmentDownload(MethodView):
    @blp.doc(responses={"200": {
        "description": "The file's bytes, as uploaded (checked against its SHA-256 first; bytes that differ are "
                       "never served), with the type detected at upload and `Content-Disposition: attachment`",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }})
    def get(self, public_id):
        """Download an evidence file (the same answer as the page's GET /attachments/<id>)"""
        svc = services()
        found = reads.download(svc, actor(), public_id)
        body = open_download(svc, found)
        response = send_file(body, mimetype=found.content_type, as_attachment=True,
                             download_name=found.original_filename, max_age=0, conditional=False, etag=False)
        response.content_length = found.size
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["Cache-Control"] = "private, no-store"
        return response
