"""Pages: sign-in and out, the language switch, the user's queue (the home page) and the case list."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from ..auth import sessions
from ..auth.authenticate import authenticate
from ..auth.preferences import set_locale
from ..auth.session import load_user
from ..cases import views as case_views
from ..errors import Conflict, Forbidden, InvalidRequest, NotFound, TooManyAttempts, Unauthorized
from ..queues import queries as queues
from ..queues import views as queue_views
from ..wording import labels
from .blueprint import bp, services
from .locale import LANG_COOKIE, LANGUAGES

PER_PAGE = 25


def safe_next(target: str | None, fallback: str) -> str:
    """Only paths inside tejun: never an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return fallback


def action_failed(exc: Exception) -> None:
    """A flash message for a use case that said no (never a traceback)."""
    if isinstance(exc, Conflict):
        flash(_("Someone else was faster: the task was claimed, reassigned or completed meanwhile. "
                "The list shows the current state."), "warning")
    elif isinstance(exc, NotFound):
        flash(_("That task is no longer open (it may have been completed already)."), "warning")
    elif isinstance(exc, Forbidden):
        flash(_("You may not do that with this task."), "error")
    else:
        flash(_("That did not work: please check your input and try again."), "error")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        try:
            user_id = authenticate(
                services(), request.form.get("username", ""), request.form.get("password", ""), request.remote_addr
            )
        except Unauthorized as exc:
            flash(_("Wrong username or password."), "error")
            return render_template("login.html"), exc.status
        except TooManyAttempts as exc:
            flash(_("Too many failed sign-ins. Please wait a while and try again."), "error")
            return render_template("login.html"), exc.status
        login_user(start_session(user_id, "password"))
        # the cookie expires with the session's absolute lifetime, not only at browser close
        session.permanent = True
        return redirect(safe_next(request.args.get("next"), url_for("web.home")))
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    return render_template("login.html")


def start_session(user_id: int, method: str):
    """A new server-side session for a user who has just signed in (password or single sign-on), bound to this
    address and browser, in a fresh cookie session (no fixation); a session this browser held before ends.
    Returns the signed-in user whose session key the cookie will carry."""
    previous = str(session.get("_user_id") or "")
    session.clear()
    key = sessions.sign_in(
        services(), user_id, method=method, remote_addr=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
        previous_key=previous[len(sessions.KEY_PREFIX):] if previous.startswith(sessions.KEY_PREFIX) else None)
    return load_user(sessions.KEY_PREFIX + key)


@bp.post("/logout")
@login_required
def logout():
    """Ends this session on the server: a copy of the cookie is worth nothing afterwards."""
    sessions.sign_out(services(), current_user.actor, current_user.session_key, request.remote_addr)
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("web.login"))


@bp.post("/language")
@login_required
def language():
    """The language switch: kept as the user's preference (pages and e-mail) and in the `lang` cookie."""
    chosen = request.form.get("lang", "")
    if chosen not in LANGUAGES:
        raise InvalidRequest("unknown language")
    set_locale(services(), current_user.actor, chosen)
    response = redirect(safe_next(request.form.get("next"), url_for("web.home")))
    response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax",
                        secure=request.is_secure, httponly=False)
    return response


def _queue_args() -> dict:
    tab = request.args.get("tab", "mine")
    sort = request.args.get("sort", "due")
    return {
        "tab": tab if tab in queues.TABS else "mine",
        "sort": sort if sort in queues.SORTS else "due",
        "q": (request.args.get("q") or "").strip()[:100],
        "program": request.args.get("program", type=int),
        "page": max(request.args.get("page", 1, type=int) or 1, 1),
    }


@bp.get("/")
@login_required
def home():
    """The user's queue: four tabs with counts, filters, sorting and paging."""
    args = _queue_args()
    found = queue_views.queue_page(
        services(), current_user.actor, tab=args["tab"] if "tab" in request.args else None, page=args["page"],
        per_page=PER_PAGE, sort=args["sort"], program_id=args["program"], search=args["q"] or None)
    args["tab"] = found.tab
    return render_template(
        "queue.html", page=found.page, counts=found.counts, args=args, tabs=queues.TABS, tab_labels=labels.TABS,
        sorts=labels.SORTS, programs=found.programs, orgs=found.orgs, program_names=found.program_names,
        people=found.people, rights=found.rights,
    )


@bp.get("/cases")
@login_required
def case_list():
    """Cases the user may see (any stage), with search, filters (status, stage, risk level, institution,
    programme) and sorting."""
    args = case_list_args(request.args)
    page_no = max(request.args.get("page", 1, type=int) or 1, 1)
    found = case_views.case_list(
        services(), current_user.actor, status=args["status"], search=args["q"] or None, page=page_no,
        per_page=PER_PAGE, stage=args["stage"], risk_level=args["risk"], institution_id=args["institution"],
        program_id=args["program"], sort=args["sort"])
    page = found.page
    pages = max(1, -(-page.total // page.per_page))
    return render_template("cases.html", page=page, pages=pages, status=args["status"], q=args["q"],
                           orgs=found.orgs, args=args, stages=labels.STAGES, risk_levels=labels.RISK_LEVELS,
                           institutions=found.institutions, programs=found.programs, case_sorts=CASE_SORT_LABELS)


CASE_SORT_LABELS = {
    "updated": _l("Last change (newest first)"),
    "-updated": _l("Last change (oldest first)"),
    "created": _l("Opened (newest first)"),
    "-created": _l("Opened (oldest first)"),
    "reference": _l("Case reference"),
}


def case_list_args(values) -> dict:
    """The case list's filters from the query string; anything unknown is dropped (never an error)."""
    status = values.get("status") or None
    stage = values.get("stage") or None
    risk = values.get("risk") or None
    sort = values.get("sort") or "updated"
    return {
        "status": status if status in ("running", "completed", "error") else None,
        "stage": stage if stage in labels.STAGES else None,
        "risk": risk if risk in labels.RISK_LEVELS else None,
        "institution": values.get("institution", type=int) or None,
        "program": values.get("program", type=int) or None,
        "sort": sort if sort in CASE_SORT_LABELS else "updated",
        "q": (values.get("q") or "").strip()[:100],
    }
