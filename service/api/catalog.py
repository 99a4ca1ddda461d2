"""What cases refer to: programmes, calls, organizations and the reference lists; starting a programme
designation; a call's e-Rad reconciliation file.

| route | permission |
| --- | --- |
| GET /api/v1/programs, /programs/<id>, /calls, /calls/<id> | everyone signed in (published programmes and calls) |
| GET /api/v1/organizations, /organizations/<id> | everyone signed in (the names forms offer) |
| GET /api/v1/reference/technology_areas, /risk_levels, /mitigation_catalog | everyone signed in |
| POST /api/v1/designations | FA officers and managers, for their own funding agency; with `ministry_id`, that
  ministry's officers, for any funding agency (else 404), as the page |
| GET /api/v1/calls/<id>/erad.csv | the call's FA staff and auditors in scope; 403 for others who see the call |
"""

from __future__ import annotations

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from ..cases import designation
from ..erad import export as erad_export
from ..reference import catalog
from .context import actor, services
from .paging import ID, PageQuerySchema, envelope
from .schemas import OutcomeSchema, StrictSchema

blp = Blueprint("catalog", __name__, url_prefix="/api/v1",
                description="Programmes, calls, organizations and reference lists; designations; e-Rad files")

SEARCH = ma.fields.String(validate=validate.Length(min=1, max=200),
                          metadata={"description": "part of the code or the title / name (either language)"})


class ProgramQuerySchema(PageQuerySchema):
    funding_agency_id = ma.fields.Integer(validate=ID)
    designated = ma.fields.Boolean()
    q = SEARCH


class ProgramSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    title = ma.fields.String()
    title_en = ma.fields.String()
    funding_agency_id = ma.fields.Integer()
    designated = ma.fields.Boolean()
    designation_scope = ma.fields.String(metadata={"description": "whole | projects"})
    rationale = ma.fields.String()
    designated_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    areas = ma.fields.Function(lambda p: [a.code for a in p.areas],
                               metadata={"description": "critical technology area codes"})
    call_ids = ma.fields.Function(lambda p: [c.id for c in p.calls])


class CallQuerySchema(PageQuerySchema):
    program_id = ma.fields.Integer(validate=ID)
    funding_agency_id = ma.fields.Integer(validate=ID)
    status = ma.fields.String(validate=validate.OneOf(["draft", "open", "closed"]))
    q = SEARCH


class CallSchema(ma.Schema):
    id = ma.fields.Integer()
    program_id = ma.fields.Integer()
    code = ma.fields.String()
    title = ma.fields.String()
    title_en = ma.fields.String()
    risk_deadline = ma.fields.Date()
    follow_up_interval = ma.fields.String(metadata={"description": "ISO 8601 duration between follow-ups"})
    status = ma.fields.String(metadata={"description": "draft | open | closed"})
    published_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()


class OrganizationQuerySchema(PageQuerySchema):
    kind = ma.fields.String(validate=validate.OneOf(["funding_agency", "institution", "ministry"]))
    active = ma.fields.Boolean()
    q = SEARCH


class OrganizationSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    name_en = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "funding_agency | institution | ministry"})
    country = ma.fields.String()
    active = ma.fields.Boolean()


class TechnologyAreaSchema(ma.Schema):
    code = ma.fields.String()
    position = ma.fields.Integer()
    name_ja = ma.fields.String()
    name_en = ma.fields.String()
    list_version = ma.fields.Function(lambda a: a.area_list.version)


class RiskLevelSchema(ma.Schema):
    code = ma.fields.String()
    rank = ma.fields.Integer()
    name_ja = ma.fields.String()
    name_en = ma.fields.String()


class MeasureQuerySchema(PageQuerySchema):
    active = ma.fields.Boolean()


class MeasureSchema(ma.Schema):
    code = ma.fields.String()
    position = ma.fields.Integer()
    name_ja = ma.fields.String()
    name_en = ma.fields.String()
    description_ja = ma.fields.String()
    description_en = ma.fields.String()
    active = ma.fields.Boolean()


class DesignationStartSchema(StrictSchema):
    funding_agency_id = ma.fields.Integer(required=True, validate=ID)
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))
    ministry_id = ma.fields.Integer(validate=ID, metadata={
        "description": "the designating ministry (its officers only; 「国又はFAが指定する」): the ministry drafts the "
                       "designation and the funding agency publishes the call; omitted, the funding agency designates"})


class EradQuerySchema(StrictSchema):
    lang = ma.fields.String(load_default="ja", validate=validate.OneOf(["ja", "en"]),
                            metadata={"description": "the header row's language"})


PROGRAM_EXAMPLE = {"id": 1, "code": "K-PROG", "title": "経済安全保障重要技術育成プログラム",
                   "title_en": "Key and Advanced Technology R&D through Cross Community Collaboration Program",
                   "funding_agency_id": 1, "designated": True, "designation_scope": "whole",
                   "rationale": "重要技術領域に該当", "designated_at": "2026-02-01T10:00:00+09:00",
                   "created_at": "2026-01-20T10:00:00+09:00", "areas": ["9", "10"], "call_ids": [1]}
CALL_EXAMPLE = {"id": 1, "program_id": 1, "code": "K-PROG-01", "title": "令和8年度公募", "title_en": "FY2026 call",
                "risk_deadline": "2027-01-29", "follow_up_interval": "P12M", "status": "open",
                "published_at": "2026-02-01T10:00:00+09:00", "created_at": "2026-02-01T10:00:00+09:00"}
ORG_EXAMPLE = {"id": 3, "code": "univ-a", "name": "A大学", "name_en": "University A", "kind": "institution",
               "country": "JP", "active": True}


def _page(example):
    return {"items": [example], "total": 1, "page": 1, "per_page": 25}


@blp.route("/programs")
class Programs(MethodView):
    @blp.arguments(ProgramQuerySchema, location="query")
    @blp.response(200, envelope(ProgramSchema, "ProgramList"), example=_page(PROGRAM_EXAMPLE))
    def get(self, args):
        """Specified R&D programmes, by code"""
        return catalog.programs(services(), args["page"], args["per_page"],
                                funding_agency_id=args.get("funding_agency_id"), designated=args.get("designated"),
                                q=args.get("q"))


@blp.route("/programs/<int:program_id>")
class ProgramResource(MethodView):
    @blp.response(200, ProgramSchema, example=PROGRAM_EXAMPLE)
    def get(self, program_id):
        """One programme"""
        return catalog.program(services(), program_id)


@blp.route("/calls")
class Calls(MethodView):
    @blp.arguments(CallQuerySchema, location="query")
    @blp.response(200, envelope(CallSchema, "CallList"), example=_page(CALL_EXAMPLE))
    def get(self, args):
        """Calls for proposals, by code"""
        return catalog.calls(services(), args["page"], args["per_page"], program_id=args.get("program_id"),
                             funding_agency_id=args.get("funding_agency_id"), status=args.get("status"),
                             q=args.get("q"))


@blp.route("/calls/<int:call_id>")
class CallResource(MethodView):
    @blp.response(200, CallSchema, example=CALL_EXAMPLE)
    def get(self, call_id):
        """One call"""
        return catalog.call(services(), call_id)


@blp.route("/calls/<int:call_id>/erad.csv")
class CallEradExport(MethodView):
    @blp.arguments(EradQuerySchema, location="query")
    @blp.doc(responses={"200": {
        "description": "One row per project case of the call the caller sees in full: UTF-8 with BOM, CRLF; "
                       "the columns are documented in docs/erad.md (call code, case reference, e-Rad project "
                       "number, title, lead institution, PI name, PI e-Rad researcher number, team members' "
                       "numbers, status, risk level, decision date)",
        "content": {"text/csv": {"schema": {"type": "string"}, "example": (
            "\ufeff公募コード,案件番号,e-Rad課題番号,研究課題名,研究代表機関,研究代表者氏名,研究代表者e-Rad研究者番号,"
            "研究者番号（チーム）,状況,リスクレベル,決定日\r\n"
            "K-PROG-01,RS-2026-00042,JP26-0042,量子センサの研究,A大学,山田 太郎,12345678,23456789;34567890,"
            "completed:accepted,L1,2026-09-30\r\n")}},
    }})
    def get(self, args, call_id):
        """The call's e-Rad reconciliation file (CSV) for the funding agency: its staff and auditors in scope;
        403 for everyone else"""
        filename, body = erad_export.call_csv(services(), actor(), call_id, args["lang"])
        return Response(body, mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"})


@blp.route("/organizations")
class Organizations(MethodView):
    @blp.arguments(OrganizationQuerySchema, location="query")
    @blp.response(200, envelope(OrganizationSchema, "OrganizationList"), example=_page(ORG_EXAMPLE))
    def get(self, args):
        """Funding agencies, institutions and ministries, by kind and name"""
        return catalog.organizations(services(), args["page"], args["per_page"], kind=args.get("kind"),
                                     active=args.get("active"), q=args.get("q"))


@blp.route("/organizations/<int:organization_id>")
class OrganizationResource(MethodView):
    @blp.response(200, OrganizationSchema, example=ORG_EXAMPLE)
    def get(self, organization_id):
        """One organization"""
        return catalog.organization(services(), organization_id)


@blp.route("/reference/technology_areas")
class TechnologyAreas(MethodView):
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, envelope(TechnologyAreaSchema, "TechnologyAreaList"), example={"items": [
        {"code": "9", "position": 9, "name_ja": "量子情報科学", "name_en": "Quantum information science",
         "list_version": "2022"}], "total": 1, "page": 1, "per_page": 25})
    def get(self, args):
        """The current list of critical technology areas (what forms offer as `technology_areas`)"""
        return catalog.technology_areas(services(), args["page"], args["per_page"])


@blp.route("/reference/risk_levels")
class RiskLevels(MethodView):
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, envelope(RiskLevelSchema, "RiskLevelList"), example={"items": [
        {"code": "L1", "rank": 1, "name_ja": "低", "name_en": "Low"}], "total": 1, "page": 1, "per_page": 25})
    def get(self, args):
        """Risk levels, lowest first"""
        return catalog.risk_levels(services(), args["page"], args["per_page"])


@blp.route("/reference/mitigation_catalog")
class MitigationCatalog(MethodView):
    @blp.arguments(MeasureQuerySchema, location="query")
    @blp.response(200, envelope(MeasureSchema, "MitigationMeasureList"), example={"items": [
        {"code": "M7", "position": 7, "name_ja": "多要素認証", "name_en": "Multi-factor authentication",
         "description_ja": "", "description_en": "", "active": True}], "total": 1, "page": 1, "per_page": 25})
    def get(self, args):
        """The catalog of risk mitigation measures (forms offer the active ones)"""
        return catalog.mitigation_measures(services(), args["page"], args["per_page"], active=args.get("active"))


@blp.route("/designations")
class Designations(MethodView):
    @blp.arguments(DesignationStartSchema, example={"funding_agency_id": 1, "title": "重要技術育成プログラムの指定"})
    @blp.response(201, OutcomeSchema, example={"case_id": 42, "version": 2, "status": "running",
                                               "next_task_ids": ["0d4c7a52-8d1e-4a0e-9d57-4c1b7f0e2a11"],
                                               "error": None})
    @blp.alt_response(404, "NOT_FOUND")
    def post(self, args):
        """Start a programme designation case, as the page does: FA officers and managers of that funding agency,
        or with `ministry_id` that ministry's officers for a programme of any funding agency; else 404. Its first
        task is the draft (the ministry's, when a ministry designates)"""
        return designation.start_designation(services(), actor(), funding_agency_id=args["funding_agency_id"],
                                             title=args["title"], ministry_id=args.get("ministry_id"))
