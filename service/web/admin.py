"""Pages for system administrators: organizations, users, role grants, passwords, account status.

Every route needs a signed-in user with the role `system_admin`; anyone else gets 404, as if the pages did
not exist (as for the designer's pages). The use cases in `service.auth.admin` check the role again and
record every change as an event on the `system` stream.

| route | what |
| --- | --- |
| GET       /admin/                                | (redirects to the user list) |
| GET       /admin/organizations                   | organizations: kind, name, code, members |
| GET, POST /admin/organizations/new               | create an organization |
| GET       /admin/organizations/<id>              | one organization: its members and their roles |
| GET       /admin/users?q=&organization_id=&status=&page= | users, searched and paged |
| GET, POST /admin/users/new                       | create a user with roles in one organization |
| GET       /admin/users/<id>                      | one user: grants, status, password, lockout |
| POST      /admin/users/<id>/grants               | grant a role (organization_id, role, scope) |
| POST      /admin/users/<id>/revoke               | revoke a grant (membership_id) |
| POST      /admin/users/<id>/active               | deactivate (active=0) or reactivate (active=1) |
| POST      /admin/users/<id>/password             | new password (mode=generate, or mode=set with password) |
| POST      /admin/users/<id>/unlock               | lift the lockout after failed sign-ins |
| GET       /admin/cases-in-error                  | cases stopped in error (reference, why), each with a restart |
|                                                  | button (POST /cases/<id>/retry, `commands.retry_case`) |

A generated password is shown once, in the answer to the POST that made it; it is stored nowhere else.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import clock
from ..auth import admin, admin_views
from ..auth.roles import ALL_ROLES, ORG_KIND_ROLES, ORG_KINDS
from ..errors import Conflict, InvalidRequest, NotFound, ValidationFailed
from ..input_guard import ID_MAX
from ..wording import labels
from .blueprint import services
from .errors import message_for

bp = Blueprint("admin", __name__, url_prefix="/admin")

KINDS = {
    "funding_agency": _l("Funding agency"),
    "institution": _l("Research institution"),
    "ministry": _l("Ministry"),
}
SCOPES = {
    "all": _l("All cases"),
    "fa": _l("Cases of this funding agency only"),
    "organization": _l("This organization"),
}
ROLE_ORDER = ("fa_officer", "fa_manager", "security_officer", "institution_admin", "researcher", "ministry_officer",
              "process_designer", "auditor", "system_admin")


@bp.before_request
def only_admins():
    """Signed-in system administrators only; for everyone else these pages do not exist."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not admin.is_admin(current_user.actor):
        raise NotFound("no such page")
    return None


@bp.app_context_processor
def admin_helpers():
    return {"kind_label": lambda code: labels.pick(code, KINDS), "scope_label": lambda code: labels.pick(code, SCOPES)}


def _actor():
    return current_user.actor


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    """`{pointer, message}` from the use case -> {field name: message in the page's language}."""
    found: dict[str, str] = {}
    for error in exc.errors:
        text = gettext(error["message"])
        found.setdefault(error["pointer"].lstrip("/"), text[:1].upper() + text[1:])
    return found


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= ID_MAX else None


def _roles_by_kind() -> dict[str, list[str]]:
    return {kind: [r for r in ROLE_ORDER if r in ORG_KIND_ROLES[kind]] for kind in ORG_KINDS}


@bp.get("/")
@login_required
def index():
    return redirect(url_for("admin.users"))


@bp.get("/cases-in-error")
@login_required
def cases_in_error():
    from ..cases import queries

    rows = queries.cases_in_error_for(services(), _actor())
    return render_template("admin/cases_in_error.html", rows=rows)


# -- organizations ---------------------------------------------------------------------------------------


@bp.get("/organizations")
@login_required
def organizations():
    return render_template("admin/organizations.html", rows=admin_views.organizations(services(), _actor()))


@bp.route("/organizations/new", methods=["GET", "POST"])
@login_required
def organization_new():
    values = {"code": "", "name": "", "name_en": "", "kind": "", "country": "JP"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values.update({key: (request.form.get(key) or "").strip() for key in values})
        try:
            org_id = admin.new_organization(services(), _actor(), **values).id
        except ValidationFailed as exc:
            errors = _field_errors(exc)
        except Conflict:
            errors = {"code": gettext("Another organization was created with this code or name meanwhile.")}
        else:
            flash(gettext("Organization %(name)s created.", name=values["name"]), "success")
            return redirect(url_for("admin.organization", organization_id=org_id))
    return render_template("admin/organization_new.html", values=values, errors=errors,
                           roles_by_kind=_roles_by_kind()), 422 if errors else 200


@bp.get("/organizations/<int:organization_id>")
@login_required
def organization(organization_id: int):
    org, members = admin_views.organization(services(), _actor(), organization_id)
    return render_template("admin/organization.html", org=org, members=members,
                           valid_roles=[r for r in ROLE_ORDER if r in ORG_KIND_ROLES[org.kind]])


# -- users -----------------------------------------------------------------------------------------------


@bp.get("/users")
@login_required
def users():
    q = (request.args.get("q") or "").strip()[:100]
    organization_id = _int(request.args.get("organization_id"))
    status = request.args.get("status") if request.args.get("status") in ("active", "inactive") else ""
    page = _int(request.args.get("page")) or 1
    found, orgs = admin_views.users(services(), _actor(), q=q, organization_id=organization_id, status=status,
                                    page=page)
    return render_template("admin/users.html", page=found, q=q, organization_id=organization_id,
                           status=status, orgs=orgs)


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def user_new():
    values = {"username": "", "display_name": "", "email": "", "organization_id": _int(request.args.get("org")),
              "roles": [], "auditor_scope": "all", "locale": "ja"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values.update(
            username=(request.form.get("username") or "").strip(),
            display_name=(request.form.get("display_name") or "").strip(),
            email=(request.form.get("email") or "").strip(),
            organization_id=_int(request.form.get("organization_id")),
            roles=[r for r in request.form.getlist("roles") if r in ALL_ROLES],
            auditor_scope=request.form.get("auditor_scope") or "all",
            locale=request.form.get("locale") or "ja",
        )
        unknown = [r for r in request.form.getlist("roles") if r not in ALL_ROLES]
        password = request.form.get("password") or ""
        if unknown:
            errors = {"roles": gettext("Choose roles from the list.")}
        else:
            try:
                user, generated = admin.new_user(services(), _actor(), password=password or None, **values)
                user_id = user.id
            except ValidationFailed as exc:
                errors = _field_errors(exc)
            except Conflict:
                errors = {"username": gettext("This username was taken meanwhile.")}
            else:
                if generated is None:
                    flash(gettext("User %(username)s created.", username=values["username"]), "success")
                    return redirect(url_for("admin.user", user_id=user_id))
                return render_template("admin/password.html", username=values["username"], user_id=user_id,
                                       password=generated, created=True)
    orgs = admin_views.active_organizations(services(), _actor())
    return render_template("admin/user_new.html", values=values, errors=errors, orgs=orgs,
                           roles_by_kind=_roles_by_kind(), role_order=ROLE_ORDER), 422 if errors else 200


def _user_page(user_id: int, errors: dict[str, str] | None = None, values: dict | None = None, status: int = 200):
    user, orgs = admin_views.user_with_organizations(services(), _actor(), user_id)
    locked = user.locked_until is not None and user.locked_until > clock.now()
    grants = sorted(user.memberships, key=lambda m: (m.organization.name, ROLE_ORDER.index(m.role)
                                                      if m.role in ROLE_ORDER else 99))
    return render_template("admin/user.html", user=user, grants=grants, orgs=orgs, locked=locked,
                           errors=errors or {}, values=values or {}, roles_by_kind=_roles_by_kind(),
                           role_order=ROLE_ORDER, is_self=user.id == current_user.user_id), status


@bp.get("/users/<int:user_id>")
@login_required
def user(user_id: int):
    return _user_page(user_id)


@bp.post("/users/<int:user_id>/grants")
@login_required
def grant(user_id: int):
    values = {"organization_id": _int(request.form.get("organization_id")), "role": request.form.get("role") or "",
              "scope": request.form.get("scope") or "all"}
    try:
        org_name = labels.local(*admin.grant_named(services(), _actor(), user_id=user_id, **values))
    except ValidationFailed as exc:
        return _user_page(user_id, errors=_field_errors(exc), values=values, status=422)
    except Conflict:
        flash(gettext("Someone else changed this user meanwhile. Please check and try again."), "warning")
    else:
        flash(gettext("Role %(role)s granted in %(organization)s.", role=labels.pick(values["role"], labels.ROLES),
                      organization=org_name), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/revoke")
@login_required
def revoke(user_id: int):
    membership_id = _int(request.form.get("membership_id"))
    if membership_id is None:
        admin_views.user(services(), _actor(), user_id)  # 404 for an unknown user
        flash(gettext("Nothing changed: choose the role to revoke."), "error")
        return redirect(url_for("admin.user", user_id=user_id))
    try:
        role = admin.revoke(services(), _actor(), user_id=user_id, membership_id=membership_id).role
    except NotFound:
        flash(gettext("The role was not revoked: the user no longer holds it."), "warning")
    except InvalidRequest as exc:
        flash(message_for(exc), "error")
    except Conflict:
        flash(gettext("Someone else changed this user meanwhile. Please check and try again."), "warning")
    else:
        flash(gettext("Role %(role)s revoked.", role=labels.pick(role, labels.ROLES)), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/active")
@login_required
def set_active(user_id: int):
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        admin_views.user(services(), _actor(), user_id)  # 404 for an unknown user
        flash(gettext("Nothing changed: choose to deactivate or to reactivate the account."), "error")
        return redirect(url_for("admin.user", user_id=user_id))
    try:
        admin.change_active(services(), _actor(), user_id=user_id, active=wanted == "1")
    except InvalidRequest as exc:
        flash(message_for(exc), "error")
    else:
        flash(gettext("The account is active again.") if wanted == "1"
              else gettext("The account is deactivated: it can no longer sign in."), "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/password")
@login_required
def password(user_id: int):
    mode = request.form.get("mode")
    given = request.form.get("password") or ""
    values = {"mode": mode}
    if mode not in ("generate", "set") or (mode == "set" and not given):
        field = "password" if mode == "set" else "mode"
        message = gettext("Enter the new password.") if mode == "set" else gettext(
            "Choose whether to generate a password or to set one.")
        return _user_page(user_id, errors={field: message}, values=values, status=422)
    try:
        username, new = admin.new_password(services(), _actor(), user_id=user_id,
                                           password=given if mode == "set" else None)
    except ValidationFailed as exc:
        return _user_page(user_id, errors=_field_errors(exc), values=values, status=422)
    if mode == "set":
        flash(gettext("The password of %(username)s is changed; their sessions have ended.", username=username),
              "success")
        return redirect(url_for("admin.user", user_id=user_id))
    return render_template("admin/password.html", username=username, user_id=user_id, password=new, created=False)


@bp.post("/users/<int:user_id>/unlock")
@login_required
def unlock(user_id: int):
    lifted = admin.lift_lockout(services(), _actor(), user_id=user_id)
    if lifted:
        flash(gettext("The lockout is lifted: the user may sign in again."), "success")
    else:
        flash(gettext("The account was not locked."), "info")
    return redirect(url_for("admin.user", user_id=user_id))
