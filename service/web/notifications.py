"""The in-app notification list (unread count in the page header) and marking notifications read.

| route | permission |
| --- | --- |
| GET  /notifications               | signed in; only the user's own notifications |
| GET  /notifications/<id>/open     | signed in; the user's own (else 404): marks it read, then opens its link |
| POST /notifications/read          | signed in; marks the user's own (given ids, or all) read |
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..notifications import notification_page, open_notification, read_notifications
from .blueprint import bp, services
from .pages import safe_next

PER_PAGE = 50


@bp.get("/notifications")
@login_required
def notification_list():
    show_all = request.args.get("show") == "all"
    # `done`: their task is done: said so, and no longer "to do"
    rows, done = notification_page(services(), current_user.actor, show_all, PER_PAGE)
    return render_template("notifications.html", rows=rows, show_all=show_all, done=done)


@bp.get("/notifications/<int:notification_id>/open")
@login_required
def notification_open(notification_id: int):
    target = open_notification(services(), current_user.actor, notification_id)
    return redirect(safe_next(target, url_for("web.notification_list")))


@bp.post("/notifications/read")
@login_required
def notification_read():
    ids = [i for i in request.form.getlist("id", type=int) if i > 0]  # out of range: 400 (input_guard)
    count = read_notifications(services(), current_user.actor, ids or None)
    if count:
        flash(_("Marked as read."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("web.notification_list")))
