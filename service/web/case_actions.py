"""Opening a case, and sending a case an event it waits for (withdraw, a new team member, a new partner).

| route | permission |
| --- | --- |
| GET/POST /cases/new       | lead-institution staff (`may_start_application`: security_officer or |
|                           | institution_admin of an institution), else 403; only for their own institution; |
|                           | `start_case` checks again |
| POST /cases/<id>/messages | case not visible (`case_view` NONE) → 404; a summary view only, or `send_message` |
|                           | refusing (the message's senders in service/cases/messages.py, and `may_send` for |
|                           | the waiting message's lane) → 403; a message only tejun sends → 400 |
| POST /cases/<id>/retry    | `retry_case`: system_admin (any case in error, also from /admin/cases-in-error), |
|                           | else 404 for a case one cannot see, 403 for one one can; not in error → a warning |

The message's fields are checked with the message's schema (service/cases/messages.py), as the API checks them;
each problem is shown at its field (422).
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import clock, erad
from ..auth.permissions import View, may_start_cases
from ..cases import commands, queries
from ..cases import messages as case_messages
from ..errors import N_, Conflict, Forbidden, InvalidRequest, NotFound, TejunError, ValidationFailed
from ..queues import lookups
from ..wording import labels
from .blueprint import bp, services
from .errors import message_for
from .problems import field_errors

ERAD_PROJECT = erad.PROJECT_NUMBER  # one definition for the page and POST /api/v1/cases
MAX_PARTNERS = 50
REQUIRED = _l("This field is required.")


@bp.app_context_processor
def _new_case_button() -> dict:
    def shown() -> bool:
        return bool(getattr(current_user, "is_authenticated", False) and may_start_cases(current_user.actor))

    return {"may_start_cases": shown}


# -- opening a case ---------------------------------------------------------------------------------------
def _read_start_form(form, choices) -> tuple[dict, dict]:
    """The form's values as `start_case` takes them, and a message per field that is not right."""
    errors: dict[str, str] = {}
    values: dict = {
        "title": (form.get("title") or "").strip(),
        "erad_project_number": (form.get("erad_project_number") or "").strip() or None,
        "variant": form.get("variant") or "domestic",
    }
    lead_ids = {o.id for o in choices["leads"]}
    lead = form.get("lead_institution_id", type=int)
    if lead is None and len(lead_ids) == 1:
        lead = next(iter(lead_ids))
    if lead is None:
        errors["lead_institution_id"] = REQUIRED
    elif lead not in lead_ids:
        errors["lead_institution_id"] = _("You may open cases only for your own institution.")
    values["lead_institution_id"] = lead

    call = form.get("call_id", type=int)
    if call is None:
        errors["call_id"] = _("Choose the call the project was funded under.")
    elif call not in {c.id for c in choices["calls"]}:
        errors["call_id"] = _("This call is not open.")
    values["call_id"] = call

    if not values["title"]:
        errors["title"] = REQUIRED
    elif len(values["title"]) > 500:
        errors["title"] = _("This is too long.")
    number = values["erad_project_number"]
    if number is not None and not ERAD_PROJECT.match(number):
        errors["erad_project_number"] = _(erad.PROJECT_NUMBER_RULE)
    if values["variant"] not in labels.VARIANTS:
        errors["variant"] = _("Choose one of the options.")

    end_text = (form.get("project_end_date") or "").strip()
    values["project_end_date"] = None
    if end_text:
        try:
            values["project_end_date"] = date.fromisoformat(end_text)
        except ValueError:
            errors["project_end_date"] = _("Enter a date as YYYY-MM-DD.")
    values["project_end_date_text"] = end_text

    raw_partners = form.getlist("partner_ids")
    partners: list[int] = []
    for raw in raw_partners:
        if not (str(raw).isascii() and str(raw).isdigit()) or len(str(raw)) > 10:
            errors["partner_ids"] = _("Choose the partner institutions from the list.")
            continue
        partners.append(int(raw))
    partners = list(dict.fromkeys(partners))
    known = {o.id for o in choices["partners"]} | lead_ids
    if lead is not None and lead in partners:
        errors["partner_ids"] = _("The lead institution cannot be its own partner.")
    elif any(p not in known for p in partners):
        errors["partner_ids"] = _("Choose the partner institutions from the list.")
    elif len(partners) > MAX_PARTNERS:
        errors["partner_ids"] = _("At most %(count)d partner institutions.", count=MAX_PARTNERS)
    values["partner_ids"] = partners
    return values, errors


# what `start_case` may still refuse after the form's own checks (a call closed meanwhile, ...): its field
_START_REFUSALS = {
    N_("no such open call"): "call_id",
    N_("no such institution among yours"): "lead_institution_id",
    N_("partner %(partner)s is not another institution"): "partner_ids",
    N_("a case needs a title"): "title",
    N_("variant must be 'domestic' or 'foreign_joint'"): "variant",
}


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def case_new():
    """The lead institution opens a case for a funded project (GET: the form; POST: open it)."""
    actor = current_user.actor
    choices = lookups.start_choices(services(), actor)
    if not choices["leads"]:
        raise Forbidden(N_("only the research-security office or the administration of an institution may "
                           "open cases"))
    if request.method == "GET":
        values = {"variant": "domestic", "partner_ids": [],
                  "lead_institution_id": choices["leads"][0].id if len(choices["leads"]) == 1 else None}
        return render_template("case_new.html", values=values, errors={}, **choices)

    values, errors = _read_start_form(request.form, choices)
    if not errors:
        try:
            outcome = commands.start_case(
                services(), actor, call_id=values["call_id"], lead_institution_id=values["lead_institution_id"],
                title=values["title"], variant=values["variant"], partner_ids=tuple(values["partner_ids"]),
                erad_project_number=values["erad_project_number"], project_end_date=values["project_end_date"],
            )
        except ValidationFailed as exc:  # what may not enter a case (service/cases/intake.py): by field
            for error in exc.errors:
                errors.setdefault(error["pointer"].split("/")[1], error["message"])
        except (NotFound, InvalidRequest) as exc:
            field = _START_REFUSALS.get(exc.template)
            if field is None:
                flash(message_for(exc), "error")
                return render_template("case_new.html", values=values, errors={}, **choices), exc.status
            errors[field] = message_for(exc)
        except Conflict as exc:
            flash(message_for(exc), "warning")
            return render_template("case_new.html", values=values, errors={}, **choices), 409
        else:
            reference = queries.case_reference(services(), outcome.case_id)
            if outcome.status == "error":
                flash(_("Case %(reference)s was opened, but it stopped with an error in the process model. "
                        "An administrator has to look at it.", reference=reference), "error")
            elif outcome.next_task_ids:
                flash(_("Case %(reference)s is open. Its first task is waiting in your queue.",
                        reference=reference), "success")
            else:
                flash(_("Case %(reference)s is open.", reference=reference), "success")
            return redirect(url_for("web.case", case_id=outcome.case_id))
    flash(_("The case was not opened: please correct the marked fields."), "error")
    return render_template("case_new.html", values=values, errors=errors, **choices), 422


# -- case events ----------------------------------------------------------------------------------------------
def _today_jst() -> str:
    return clock.now().astimezone(clock.JST).date().isoformat()


# where a problem the message's schema finds (service/cases/messages.py) is shown on the page: its form field
MESSAGE_FIELDS = {
    "/payload/withdraw_reason": "withdraw_reason",
    "/payload/trigger/reason": "follow_up_reason",
    "/payload/trigger/member/name": "member_name",
    "/payload/trigger/member/role": "member_role",
    "/payload/trigger/member/username": "member_username",
    "/payload/trigger/member/consent_obtained": "member_consent",
    "/payload/trigger/partner/name": "partner_name",
    "/payload/trigger/partner/country": "partner_country",
    "/payload/trigger/partner/foreign": "partner_foreign",
}
# the page's own wording for some fields (else the keyword's message, as on the task forms)
FIELD_MESSAGES = {
    "withdraw_reason": {"required": _l("Give the reason for the withdrawal."),
                        "minLength": _l("Give the reason for the withdrawal."),
                        "pattern": _l("Give the reason for the withdrawal.")},
    "follow_up_reason": {"pattern": REQUIRED, "minLength": REQUIRED},
    "member_name": {"pattern": REQUIRED, "minLength": REQUIRED},
    "partner_name": {"pattern": REQUIRED, "minLength": REQUIRED},
    "member_role": {"type": _l("Choose one of the options.")},
    "member_consent": {"const": _l("The new member has to consent to due diligence first.")},
}


def _payload_of(name: str, form) -> tuple[dict, dict]:
    """The payload the model reads for message `name`, built from the page's fields, and the values to show."""
    if name == "withdraw":
        reason = (form.get("withdraw_reason") or "").strip()
        return {"withdraw_reason": reason}, {"withdraw_reason": reason}
    if name == "member_added":
        member = {"name": (form.get("member_name") or "").strip(), "role": form.get("member_role") or ""}
        username = (form.get("member_username") or "").strip()
        shown = {**member, "username": username}
        if username:
            member["username"] = username
        member.update(consent_obtained=form.get("member_consent") == "yes", consent_date=_today_jst())
        return {"trigger": {"kind": "member_added", "member": member}}, shown
    if name == "follow_up_requested":
        shown = {"reason": (form.get("follow_up_reason") or "").strip(),
                 "reassessment_required": form.get("follow_up_reassessment") == "yes"}
        return {"trigger": {"kind": "fa_request", **shown}}, shown
    # partner_added
    partner = {"name": (form.get("partner_name") or "").strip(), "country": (form.get("partner_country") or "").strip(),
               "foreign": form.get("partner_foreign") == "yes"}
    shown = dict(partner)
    if not partner["country"]:
        del partner["country"]
    return {"trigger": {"kind": "partner_added", "partner": partner}}, shown


def _read_message(name: str, form) -> tuple[dict, dict[str, str], dict]:
    """The payload, the field errors (the message's schema, as the API checks it, and the page's confirmation)
    and the values to show again."""
    payload, shown = _payload_of(name, form)
    errors: dict[str, str] = {}
    for problem in case_messages.registry(services().settings.forms_dir)[name].problems(payload):
        field = MESSAGE_FIELDS.get(problem["pointer"], "")
        message = FIELD_MESSAGES.get(field, {}).get(problem["keyword"])
        errors.setdefault(field, str(message or field_errors([problem])[0]["message"]))
    if name == "withdraw" and form.get("confirm") != "yes":
        errors["confirm"] = _("Confirm that the application is to be withdrawn.")
    if "" in errors:  # a problem no field shows (the schema refuses what the page built): said at the top
        flash(_("Nothing was changed: %(reason)s", reason=errors[""]), "error")
    return payload, errors, shown


MESSAGE_DONE = {
    "withdraw": _l("The application has been withdrawn; the case has ended."),
    "member_added": _l("The new team member was recorded: a follow-up round has started."),
    "partner_added": _l("The new partner institution was recorded: a follow-up round has started."),
    "follow_up_requested": _l("The follow-up was asked for: it starts now, or after the round under way."),
}


@bp.post("/cases/<int:case_id>/messages")
@login_required
def case_message(case_id: int):
    """Send the case one of the events its page offers (`queries.PAGE_MESSAGES`)."""
    from .cases import render_case

    actor = current_user.actor
    try:
        view = queries.case_view_for(services(), actor, case_id, View.SUMMARY)
    except NotFound:
        abort(404)
    if view < View.PART:
        abort(403)
    name = request.form.get("name", "")
    if name not in queries.PAGE_MESSAGES:
        abort(400)
    payload, errors, shown = _read_message(name, request.form)
    if errors:
        return render_case(case_id, action={"name": name, "errors": errors, "values": shown}), 422
    try:
        outcome = commands.send_message(services(), actor, case_id, name, payload)
    except Forbidden:
        abort(403)
    except NotFound:
        abort(404)
    except TejunError as exc:
        flash(_("Nothing was changed: %(reason)s", reason=message_for(exc)), "warning")
        return redirect(url_for("web.case", case_id=case_id))
    if outcome.status == "error":
        flash(_("The case stopped with an error in the process model. An administrator has to look at it."),
              "error")
    elif outcome.held:  # recorded, waiting until the case can take it (service/followups)
        flash(_("The change was recorded. It starts a follow-up as soon as the case can take it."), "success")
    else:
        flash(str(MESSAGE_DONE[name]), "success")
    return redirect(url_for("web.case", case_id=case_id))


@bp.post("/cases/<int:case_id>/retry")
@login_required
def case_retry(case_id: int):
    """Restart a case in error after its cause was fixed (a system administrator: the case page, the admin list)."""
    from .pages import safe_next

    back = safe_next(request.form.get("next"), url_for("web.case", case_id=case_id))
    try:
        outcome = commands.retry_case(services(), current_user.actor, case_id)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    except TejunError as exc:
        flash(_("Nothing was changed: %(reason)s", reason=message_for(exc)), "warning")
        return redirect(back)
    if outcome.status == "error":
        flash(_("The case was restarted but stopped again: %(reason)s", reason=outcome.error_message or ""),
              "error")
    else:
        flash(_("The case was restarted."), "success")
    return redirect(back)
