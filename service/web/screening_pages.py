"""Pages for restricted-party screening and disclosure profiles (blueprint `screening_pages`).

| route | permission |
| --- | --- |
| GET  /disclosure                    | signed in: the user's own disclosure profile and its certifications |
| POST /disclosure                    | signed in: save the own profile (the disclosure form's data, validated) |
| POST /disclosure/consents/<case_id> | on that case's team: consent to (or withdraw from) the office's pre-fill |
| GET  /disclosure/<user_id>          | the researcher, or a security officer of an institution they belong to |
| GET  /screening/cases/<case_id>     | full view of the case: subjects, hits with their evidence, decisions |
| POST /screening/hits/<hit_id>/review | the lead institution's security officers |
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import disclosures
from ..api.problems import problem
from ..disclosures import views as disclosure_views
from ..errors import Conflict, Forbidden, InvalidRequest, NotFound, ValidationFailed
from ..input_guard import parse_text
from ..screening import review as screening_review
from ..screening import views as screening_views
from ..screening.sources import SOURCES
from ..wording import labels
from ..wording.render import describe
from .problems import field_errors, json_problem

bp = Blueprint("screening_pages", __name__, template_folder="templates")


def services():
    return current_app.extensions["tejun"]


def _profile_page(user_id: int, *, text: str | None = None, errors=None, status: int = 200):
    """The profile as the disclosure form (its owner edits it; a security officer reads it, labelled)."""
    try:
        found = disclosure_views.profile_page(services(), current_user.actor, user_id, labels.lang())
    except NotFound:
        abort(404)
    view, schema = found.view, found.schema
    data = view.profile.data if view.profile else {}
    return render_template(
        "screening/disclosure.html", view=view, errors=errors or [], consents=found.consents,
        sections=disclosures.section_titles(schema, sorted(data)), schema=schema, ui_schema=found.ui_schema,
        data={"disclosure": data}, shown=describe(schema, {"disclosure": data}) if data else None,
    ), status


@bp.get("/disclosure")
@login_required
def my_disclosure():
    return _profile_page(current_user.actor.user_id)


@bp.post("/disclosure")
@login_required
def save_my_disclosure():
    """The form (form.js) sends {"data": {"disclosure": {...}}, "expected_version": n} and gets {next_url} or a
    problem with field errors; a plain form post with the profile as JSON text (`profile`) still works."""
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        data = (body.get("data") or {}).get("disclosure") if isinstance(body.get("data"), dict) else None
        expected = body.get("expected_version")
        if not isinstance(data, dict) or (expected is not None and (isinstance(expected, bool)
                                                                      or not isinstance(expected, int))):
            return problem(400, _("Invalid request"), _("Send the form data as {\"data\": {...}}."))
        try:
            result = disclosures.save_profile(services(), current_user.actor, current_user.actor.user_id,
                                              _nested(data), expected)
        except (ValidationFailed, Conflict) as exc:
            return json_problem(exc)
        _saved(result)
        return {"next_url": url_for("screening_pages.my_disclosure")}
    text = request.form.get("profile", "")
    try:
        data = parse_text(text or "{}")  # strict JSON, no NUL or lone surrogates (service/input_guard.py)
    except ValueError as exc:
        flash(_("That is not valid JSON: %(error)s", error=str(exc)), "error")
        return _profile_page(current_user.actor.user_id, status=422)
    expected = request.form.get("expected_version", type=int)
    try:
        result = disclosures.save_profile(services(), current_user.actor, current_user.actor.user_id, data, expected)
    except ValidationFailed as exc:
        flash(_("Please correct the marked fields."), "error")
        return _profile_page(current_user.actor.user_id, errors=field_errors(exc.errors), status=422)
    except Conflict:
        flash(_("Your profile changed meanwhile (another window?): reload it and try again."), "warning")
        return _profile_page(current_user.actor.user_id, status=409)
    _saved(result)
    return redirect(url_for("screening_pages.my_disclosure"))


def _nested(data: dict) -> dict:
    """The form's data, checked like any JSON the service accepts (no NUL, no lone surrogates, bounded)."""
    return parse_text(json.dumps(data, ensure_ascii=False))


def _saved(result) -> None:
    if not result.changed_sections:
        flash(_("Nothing changed."), "info")
        return
    schema, _ui = disclosure_views.form(services(), labels.lang())
    flash(_("Profile saved (version %(version)d). Changed: %(sections)s.", version=result.profile.version,
            sections="、".join(disclosures.section_titles(schema, result.changed_sections))), "success")
    started = len(result.follow_up_case_ids) + len(result.pending_case_ids)
    if started:
        flash(_("Your active cases (%(count)d) will follow up on the change.", count=started), "info")


@bp.post("/disclosure/consents/<int:case_id>")
@login_required
def set_disclosure_consent(case_id: int):
    granted = request.form.get("granted") == "1"
    try:
        disclosures.set_consent(services(), current_user.actor, case_id, granted)
    except NotFound:
        abort(404)
    flash(_("Your institution's research-security office may now start this case's disclosure form from your "
            "profile.") if granted else _("Consent withdrawn: the office starts this case's disclosure form "
                                          "empty."), "success")
    return redirect(url_for("screening_pages.my_disclosure") + "#consents")


@bp.get("/disclosure/<int:user_id>")
@login_required
def disclosure_of(user_id: int):
    return _profile_page(user_id)


@bp.get("/screening/cases/<int:case_id>")
@login_required
def case_screening(case_id: int):
    try:
        found = screening_views.case_screening(services(), current_user.actor, case_id)
    except NotFound:
        abort(404)
    return render_template("screening/case.html", found=found, case=found["case"], sources=SOURCES,
                           relations=screening_review.RELATIONS)


@bp.post("/screening/hits/<int:hit_id>/review")
@login_required
def review(hit_id: int):
    case_id = request.form.get("case_id", type=int)
    try:
        screening_review.review_hit(
            services(), current_user.actor, hit_id, decision=request.form.get("decision", ""),
            reason=request.form.get("reason", ""), listed_relation=request.form.get("listed_relation") or None,
            past_affiliation_end_year=request.form.get("past_affiliation_end_year", type=int),
        )
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except (InvalidRequest, Conflict) as exc:
        from .errors import message_for

        flash(message_for(exc), "error")
    else:
        flash(_("Decision recorded."), "success")
    return redirect(url_for("screening_pages.case_screening", case_id=case_id) if case_id else url_for("web.home"))
