"""Pages: sign-in and the user's queue (the home page)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..auth.authenticate import authenticate
from ..auth.session import load_user
from ..errors import TooManyAttempts, Unauthorized
from ..queues import queries as queues

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")


def services():
    return current_app.extensions["tejun"]


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        try:
            user_id = authenticate(
                services(), request.form.get("username", ""), request.form.get("password", ""), request.remote_addr
            )
        except (Unauthorized, TooManyAttempts) as exc:
            flash(exc.detail, "error")
            return render_template("login.html"), exc.status
        signed_in = load_user_by_id(user_id)
        session.clear()  # a fresh session at sign-in (no fixation)
        login_user(signed_in)
        return redirect(url_for("web.home"))
    return render_template("login.html")


def load_user_by_id(user_id: int):
    from ..models import User

    with services().db.reader() as db_session:
        generation = db_session.get(User, user_id).session_generation
    return load_user(f"{user_id}:{generation}")


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required
def home():
    tab = request.args.get("tab", "mine")
    if tab not in queues.TABS:
        tab = "mine"
    with services().db.reader() as db_session:
        page = queues.queue(db_session, current_user.actor, tab, page=request.args.get("page", 1, type=int))
        counts = queues.counts(db_session, current_user.actor)
        return render_template("queue.html", page=page, counts=counts, tab=tab, tabs=queues.TABS)
