"""The task page (its form, rendered by form.js) and what one does with a task.

Routes (all need a signed-in user; permissions are the use cases', from service/auth/permissions.py):

| route | permission |
| --- | --- |
| GET  /tasks/<id>              | `visible_work_item`: may_work, may_assign, or a FULL view of the case (else 404) |
| POST /tasks/<id>/submit       | `complete_task`: may_work, and not assigned to someone else (JSON, form.js contract) |
| POST /tasks/<id>/draft        | `save_draft`: same (JSON) |
| POST /tasks/<id>/attachments  | `store_upload`: same (multipart, one file) |
| POST /tasks/<id>/claim        | `claim_task`: may_work |
| POST /tasks/<id>/release      | `release_task`: the assignee, or may_assign |
| POST /tasks/<id>/assign       | `assign_task`: may_assign |
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..api.problems import problem
from ..attachments import store_upload
from ..cases import commands
from ..cases.task_page import task_page
from ..errors import TejunError
from ..wording import labels
from .blueprint import bp, services
from .pages import action_failed, safe_next
from .problems import json_problem


@bp.get("/tasks/<uuid:task_id>")
@login_required
def task(task_id):
    actor = current_user.actor
    found = task_page(services(), actor, str(task_id), labels.lang())
    form, item = found["form"], found["item"]
    editable = form["may_work"] and item.assignee_id in (None, actor.user_id)
    _upload_limit(form["ui_schema"], services().settings.max_upload_bytes)
    return render_template("task.html", editable=editable, **found)


def _upload_limit(ui_schema, limit: int) -> None:
    """Let the file chooser refuse files over the server's limit before uploading (the server checks too)."""
    if isinstance(ui_schema, dict):
        if ui_schema.get("ui:widget") == "attachment":
            ui_schema.setdefault("ui:options", {}).setdefault("maxSize", limit)
        for value in ui_schema.values():
            _upload_limit(value, limit)
    elif isinstance(ui_schema, list):
        for value in ui_schema:
            _upload_limit(value, limit)


def _json_body() -> dict | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) and isinstance(body.get("data"), dict) else None


@bp.post("/tasks/<uuid:task_id>/submit")
@login_required
def submit(task_id):
    body = _json_body()
    if body is None:
        return problem(400, _("Invalid request"), _("Send the form data as {\"data\": {...}}."))
    expected = body.get("expected_version")  # the case's version when the page was rendered (form.js)
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int) or expected < 1):
        return problem(400, _("Invalid request"), _("expected_version must be a positive whole number."))
    try:
        outcome = commands.complete_task(services(), current_user.actor, str(task_id), body["data"], expected)
    except TejunError as exc:
        return json_problem(exc)
    if outcome.status == "error":
        flash(_("Your answer was saved, but the case stopped with an error in the process model. "
                "An administrator has to look at it."), "error")
    else:
        flash(_("Submitted. The case has moved on to the next step."), "success")
    return {"next_url": url_for("web.home")}


@bp.post("/tasks/<uuid:task_id>/draft")
@login_required
def draft(task_id):
    body = _json_body()
    if body is None:
        return problem(400, _("Invalid request"), _("Send the form data as {\"data\": {...}}."))
    try:
        commands.save_draft(services(), current_user.actor, str(task_id), body["data"])
    except TejunError as exc:
        return json_problem(exc)
    return {"saved": True}


@bp.post("/tasks/<uuid:task_id>/attachments")
@login_required
def upload(task_id):
    uploaded = request.files.get("file")
    if uploaded is None or not uploaded.filename:
        return problem(400, _("Invalid request"), _("Choose a file to upload."))
    try:
        stored = store_upload(services(), current_user.actor, str(task_id), uploaded.filename, uploaded.stream)
    except TejunError as exc:
        return json_problem(exc)
    return {"id": stored.id, "name": stored.name, "size": stored.size, "content_type": stored.content_type}, 201


@bp.post("/tasks/<uuid:task_id>/claim")
@login_required
def claim(task_id):
    try:
        commands.claim_task(services(), current_user.actor, str(task_id))
    except TejunError as exc:
        action_failed(exc)
        return redirect(safe_next(request.form.get("next"), url_for("web.home")))
    flash(_("The task is now yours."), "success")
    return redirect(url_for("web.task", task_id=task_id))


@bp.post("/tasks/<uuid:task_id>/release")
@login_required
def release(task_id):
    try:
        commands.release_task(services(), current_user.actor, str(task_id))
    except TejunError as exc:
        action_failed(exc)
    else:
        flash(_("The task is back in the team queue."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("web.home")))


@bp.post("/tasks/<uuid:task_id>/assign")
@login_required
def assign(task_id):
    assignee = request.form.get("assignee_id", type=int)
    try:
        if assignee is None:
            from ..errors import InvalidRequest

            raise InvalidRequest("choose a person")
        commands.assign_task(services(), current_user.actor, str(task_id), assignee)
    except TejunError as exc:
        action_failed(exc)
    else:
        flash(_("The task has been reassigned."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("web.task", task_id=task_id)))
