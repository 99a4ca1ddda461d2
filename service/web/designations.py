"""Starting a programme designation from a page (FA staff), as `POST /api/v1/designations` does.

| route | permission |
| --- | --- |
| GET, POST /designations/new | FA officers and managers (`may_start_designation`), a ministry's officers
  (`may_designate_as_ministry`, for a programme of any funding agency); 404 for anyone else |

The designation itself is a case (`service/cases/designation.py`): its first task, the draft, then waits in the
FA's queue (the starter's own when the model assigns it to them), or in the ministry's when a ministry
designates (「国又はFAが指定する」); the funding agency publishes the call either way.
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
    own_agencies = queries.designating_agencies_for(services(), actor)
    ministries, all_agencies = queries.designating_ministries_for(services(), actor)
    if not own_agencies and not ministries:
        abort(404)  # neither FA staff nor a ministry's officer: the page does not exist for them
    # a ministry's officer designates a programme of any agency; FA staff (only) one of their own
    agencies = all_agencies if ministries else own_agencies
    page = {"agencies": agencies, "ministries": ministries, "as_agency": bool(own_agencies)}
    values = {"funding_agency_id": agencies[0].id if len(agencies) == 1 else None, "title": "",
              "ministry_id": ministries[0].id if ministries and not own_agencies else None}
    errors: dict[str, str] = {}
    if request.method == "GET":
        return render_template("designation_new.html", **page, values=values, errors=errors)
    values = {"funding_agency_id": request.form.get("funding_agency_id", type=int),
              "title": (request.form.get("title") or "").strip()[:500],
              "ministry_id": request.form.get("ministry_id", type=int)}
    if not values["title"]:
        errors["title"] = _("Give the programme designation a title.")
    if values["ministry_id"] is not None or not own_agencies:
        if values["ministry_id"] not in {m.id for m in ministries}:
            errors["ministry_id"] = _("Choose the designating ministry.")
        if values["funding_agency_id"] not in {a.id for a in all_agencies}:
            errors["funding_agency_id"] = _("Choose the funding agency.")
    elif values["funding_agency_id"] not in {a.id for a in own_agencies}:
        errors["funding_agency_id"] = _("Choose the funding agency.")
    if not errors:
        try:
            outcome = designation.start_designation(services(), actor, funding_agency_id=values["funding_agency_id"],
                                                    title=values["title"], ministry_id=values["ministry_id"])
        except (NotFound, InvalidRequest, Conflict) as exc:
            flash(message_for(exc), "error")
            return render_template("designation_new.html", **page, values=values, errors=errors), exc.status
        reference = queries.case_reference(services(), outcome.case_id)
        if outcome.next_task_ids:
            flash(_("Designation %(reference)s started: its first step, the draft, is waiting for you.",
                    reference=reference), "success")
            return redirect(url_for("web.task", task_id=outcome.next_task_ids[0]))
        flash(_("Designation %(reference)s started.", reference=reference), "success")
        return redirect(url_for("web.case", case_id=outcome.case_id))
    flash(_("The designation was not started: please correct the marked fields."), "error")
    return render_template("designation_new.html", **page, values=values, errors=errors), 422
