"""Starting a programme designation from a page (FA staff), as `POST /api/v1/designations` does.

| route | permission |
| --- | --- |
| GET, POST /designations/new | FA officers and managers (`may_start_designation`); 404 for anyone else |

The designation itself is a case (`service/cases/designation.py`): its first task, the draft, then waits in the
FA's queue (the starter's own when the model assigns it to them).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..cases import designation, queries
from ..errors import Conflict, InvalidRequest, NotFound
from .blueprint import bp, services
from .errors import message_for


@bp.route("/designations/new", methods=["GET", "POST"])
@login_required
def designation_new():
    actor = current_user.actor
    agencies = queries.designating_agencies_for(services(), actor)
    if not agencies:
        abort(404)  # not FA staff: the page does not exist for them
    values = {"funding_agency_id": agencies[0].id if len(agencies) == 1 else None, "title": ""}
    errors: dict[str, str] = {}
    if request.method == "GET":
        return render_template("designation_new.html", agencies=agencies, values=values, errors=errors)
    values = {"funding_agency_id": request.form.get("funding_agency_id", type=int),
              "title": (request.form.get("title") or "").strip()[:500]}
    if not values["title"]:
        errors["title"] = _("Give the programme designation a title.")
    if values["funding_agency_id"] not in {a.id for a in agencies}:
        errors["funding_agency_id"] = _("Choose the funding agency.")
    if not errors:
        try:
            outcome = designation.start_designation(services(), actor, funding_agency_id=values["funding_agency_id"],
                                                    title=values["title"])
        except (NotFound, InvalidRequest, Conflict) as exc:
            flash(message_for(exc), "error")
            return render_template("designation_new.html", agencies=agencies, values=values, errors=errors), \
                exc.status
        reference = queries.case_reference(services(), outcome.case_id)
        if outcome.next_task_ids:
            flash(_("Designation %(reference)s started: its first step, the draft, is waiting for you.",
                    reference=reference), "success")
            return redirect(url_for("web.task", task_id=outcome.next_task_ids[0]))
        flash(_("Designation %(reference)s started.", reference=reference), "success")
        return redirect(url_for("web.case", case_id=outcome.case_id))
    flash(_("The designation was not started: please correct the marked fields."), "error")
    return render_template("designation_new.html", agencies=agencies, values=values, errors=errors), 422
