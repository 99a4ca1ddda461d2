"""/api/v1/disclosures: a researcher's reusable disclosure profile and its certifications per case."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import disclosures
from ..disclosures import views as disclosure_views
from .context import actor, services
from .schemas import StrictSchema

blp = Blueprint("disclosures", __name__, url_prefix="/api/v1/disclosures",
                description="Disclosure profiles: one per researcher, reused by cases, certified per case")


class CertificationSchema(ma.Schema):
    case_id = ma.fields.Integer()
    case_reference = ma.fields.String()
    case_title = ma.fields.String()
    case_status = ma.fields.String()
    member_id = ma.fields.String()
    certification_date = ma.fields.Date()
    profile_version = ma.fields.Integer(allow_none=True)
    filled_by = ma.fields.String()
    recorded_at = ma.fields.DateTime()


class ProfileSchema(ma.Schema):
    user_id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    exists = ma.fields.Boolean()
    version = ma.fields.Integer(allow_none=True)
    updated_at = ma.fields.DateTime(allow_none=True)
    may_edit = ma.fields.Boolean()
    data = ma.fields.Dict(metadata={"description": "the `disclosure` object of forms/disclosure.schema.json, "
                                                   "without its per-case certification"})
    certifications = ma.fields.List(ma.fields.Nested(CertificationSchema))


class ProfileSaveSchema(StrictSchema):
    data = ma.fields.Dict(required=True)
    expected_version = ma.fields.Integer(load_default=None)


class SaveResultSchema(ma.Schema):
    version = ma.fields.Integer()
    changed_sections = ma.fields.List(ma.fields.String())
    follow_up_case_ids = ma.fields.List(ma.fields.Integer(), metadata={"description": "follow-up started now"})
    pending_case_ids = ma.fields.List(ma.fields.Integer(),
                                      metadata={"description": "follow-up starts once the case waits for one"})


def profile_body(view: disclosures.ProfileView) -> dict:
    profile = view.profile
    return {"user_id": view.user.id, "username": view.user.username, "display_name": view.user.display_name,
            "exists": profile is not None, "version": profile.version if profile else None,
            "updated_at": profile.updated_at if profile else None, "may_edit": view.may_edit,
            "data": profile.data if profile else {}, "certifications": view.certifications}


@blp.route("/me")
class MyProfile(MethodView):
    @blp.response(200, ProfileSchema)
    def get(self):
        """The signed-in researcher's own profile"""
        return profile_body(disclosure_views.profile(services(), actor(), actor().user_id))

    @blp.arguments(ProfileSaveSchema)
    @blp.response(200, SaveResultSchema)
    def put(self, args):
        """Save the own profile (422 lists problems by JSON pointer); running cases follow up on changes"""
        result = disclosures.save_profile(services(), actor(), actor().user_id, args["data"],
                                          args["expected_version"])
        return {"version": result.profile.version, "changed_sections": result.changed_sections,
                "follow_up_case_ids": result.follow_up_case_ids, "pending_case_ids": result.pending_case_ids}


@blp.route("/<int:user_id>")
class Profile(MethodView):
    @blp.response(200, ProfileSchema)
    def get(self, user_id):
        """A researcher's profile: the researcher, or a security officer of an institution they belong to"""
        return profile_body(disclosure_views.profile(services(), actor(), user_id))


class ConsentSchema(ma.Schema):
    case_id = ma.fields.Integer()
    case_reference = ma.fields.String()
    case_title = ma.fields.String()
    case_status = ma.fields.String()
    granted = ma.fields.Boolean(metadata={"description": "the researcher lets their institution's research-security "
                                                         "office start this case's disclosure form from the profile"})
    granted_at = ma.fields.DateTime(allow_none=True)


class ConsentListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ConsentSchema))


def _consent_body(view: disclosures.ConsentView) -> dict:
    return {"case_id": view.case_id, "case_reference": view.case_reference, "case_title": view.case_title,
            "case_status": view.case_status, "granted": view.granted, "granted_at": view.granted_at}


@blp.route("/me/consents")
class MyConsents(MethodView):
    @blp.response(200, ConsentListSchema)
    def get(self):
        """The cases whose team the researcher is on, each with their consent to the office's pre-fill"""
        return {"items": [_consent_body(c) for c in disclosure_views.consents(services(), actor())]}


@blp.route("/me/consents/<int:case_id>")
class MyConsent(MethodView):
    @blp.response(200, ConsentSchema)
    def put(self, case_id):
        """Consent: the own institution's office may start this case's disclosure form from the profile"""
        return _consent_body(disclosures.set_consent(services(), actor(), case_id, True))

    @blp.response(200, ConsentSchema)
    def delete(self, case_id):
        """Withdraw the consent for this case (forms already submitted stay as they were)"""
        return _consent_body(disclosures.set_consent(services(), actor(), case_id, False))
