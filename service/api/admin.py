"""/api/v1/admin: administration of organizations, users and role grants, for system administrators.

The same use cases as the administration pages (`service.auth.admin`), which check the role again and record
every change as an event on the `system` stream. For everyone else these operations do not exist (404, as the
pages answer), checked before anything in the request is read.

| route | what |
| --- | --- |
| GET, POST /api/v1/admin/organizations                 | list (kind, active, q), create |
| PATCH     /api/v1/admin/organizations/<id>            | rename, correct the country, deactivate / reactivate |
| GET, POST /api/v1/admin/users                         | list (q, organization_id, status), create with roles |
| GET       /api/v1/admin/users/<id>                    | one user with their grants |
| POST      /api/v1/admin/users/<id>/active             | deactivate (sessions end, tokens revoked) / reactivate |
| POST      /api/v1/admin/users/<id>/password           | new password (generated unless given; shown once) |
| POST      /api/v1/admin/users/<id>/grants             | grant a role in an organization |
| DELETE    /api/v1/admin/users/<id>/grants/<grant_id>  | revoke a grant |
"""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import validate

from ..auth import admin, admin_views
from ..auth.roles import ALL_ROLES, ORG_KINDS
from ..errors import N_, NotFound
from .context import actor, services
from .paging import ID, PageQuerySchema, envelope, page_of
from .schemas import StrictSchema

blp = Blueprint("administration", __name__, url_prefix="/api/v1/admin",
                description="Organizations, users and role grants (system administrators only)")


@blp.before_request
def only_admins():
    """After the API's sign-in guard: anyone but a system administrator meets a 404, whatever they send."""
    from flask_login import current_user

    if current_user.is_authenticated and not admin.is_admin(actor()):
        raise NotFound(N_("no such page"))


def documented(view):
    """Non-administrators get 404 here, also where the path names no object."""
    return blp.alt_response(404, "NOT_FOUND")(view)


class AdminOrganizationSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()
    name_en = ma.fields.String()
    kind = ma.fields.String()
    country = ma.fields.String()
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    members = ma.fields.Integer(metadata={"description": "people holding a role in it"})


class AdminOrganizationQuerySchema(PageQuerySchema):
    kind = ma.fields.String(validate=validate.OneOf(ORG_KINDS))
    active = ma.fields.Boolean()
    q = ma.fields.String(validate=validate.Length(min=1, max=100))


class OrganizationCreateSchema(StrictSchema):
    code = ma.fields.String(required=True, validate=validate.Length(max=64))
    name = ma.fields.String(required=True, validate=validate.Length(max=255))
    name_en = ma.fields.String(load_default="", validate=validate.Length(max=255))
    kind = ma.fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    country = ma.fields.String(load_default="JP", validate=validate.Length(max=2))


class OrganizationUpdateSchema(StrictSchema):
    name = ma.fields.String(validate=validate.Length(max=255))
    name_en = ma.fields.String(validate=validate.Length(max=255))
    country = ma.fields.String(validate=validate.Length(max=2))
    active = ma.fields.Boolean(metadata={"description": "false: deactivate (forms stop offering it, no new "
                                                        "grants; its cases and grants stay)"})


class GrantSchema(ma.Schema):
    id = ma.fields.Integer()
    organization_id = ma.fields.Integer()
    role = ma.fields.String()
    scope = ma.fields.String()
    created_at = ma.fields.DateTime()


class AdminUserSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    email = ma.fields.String()
    locale = ma.fields.String()
    erad_researcher_number = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()
    locked_until = ma.fields.DateTime(allow_none=True)
    last_login_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    grants = ma.fields.List(ma.fields.Nested(GrantSchema), attribute="memberships")


class AdminUserQuerySchema(PageQuerySchema):
    q = ma.fields.String(validate=validate.Length(min=1, max=100))
    organization_id = ma.fields.Integer(validate=ID)
    status = ma.fields.String(validate=validate.OneOf(["active", "inactive"]))


class UserCreateSchema(StrictSchema):
    username = ma.fields.String(required=True, validate=validate.Length(max=150))
    display_name = ma.fields.String(required=True, validate=validate.Length(max=255))
    email = ma.fields.String(required=True, validate=validate.Length(max=255))
    organization_id = ma.fields.Integer(required=True, validate=ID)
    roles = ma.fields.List(ma.fields.String(validate=validate.OneOf(sorted(ALL_ROLES))), required=True,
                           validate=validate.Length(min=1, max=len(ALL_ROLES)))
    auditor_scope = ma.fields.String(load_default="all", validate=validate.OneOf(admin.AUDITOR_SCOPES))
    password = ma.fields.String(load_default=None, allow_none=True, load_only=True,
                                validate=validate.Length(max=1024),
                                metadata={"description": "left out: a password is generated and answered once"})
    locale = ma.fields.String(load_default="ja", validate=validate.OneOf(["ja", "en"]))


class CreatedUserSchema(ma.Schema):
    user = ma.fields.Nested(AdminUserSchema)
    password = ma.fields.String(allow_none=True, metadata={"description": "the generated password (shown once)"})


class ActiveSchema(StrictSchema):
    active = ma.fields.Boolean(required=True)


class PasswordResetSchema(StrictSchema):
    password = ma.fields.String(load_default=None, allow_none=True, load_only=True,
                                validate=validate.Length(max=1024),
                                metadata={"description": "left out: a password is generated"})


class PasswordSchema(ma.Schema):
    password = ma.fields.String(allow_none=True, metadata={
        "description": "the generated password (shown once); null when the administrator gave one"})


class GrantCreateSchema(StrictSchema):
    organization_id = ma.fields.Integer(required=True, validate=ID)
    role = ma.fields.String(required=True, validate=validate.OneOf(sorted(ALL_ROLES)))
    scope = ma.fields.String(load_default="all", validate=validate.OneOf(admin.AUDITOR_SCOPES),
                             metadata={"description": "auditors only: `all` cases or the `fa`'s own"})


ORG_EXAMPLE = {"id": 3, "code": "univ-a", "name": "A大学", "name_en": "University A", "kind": "institution",
               "country": "JP", "active": True, "created_at": "2026-01-10T09:00:00+09:00", "members": 12}
USER_EXAMPLE = {"id": 12, "username": "tanaka", "display_name": "田中 花子", "email": "tanaka@univ-a.example.jp",
                "locale": "ja", "erad_researcher_number": None, "active": True, "locked_until": None,
                "last_login_at": None, "created_at": "2026-01-10T09:00:00+09:00",
                "grants": [{"id": 31, "organization_id": 3, "role": "security_officer", "scope": "organization",
                            "created_at": "2026-01-10T09:00:00+09:00"}]}


def _org(org, members: int | None = None) -> dict:
    body = {name: getattr(org, name) for name in AdminOrganizationSchema().fields if name != "members"}
    body["members"] = members
    return body


@blp.route("/organizations")
class AdminOrganizations(MethodView):
    @documented
    @blp.arguments(AdminOrganizationQuerySchema, location="query")
    @blp.response(200, envelope(AdminOrganizationSchema, "AdminOrganizationList"),
                  example={"items": [ORG_EXAMPLE], "total": 1, "page": 1, "per_page": 25})
    def get(self, args):
        """Every organization with how many people hold a role in it, by kind and name"""
        rows = admin_views.organizations(services(), actor())
        q = (args.get("q") or "").strip().lower()
        found = [_org(r.organization, r.members) for r in rows
                 if (not args.get("kind") or r.organization.kind == args["kind"])
                 and ("active" not in args or r.organization.active == args["active"])
                 and (not q or any(q in (value or "").lower() for value in (
                     r.organization.code, r.organization.name, r.organization.name_en)))]
        return page_of(found, args)

    @documented
    @blp.alt_response(409, "CONFLICT")
    @blp.arguments(OrganizationCreateSchema, example={"code": "univ-a", "name": "A大学", "name_en": "University A",
                                                      "kind": "institution", "country": "JP"})
    @blp.response(201, AdminOrganizationSchema, example=ORG_EXAMPLE)
    def post(self, args):
        """Create an organization (422 with a pointer per field: a code or name in use, a bad country code)"""
        return _org(admin.new_organization(services(), actor(), **args), 0)


@blp.route("/organizations/<int:organization_id>")
class AdminOrganization(MethodView):
    @documented
    @blp.alt_response(409, "CONFLICT")
    @blp.arguments(OrganizationUpdateSchema, example={"active": False})
    @blp.response(200, AdminOrganizationSchema, example={**ORG_EXAMPLE, "active": False})
    def patch(self, args, organization_id):
        """Rename an organization, correct its country, deactivate (`active: false`) or reactivate it"""
        org, members = admin.edit_organization(services(), actor(), organization_id=organization_id,
                                               name=args.get("name"), name_en=args.get("name_en"),
                                               country=args.get("country"), active=args.get("active"))
        return _org(org, members)


@blp.route("/users")
class AdminUsers(MethodView):
    @documented
    @blp.arguments(AdminUserQuerySchema, location="query")
    @blp.response(200, envelope(AdminUserSchema, "AdminUserList"),
                  example={"items": [USER_EXAMPLE], "total": 1, "page": 1, "per_page": 25})
    def get(self, args):
        """Users matching a search (username, name or e-mail), in one organization, of one status"""
        found = admin_views.user_page(services(), actor(), q=args.get("q") or "",
                                      organization_id=args.get("organization_id"), status=args.get("status") or "",
                                      page=args["page"], per_page=args["per_page"])
        items = found.items if found.page == args["page"] else []
        return {"items": items, "total": found.total, "page": args["page"], "per_page": args["per_page"]}

    @documented
    @blp.alt_response(409, "CONFLICT")
    @blp.arguments(UserCreateSchema, example={"username": "tanaka", "display_name": "田中 花子",
                                              "email": "tanaka@univ-a.example.jp", "organization_id": 3,
                                              "roles": ["security_officer"]})
    @blp.response(201, CreatedUserSchema, example={"user": USER_EXAMPLE, "password": "Tejun-3x..."})
    def post(self, args):
        """Create a user holding roles in one organization; answers the generated password once (null when the
        request gave one)"""
        user, generated = admin.new_user_loaded(services(), actor(), **args)
        return {"user": user, "password": generated}


@blp.route("/users/<int:user_id>")
class AdminUser(MethodView):
    @blp.response(200, AdminUserSchema, example=USER_EXAMPLE)
    def get(self, user_id):
        """One user with their grants"""
        return admin_views.user(services(), actor(), user_id)


@blp.route("/users/<int:user_id>/active")
class AdminUserActive(MethodView):
    @blp.arguments(ActiveSchema, example={"active": False})
    @blp.response(200, AdminUserSchema, example={**USER_EXAMPLE, "active": False})
    def post(self, args, user_id):
        """Deactivate (`active: false`: no sign-in, every session ends, every API token is revoked for good) or
        reactivate an account; 400 for one's own deactivation"""
        return admin.change_active(services(), actor(), user_id=user_id, active=args["active"])


@blp.route("/users/<int:user_id>/password")
class AdminUserPassword(MethodView):
    @blp.arguments(PasswordResetSchema, example={})
    @blp.response(200, PasswordSchema, example={"password": "Tejun-3x..."})
    def post(self, args, user_id):
        """A new password, generated unless given (422 when it breaks the rules): the user's sessions end, their
        tokens are revoked, a lockout is lifted"""
        _username, new = admin.new_password(services(), actor(), user_id=user_id, password=args.get("password"))
        return {"password": None if args.get("password") else new}


@blp.route("/users/<int:user_id>/grants")
class AdminUserGrants(MethodView):
    @blp.alt_response(409, "CONFLICT")
    @blp.arguments(GrantCreateSchema, example={"organization_id": 3, "role": "institution_admin"})
    @blp.response(201, GrantSchema, example=USER_EXAMPLE["grants"][0])
    def post(self, args, user_id):
        """Grant a role in an organization (422: a role its kind cannot hold, an inactive organization, a grant
        held already)"""
        return admin.grant(services(), actor(), user_id=user_id, **args)


@blp.route("/users/<int:user_id>/grants/<int:grant_id>")
class AdminUserGrant(MethodView):
    @blp.alt_response(409, "CONFLICT")
    @blp.response(204)
    def delete(self, user_id, grant_id):
        """Revoke a grant (404 when the user holds no such grant; 400 for one's own administrator role)"""
        admin.revoke(services(), actor(), user_id=user_id, membership_id=grant_id)
