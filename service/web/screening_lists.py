"""Screening pages besides a case's own: the cases with hits waiting for a decision, and importing
restricted-party lists from a page (what `flask screening import` does, for the people allowed to).

| route | permission |
| --- | --- |
| GET  /screening                    | signed in: the cases one sees in FULL that have hits waiting for a decision |
| GET  /screening/lists              | security officers and administrators of an institution (its own lists), |
|                                    | system administrators (the published lists); 404 for anyone else |
| POST /screening/lists              | the same: upload a file, see what would be imported (counts, columns) |
| POST /screening/lists/import       | the same: import the uploaded file as a new snapshot, then re-screen |

Who imports which list: an institution's own list (`institution_list`) by that institution's security officers
and administrators; the published lists (METI's End User List, the US CSL) by system administrators.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import date
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.utils import secure_filename

from ..errors import TejunError
from ..models import Organization
from ..screening import views as screening_views
from ..screening.importers import import_list, read_entries
from ..screening.sources import SOURCES
from .errors import message_for
from .screening_pages import bp, services

TOKEN = re.compile(r"[0-9a-f]{64}")


@bp.get("/screening")
@login_required
def open_hits():
    """Cases with hits nobody decided yet, among those the signed-in person sees in full."""
    rows, orgs, may_import = screening_views.open_hits(services(), current_user.actor)
    return render_template("screening/open.html", rows=rows, orgs=orgs, may_import=may_import)


# -- importing lists ------------------------------------------------------------------------------------------


def _choice_key(code: str, org: Organization | None) -> str:
    return f"{code}:{org.id}" if org is not None else code


def _choices() -> dict[str, tuple[str, Organization | None]]:
    choices = screening_views.importable(services(), current_user.actor)
    return {_choice_key(code, org): (code, org) for code, org in choices}


def _uploads() -> Path:
    return Path(current_app.instance_path) / "screening-uploads"


def _lists_page(choices, *, preview=None, status: int = 200):
    snapshots, orgs = screening_views.snapshots_overview(services(), current_user.actor)
    return render_template("screening/lists.html", choices=choices, preview=preview, snapshots=snapshots,
                           orgs=orgs, sources=SOURCES, choice_key=_choice_key), status


@bp.get("/screening/lists")
@login_required
def lists():
    choices = _choices()
    if not choices:
        abort(404)
    return _lists_page(choices)


@bp.post("/screening/lists")
@login_required
def upload_list():
    """Read the uploaded file as the chosen list and show what an import would store (nothing is stored yet)."""
    choices = _choices()
    if not choices:
        abort(404)
    chosen = choices.get(request.form.get("list", ""))
    upload = request.files.get("file")
    if chosen is None or upload is None or not upload.filename:
        flash(_("Choose the list and the file to import."), "error")
        return _lists_page(choices, status=422)
    code, org = chosen
    source = SOURCES[code]
    raw = upload.read()
    suffix = Path(upload.filename).suffix.lower()
    name = (secure_filename(Path(upload.filename).stem) or "list") + suffix
    try:
        parsed = read_entries(source, Path(name), raw)
    except TejunError as exc:
        flash(message_for(exc), "error")
        return _lists_page(choices, status=422)
    if not parsed.entries:
        flash(_("No entries were found under the header row of this file."), "error")
        return _lists_page(choices, status=422)
    token = hashlib.sha256(raw).hexdigest()
    folder = _uploads() / token
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(raw)
    preview = {"token": token, "name": name, "list": _choice_key(code, org), "source": source, "org": org,
               "entries": len(parsed.entries), "skipped": parsed.skipped_rows, "columns": parsed.columns,
               "detected_date": parsed.detected_date, "sample": parsed.entries[:5]}
    return _lists_page(choices, preview=preview)


@bp.post("/screening/lists/import")
@login_required
def import_uploaded_list():
    """Import the file shown in the preview as a new snapshot of its list; then every open case is re-screened."""
    choices = _choices()
    if not choices:
        abort(404)
    chosen = choices.get(request.form.get("list", ""))
    token = request.form.get("token", "")
    name = secure_filename(request.form.get("name", ""))
    path = _uploads() / token / name if TOKEN.fullmatch(token) and name else None
    if chosen is None or path is None or not path.is_file():
        flash(_("That upload is no longer available: please upload the file again."), "error")
        return _lists_page(choices, status=422)
    code, org = chosen
    try:
        list_date = date.fromisoformat(request.form["list_date"]) if request.form.get("list_date") else None
    except ValueError:
        flash(_("The list date is not a date."), "error")
        return _lists_page(choices, status=422)
    try:
        report = import_list(services(), current_user.actor, code, path, list_date=list_date,
                             organization_code=org.code if org is not None else None)
    except TejunError as exc:
        flash(message_for(exc), "error")
        return _lists_page(choices, status=422)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    if report.unchanged:
        flash(_("Nothing imported: the newest snapshot of this list already holds this file."), "info")
    else:
        flash(_("Imported %(count)d entries (list date %(date)s).", count=report.row_count,
                date=report.list_date.isoformat()), "success")
        if report.rescreen is not None:
            flash(_("Open cases re-screened: %(cases)d case(s), %(hits)d new hit(s).",
                    cases=report.rescreen.cases_screened, hits=report.rescreen.new_hits), "info")
    return redirect(url_for("screening_pages.lists"))
