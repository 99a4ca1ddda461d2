"""/api/v1/screening: list snapshots, a case's screening subjects and hits, reviewing a hit."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from ..screening import lists as screening_lists
from ..screening import review
from ..screening import views as screening_views
from .context import actor, services
from .schemas import StrictSchema

blp = Blueprint("screening", __name__, url_prefix="/api/v1/screening",
                description="Restricted-party screening: list snapshots, hits and their review")


class SnapshotSchema(ma.Schema):
    id = ma.fields.Integer()
    source = ma.fields.String()
    organization_id = ma.fields.Integer(allow_none=True)
    label = ma.fields.String()
    list_date = ma.fields.Date()
    file_name = ma.fields.String()
    checksum = ma.fields.String()
    row_count = ma.fields.Integer()
    skipped_rows = ma.fields.Integer()
    imported_by_name = ma.fields.String()
    imported_at = ma.fields.DateTime()


class HitSchema(ma.Schema):
    id = ma.fields.Integer()
    source = ma.fields.String()
    snapshot_id = ma.fields.Integer()
    entry_key = ma.fields.String()
    entry_name = ma.fields.String()
    score = ma.fields.Float()
    classification = ma.fields.String(metadata={"description": "exact | probable | possible"})
    evidence = ma.fields.Dict(metadata={"description": "which name matched which entry name, after which "
                                                       "normalizations"})
    suggested_relation = ma.fields.String(allow_none=True)
    suggested_end_year = ma.fields.Integer(allow_none=True)
    found_by = ma.fields.String()
    found_at = ma.fields.DateTime()
    decision = ma.fields.String(allow_none=True)
    listed_relation = ma.fields.String(allow_none=True)
    past_affiliation_end_year = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    reviewer_name = ma.fields.String(allow_none=True)
    reviewed_at = ma.fields.DateTime(allow_none=True)
    carried_from_id = ma.fields.Integer(allow_none=True)


class SubjectSchema(ma.Schema):
    subject_id = ma.fields.String()
    subject_type = ma.fields.String()
    name = ma.fields.String()
    aliases = ma.fields.List(ma.fields.Dict())
    affiliations = ma.fields.List(ma.fields.Dict())
    last_screened_at = ma.fields.DateTime()
    hits = ma.fields.List(ma.fields.Nested(HitSchema))


class CaseScreeningSchema(ma.Schema):
    case_id = ma.fields.Integer()
    may_review = ma.fields.Boolean()
    open_hits = ma.fields.Integer()
    snapshots = ma.fields.List(ma.fields.Nested(SnapshotSchema))
    subjects = ma.fields.List(ma.fields.Nested(SubjectSchema))


class ReviewSchema(StrictSchema):
    decision = ma.fields.String(required=True, validate=validate.OneOf(review.DECISIONS))
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=4000))
    listed_relation = ma.fields.String(load_default=None, validate=validate.OneOf(review.RELATIONS))
    past_affiliation_end_year = ma.fields.Integer(load_default=None, validate=validate.Range(min=1950, max=2100))


def screening_view(case_id: int) -> dict:
    found = screening_views.case_screening(services(), actor(), case_id)
    subjects = []
    for entry in found["subjects"]:
        subject = entry["subject"]
        subjects.append({**{f: getattr(subject, f) for f in ("subject_id", "subject_type", "name", "aliases",
                                                                "affiliations", "last_screened_at")},
                         "hits": entry["hits"]})
    return {"case_id": case_id, "may_review": found["may_review"], "open_hits": found["open_hits"],
            "snapshots": found["snapshots"], "subjects": subjects}


@blp.route("/snapshots")
class Snapshots(MethodView):
    @blp.response(200, SnapshotSchema(many=True))
    def get(self):
        """Imported list snapshots, newest first (an institution's own lists only for its people)"""
        return screening_lists.snapshots_for(services(), actor())


@blp.route("/cases/<int:case_id>")
class CaseScreening(MethodView):
    @blp.response(200, CaseScreeningSchema)
    def get(self, case_id):
        """A case's screened subjects with their hits on the lists in force (lead institution, FA, auditors)"""
        return screening_view(case_id)


@blp.route("/hits/<int:hit_id>/review")
class HitReview(MethodView):
    @blp.arguments(ReviewSchema)
    @blp.response(200, HitSchema)
    def post(self, args, hit_id):
        """Decide on a hit: confirmed match (with the relation) or false positive, with a reason"""
        return review.review_hit(services(), actor(), hit_id, **args)
