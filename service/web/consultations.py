"""The consultation section of the case page: threads between the FA and the lead institution (service/consultations).

| route | permission |
| --- | --- |
| POST /cases/<id>/consultations                        | the FA's officers and managers, the lead's security |
|                                                       | officers and administrators (403 for others who see |
|                                                       | the case, 404 for the rest) |
| POST /cases/<id>/consultations/<thread_id>/messages   | the same parties (404 for those who do not see them) |
| POST /cases/<id>/consultations/<thread_id>/close      | the side that asked (403 for the other side) |

Each answers with the case page (its consultation section), saying what happened; a form to correct is shown
again as a message above the section, what was typed kept by the browser's back button.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import consultations
from ..consultations import foreign
from ..errors import Conflict, ValidationFailed
from ..reference import mitigation_catalog
from ..wording import labels
from .blueprint import bp, services
from .errors import message_for

SUBJECTS = {
    "general": _l("The case in general"),
    "team_scope": _l("The team's scope"),
    "measure": _l("A measure"),
}
SIDES = {"fa": _l("Funding agency"), "institution": _l("Lead institution")}
KINDS = {"question": _l("Question"), "answer": _l("Reply"), "closing": _l("Closed")}
# foreign joint research: a requested measure in the plan, and what the foreign side was told of it
PLAN_STATUS = {"requested": _l("Requested (no plan yet)"), "planned": _l("In the plan"),
               "not_planned": _l("Not in the plan")}
REPORTED = {"agreed": _l("In the agreed plan"), "implemented": _l("Implemented"), "not_agreed": _l("Not in the plan")}
METHODS = {"email": _l("E-mail"), "letter": _l("Letter"), "meeting": _l("Meeting"), "other": _l("Other")}


@bp.app_template_global()
def case_consultations(case) -> dict | None:
    """What the case page's consultation section shows the signed-in person (None: not a party, no section)."""
    found = consultations.section(services(), current_user.actor, case.id)
    if found is None:
        return None
    lang = labels.lang()
    return {**found, "subjects": SUBJECTS, "sides": SIDES, "kinds": KINDS,
            "measures": [(m["code"], m["en"] if lang == "en" else m["ja"]) for m in mitigation_catalog()]}


@bp.app_template_global()
def foreign_partner_record(case) -> dict | None:
    """The foreign partner's requested measures and what was sent to it, for full views of a foreign joint
    research case (service/consultations/foreign.py); None otherwise."""
    found = foreign.record_for(services(), current_user.actor, case.id)
    if found is None or not (found.requests or found.sent):
        return None
    return {"record": found, "plan_status": PLAN_STATUS, "reported": REPORTED, "methods": METHODS}


def _uploads() -> list[consultations.Upload]:
    return [consultations.Upload(f.filename or "file", f.stream) for f in request.files.getlist("files")
            if f and f.filename]


def _back(case_id: int, thread_id: int | None = None):
    anchor = f"consultation-{thread_id}" if thread_id else "consultations"
    return redirect(url_for("web.case", case_id=case_id, _anchor=anchor))


def _refused(exc: ValidationFailed) -> str:
    return "; ".join(f"{e['pointer'].lstrip('/')}: {e['message']}" for e in exc.errors)


@bp.post("/cases/<int:case_id>/consultations")
@login_required
def consultation_open(case_id: int):
    form = request.form
    try:
        thread_id = consultations.open_thread(
            services(), current_user.actor, case_id, subject=form.get("subject", ""), title=form.get("title", ""),
            body=form.get("body", ""), measure=form.get("measure") or None, files=_uploads())
    except ValidationFailed as exc:
        flash(_("The consultation was not opened: %(reason)s", reason=_refused(exc)), "error")
        return _back(case_id)
    except Conflict as exc:
        flash(_("Nothing was changed: %(reason)s", reason=message_for(exc)), "warning")
        return _back(case_id)
    flash(_("The consultation is open; the other side has been notified."), "success")
    return _back(case_id, thread_id)


@bp.post("/cases/<int:case_id>/consultations/<int:thread_id>/messages")
@login_required
def consultation_answer(case_id: int, thread_id: int):
    try:
        consultations.answer(services(), current_user.actor, case_id, thread_id, body=request.form.get("body", ""),
                             files=_uploads())
    except ValidationFailed as exc:
        flash(_("The reply was not sent: %(reason)s", reason=_refused(exc)), "error")
        return _back(case_id, thread_id)
    except Conflict as exc:
        flash(_("Nothing was changed: %(reason)s", reason=message_for(exc)), "warning")
        return _back(case_id, thread_id)
    flash(_("Your reply was sent; the other side has been notified."), "success")
    return _back(case_id, thread_id)


@bp.post("/cases/<int:case_id>/consultations/<int:thread_id>/close")
@login_required
def consultation_close(case_id: int, thread_id: int):
    try:
        consultations.close(services(), current_user.actor, case_id, thread_id, note=request.form.get("note", ""))
    except ValidationFailed as exc:
        flash(_("The consultation was not closed: %(reason)s", reason=_refused(exc)), "error")
        return _back(case_id, thread_id)
    except Conflict as exc:
        flash(_("Nothing was changed: %(reason)s", reason=message_for(exc)), "warning")
        return _back(case_id, thread_id)
    flash(_("The consultation is closed."), "success")
    return _back(case_id, thread_id)
