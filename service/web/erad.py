"""e-Rad pages: the per-call reconciliation files for FA staff, and importing a team roster from a file.

| route | permission |
| --- | --- |
| GET /erad | whoever may export some call (`erad.export.may_export`: FA staff, auditors in scope); else 404 |
| GET, POST /cases/<id>/roster-import | the case's open team-roster task: who may work it; 403 for others who see |
| POST /cases/<id>/roster-import/apply | the case, 404 for everyone else (and when no roster task is open) |

Importing reads the file and shows every row with its problems; nothing is stored until the office puts the
rows without problems into the roster task's draft (`commands.save_draft`), where it reviews and submits them.
"""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..cases import commands
from ..erad import roster_import
from ..erad import views as erad_views
from ..errors import Conflict, Forbidden, InvalidRequest
from ..wording import labels
from .blueprint import bp, services
from .errors import message_for

MAX_FILE_BYTES = 5 * 1024 * 1024


@bp.get("/erad")
@login_required
def erad_exports():
    rows = erad_views.exportable_calls(services(), current_user.actor)
    if not rows:
        abort(404)
    return render_template("erad_exports.html", rows=rows)


@bp.route("/cases/<int:case_id>/roster-import", methods=["GET", "POST"])
@login_required
def roster_import_page(case_id: int):
    preview = None
    error = None
    task = erad_views.roster_task(services(), current_user.actor, case_id, labels.lang(),
                                  with_draft=request.method == "POST")
    if request.method == "POST":
        upload = request.files.get("file")
        content = upload.stream.read(MAX_FILE_BYTES + 1) if upload else b""
        if not upload or not upload.filename:
            error = _("Choose the roster file (.xlsx or .csv).")
        elif len(content) > MAX_FILE_BYTES:
            error = _("The file is larger than %(mb)d MB.", mb=MAX_FILE_BYTES // (1024 * 1024))
        else:
            try:
                preview = roster_import.parse(upload.filename, content, task.schema, task.partners)
            except InvalidRequest as exc:
                error = message_for(exc)
    status = 422 if error else 200
    return render_template("roster_import.html", case=task.case, item=task.item, preview=preview, error=error,
                           members_json=json.dumps(preview.valid_members, ensure_ascii=False) if preview else "",
                           partners_json=json.dumps(preview.partner_members, ensure_ascii=False)
                           if preview else "",
                           member_roles=labels.MEMBER_ROLES), status


@bp.post("/cases/<int:case_id>/roster-import/apply")
@login_required
def roster_import_apply(case_id: int):
    actor = current_user.actor
    task = erad_views.roster_task(services(), actor, case_id, labels.lang(), with_draft=True)
    schema = roster_import.member_schema(task.schema)
    partner_schema = roster_import.partner_member_schema(task.schema)
    try:
        members = json.loads(request.form.get("members") or "[]")
        partner_members = json.loads(request.form.get("partners") or "{}")
    except ValueError:
        members = partner_members = None
    data, teams = task.data, task.partners
    keys = {team.key for team in teams}

    def good(team: list, member_schema: dict | None) -> bool:
        return (isinstance(team, list) and len(team) <= roster_import.MAX_ROWS and member_schema is not None
                and all(isinstance(m, dict) and not roster_import.check_member(member_schema, m) for m in team))

    if (not good(members, schema) or not isinstance(partner_members, dict) or not (members or partner_members)
            or not all(key in keys and team and good(team, partner_schema)
                       for key, team in partner_members.items())):
        flash(_("Nothing was imported: read the file again."), "error")
        return redirect(url_for("web.roster_import_page", case_id=task.case.id))
    task_id = task.item.task_id
    roster = dict(data.get("roster") or {}) if isinstance(data.get("roster"), dict) else {}
    roster = roster_import.fill(roster, members, partner_members, teams)
    try:
        commands.save_draft(services(), actor, task_id, {**data, "roster": roster})
    except (Conflict, Forbidden) as exc:
        flash(message_for(exc), "error")
        return redirect(url_for("web.roster_import_page", case_id=case_id))
    flash(_("Team members put into the roster draft: %(num)d. Check the form and submit it.",
            num=len(members) + sum(len(team) for team in partner_members.values())), "success")
    return redirect(url_for("web.task", task_id=task_id))
