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

from ..cases import commands, queries
from ..cases.forms import expanded_schema
from ..erad import queries as erad_queries
from ..erad import roster_import
from ..errors import Conflict, Forbidden, InvalidRequest
from ..models import Case, WorkItem
from ..wording import labels
from .blueprint import bp, services
from .errors import message_for

MAX_FILE_BYTES = 5 * 1024 * 1024


@bp.get("/erad")
@login_required
def erad_exports():
    actor = current_user.actor
    with services().db.reader() as session:
        rows = erad_queries.exportable_calls(session, actor)
        if not rows:
            abort(404)
        return render_template("erad_exports.html", rows=rows)


def _roster_task(session, case_id: int):
    return erad_queries.roster_task(session, current_user.actor, case_id)


def _schema(session, case: Case, item: WorkItem) -> dict:
    return roster_import.member_schema(expanded_schema(session, case, item.form) or {})


def _draft_and_partners(session, case: Case, item: WorkItem) -> tuple[dict, list[roster_import.PartnerTeam]]:
    """The roster task's data as its form shows it, and the partners whose teams a file may fill: those of the
    draft and the case's partner institutions."""
    data = queries.task_form(session, current_user.actor, item.task_id, labels.lang())["data"]
    return data, roster_import.partner_teams(data.get("roster"), erad_queries.partner_parties(session, case.id))


@bp.route("/cases/<int:case_id>/roster-import", methods=["GET", "POST"])
@login_required
def roster_import_page(case_id: int):
    preview = None
    error = None
    with services().db.reader() as session:
        case, item = _roster_task(session, case_id)
        if request.method == "POST":
            upload = request.files.get("file")
            content = upload.stream.read(MAX_FILE_BYTES + 1) if upload else b""
            if not upload or not upload.filename:
                error = _("Choose the roster file (.xlsx or .csv).")
            elif len(content) > MAX_FILE_BYTES:
                error = _("The file is larger than %(mb)d MB.", mb=MAX_FILE_BYTES // (1024 * 1024))
            else:
                try:
                    _data, partners = _draft_and_partners(session, case, item)
                    preview = roster_import.parse(upload.filename, content,
                                                  expanded_schema(session, case, item.form) or {}, partners)
                except InvalidRequest as exc:
                    error = message_for(exc)
        status = 422 if error else 200
        return render_template("roster_import.html", case=case, item=item, preview=preview, error=error,
                               members_json=json.dumps(preview.valid_members, ensure_ascii=False) if preview else "",
                               partners_json=json.dumps(preview.partner_members, ensure_ascii=False)
                               if preview else "",
                               member_roles=labels.MEMBER_ROLES), status


@bp.post("/cases/<int:case_id>/roster-import/apply")
@login_required
def roster_import_apply(case_id: int):
    actor = current_user.actor
    with services().db.reader() as session:
        case, item = _roster_task(session, case_id)
        roster_schema = expanded_schema(session, case, item.form) or {}
        schema = roster_import.member_schema(roster_schema)
        partner_schema = roster_import.partner_member_schema(roster_schema)
        try:
            members = json.loads(request.form.get("members") or "[]")
            partner_members = json.loads(request.form.get("partners") or "{}")
        except ValueError:
            members = partner_members = None
        data, teams = _draft_and_partners(session, case, item)
        keys = {team.key for team in teams}

        def good(team: list, member_schema: dict | None) -> bool:
            return (isinstance(team, list) and len(team) <= roster_import.MAX_ROWS and member_schema is not None
                    and all(isinstance(m, dict) and not roster_import.check_member(member_schema, m) for m in team))

        if (not good(members, schema) or not isinstance(partner_members, dict) or not (members or partner_members)
                or not all(key in keys and team and good(team, partner_schema)
                           for key, team in partner_members.items())):
            flash(_("Nothing was imported: read the file again."), "error")
            return redirect(url_for("web.roster_import_page", case_id=case.id))
        task_id = item.task_id
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
