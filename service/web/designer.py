"""Pages for process designers: the model store, editing in the browser, validation, publishing, and moving
running cases between versions.

Every route needs a signed-in user with the role `process_designer` or `system_admin` (`may_design`);
anyone else gets 404, as if the pages did not exist. Designers see cases only by reference, status, stage
and model version, never their data.

| route | what |
| --- | --- |
| GET  /designer/                               | model sets, their published version and running cases |
| GET  /designer/sets/<set>                     | a set's versions: hash, author, time, comment, status, running cases |
| GET  /designer/versions/<id>                  | one version: its files, publish / retire, compare, edit, migrate |
| GET  /designer/versions/<id>/files/<name>     | a file's content (for the editors and viewers) |
| POST /designer/versions/<id>/publish, /retire | form posts (CSRF) |
| GET  /designer/diff?old=<id>&new=<id>         | what changed between two versions, listed and marked on diagrams |
| GET  /designer/versions/<id>/edit             | the editors (bpmn-js, dmn-js, JSON with form preview) |
| POST /designer/versions/<id>/validate         | {files, removed} -> {valid, errors: [{file, element_id, message}]} |
|                                               | (+ warnings, same form, for the default set: names in one language) |
| POST /designer/versions/<id>/drafts           | {files, removed, comment} -> 201 {version_id, url}; 422 + errors |
| GET, POST /designer/upload                    | a draft from files on disk (multipart) |
| GET  /designer/versions/<id>/cases            | choose running cases to move to this (published) version |
| POST /designer/versions/<id>/cases/preview    | per case: what would change, and whether it can move |
| POST /designer/versions/<id>/cases/migrate    | one case now; several as a job for the timer worker |
| GET  /designer/migrations/<job>, /progress    | the job's progress (page, and JSON the page polls) |
"""

from __future__ import annotations

import re

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..api.problems import problem
from ..auth.permissions import may_design
from ..cases import migration
from ..designer import pages, queries, versions
from ..designer.store import DEFAULT_SET, ENTRY_PROCESSES, file_kind
from ..designer.validation import KNOWN_ROLES, MAX_FILE_BYTES, PRIORITIES, STAGES, validate_model_files
from ..engine.loader import ModelError, Problem
from ..errors import Conflict, InvalidRequest, NotFound, TejunError
from ..forms.schema import KNOWN_REFERENCE_LISTS
from ..wording import labels
from .blueprint import services
from .errors import message_for

bp = Blueprint("designer", __name__, url_prefix="/designer")

FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,150}\.(bpmn|dmn|json)")
SET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_FILES = 200
MAX_COMMENT = 500
CONTENT_TYPES = {"bpmn": "application/xml", "dmn": "application/xml", "form": "application/json"}


@bp.before_request
def only_designers():
    """Signed-in designers only; for everyone else these pages do not exist."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not may_design(current_user.actor):
        raise NotFound("no such page")
    return None


def _problems_json(problems: list[Problem]) -> list[dict]:
    return [{"file": p.file, "element_id": p.element_id, "message": p.message} for p in problems]


# -- the model store -----------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    return render_template("designer/index.html", sets=pages.model_sets(services()))


@bp.get("/sets/<set_name>")
@login_required
def model_set(set_name: str):
    return render_template("designer/set.html", set_name=set_name, versions=pages.versions_of(services(), set_name))


@bp.get("/versions/<int:version_id>")
@login_required
def version(version_id: int):
    found = pages.version_page(services(), version_id)
    return render_template("designer/version.html", version=found["version"], files=found["files"],
                           others=found["others"], contexts=found["contexts"])


@bp.get("/versions/<int:version_id>/files/<path:name>")
@login_required
def file(version_id: int, name: str):
    content = pages.file_content(services(), version_id, name)
    response = current_app.response_class(content, mimetype=CONTENT_TYPES[file_kind(name)])
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"  # versions never change
    return response


@bp.post("/versions/<int:version_id>/publish")
@login_required
def publish(version_id: int):
    try:
        versions.publish(services(), current_user.actor, version_id)
    except Conflict:
        flash(_("This version is already published."), "warning")
    else:
        others = pages.running_elsewhere(services(), version_id)
        flash(_("Version #%(id)d is published: new cases start on it. The %(count)d running case(s) on other "
                "versions stay on theirs until you migrate them.", id=version_id, count=others), "success")
    return redirect(url_for("designer.version", version_id=version_id))


@bp.post("/versions/<int:version_id>/retire")
@login_required
def retire(version_id: int):
    versions.retire(services(), current_user.actor, version_id)
    flash(_("Version #%(id)d is retired: it starts no new cases. Cases still on it keep running until migrated.",
            id=version_id), "success")
    return redirect(url_for("designer.version", version_id=version_id))


@bp.get("/diff")
@login_required
def diff():
    old_id, new_id = request.args.get("old", type=int), request.args.get("new", type=int)
    if not old_id or not new_id:
        raise NotFound("choose two versions")
    found = pages.diff(services(), old_id, new_id)
    changes, elements = found["changes"], found["elements"]
    old_files, new_files = found["old_files"], found["new_files"]
    diagrams = []
    for name in sorted(set(changes["files"]["changed"]) | set(changes["files"]["added"])):
        if file_kind(name) != "bpmn":
            continue
        entry = {"file": name, "new_url": url_for("designer.file", version_id=new_id, name=name),
                 "added": sorted(elements["added"]), "changed": sorted(elements["changed"]),
                 "removed": sorted(elements["removed"]), "old_url": None}
        if name in old_files:
            entry["old_url"] = url_for("designer.file", version_id=old_id, name=name)
        diagrams.append(entry)
    forms = sorted(n for n in (set(changes["files"]["changed"]) | set(changes["files"]["added"]))
                   if file_kind(n) == "form")
    return render_template("designer/diff.html", old=found["old"], new=found["new"], changes=changes,
                           elements=elements, names=found["names"], diagrams=diagrams,
                           text_diffs=found["text_diffs"], forms=forms, new_only=sorted(new_files - old_files))


# -- editing -------------------------------------------------------------------------------------------


def editor_texts() -> dict[str, str]:
    """Every text the editor bundle shows, in the page's language."""
    return {
        "files": _("Files"), "changed": _("changed"), "new": _("new"), "validate": _("Validate"),
        "validating": _("Validating…"), "save": _("Save as draft"), "saving": _("Saving…"),
        "comment": _("Comment for this draft"), "valid": _("No problems found: this set can be published."),
        "problems": _("Problems"), "problemCount": _("%(count)s problem(s) found. Click one to go to the element."),
        "nameWarnings": _("%(count)s element(s) named in one language only: add the other language to the names "
                          "catalog (bpmn/names). A warning: the version still runs."),
        "unsaved": _("You have changes that are not saved as a draft yet."),
        "saved": _("Saved as a new draft version."), "same": _("Nothing changed: this content is already stored."),
        "refused": _("Not saved: the model set has problems. Fix them and save again."),
        "failed": _("That did not work. Please try again."),
        "loading": _("Loading…"), "loadFailed": _("This file could not be opened."),
        "lossWarning": _("This file holds elements the editor does not know; they would be lost, so it cannot be "
                         "saved from here. Upload the file instead."),
        "wholeFile": _("whole file"), "addForm": _("Add a form"), "formName": _("File name of the new form"),
        "formNameHint": _("e.g. confirmation.schema.json"), "badName": _("Use letters, digits, _ . - and end "
                                                                         "with .schema.json or .uischema.json"),
        "exists": _("A file with this name exists already."), "preview": _("Preview of the form"),
        "previewLang": _("Preview language"), "jsonInvalid": _("Not valid JSON yet: the preview waits for it."),
        "previewFailed": _("The form cannot be shown:"), "noPreview": _("UI schema: shown with its form schema"),
        "spiff": _("tejun"), "form": _("Form (JSON Schema file)"), "uiForm": _("UI schema file"),
        "stage": _("Stage"), "assignee": _("Assignee (expression)"), "dueDate": _("Due date (expression)"),
        "priority": _("Priority"), "none": _("(none)"), "script": _("Script (Python)"),
        "preScript": _("Pre-script (runs before the task)"), "postScript": _("Post-script (runs after the task)"),
        "condition": _("Condition (Python expression)"), "calledDecision": _("Decision id (DMN)"),
        "calledElement": _("Called process id"), "laneRole": _("Role of this lane"),
        "laneScope": _("Organization (scope)"), "scopeHint": _("empty = the default; partner, ministry, …"),
        "instructions": _("Instructions for the user"), "scripts": _("Scripts"), "laneUnknown": _("not a known role"),
        "diagram": _("Diagram"), "properties": _("Properties"), "otherFile": _("in another file"),
        "stale": _("(Changed since this check: validate again.)"),
    }


@bp.get("/versions/<int:version_id>/edit")
@login_required
def edit(version_id: int):
    row, files, contents = pages.version_with_files(services(), version_id)
    main = main_file(contents)
    config = {
        "version_id": version_id,
        "set_name": row.set_name,
        "files": [{"name": f.path, "kind": f.kind, "url": url_for("designer.file", version_id=version_id,
                                                                    name=f.path)} for f in files],
        "validate_url": url_for("designer.validate", version_id=version_id),
        "save_url": url_for("designer.save_draft", version_id=version_id),
        "roles": sorted(KNOWN_ROLES), "stages": sorted(STAGES),
        "priorities": [p for p in ("low", "normal", "high", "urgent") if p in PRIORITIES],
        "labels": {
            "role": {code: str(text) for code, text in labels.ROLES.items()},
            "stage": {code: str(text) for code, text in labels.STAGES.items()},
            "priority": {code: str(labels.PRIORITIES[i]) for i, code in enumerate(("low", "normal", "high", "urgent"))},
        },
        "texts": editor_texts(),
        "main_file": main,
        "form_preview_url": url_for("designer.form_preview"),
        "reference_lists": {name: str(REFERENCE_LIST_NAMES.get(name, name)) for name in sorted(KNOWN_REFERENCE_LISTS)},
        "builder": builder_texts(),
    }
    return render_template("designer/edit.html", version=row, config=config)


REFERENCE_LIST_NAMES = {
    "technology_areas": _l("Critical technology areas"),
    "mitigation_catalog": _l("Mitigation measures"),
    "risk_levels": _l("Risk levels"),
    "institutions": _l("Research institutions"),
    "ministries": _l("Ministries"),
    "funding_agencies": _l("Funding agencies"),
}


def builder_texts() -> dict[str, str]:
    """The texts of the visual form editor (the fields of a JSON Schema form, kept in sync with its JSON)."""
    return {
        "tabFields": _("Fields"), "tabJson": _("JSON (advanced)"), "fieldsOf": _("Fields of"),
        "root": _("the whole form"), "key": _("Key"), "kind": _("Type"), "titleJa": _("Label (Japanese)"),
        "titleEn": _("Label (English)"), "required": _("Required"), "choices": _("Choices"),
        "choicesHint": _("One per line: value | Japanese label | English label"), "reference": _("Reference list"),
        "showWhen": _("Show only when"), "always": _("(always shown)"), "is": _("is"), "add": _("Add a field"),
        "remove": _("Remove"), "up": _("Move up"), "down": _("Move down"), "advanced": _("Edited in the JSON view"),
        "yes": _("Yes"), "no": _("No"), "field": _("Field %(n)s"), "noFields": _("No fields yet."),
        "kind_text": _("Text"), "kind_textarea": _("Long text"), "kind_integer": _("Whole number"),
        "kind_number": _("Number"), "kind_boolean": _("Yes / no"), "kind_date": _("Date"),
        "kind_choice": _("Choice"), "kind_reference": _("Choice from a reference list"),
        "kind_references": _("Several from a reference list"), "kind_advanced": _("Other (JSON)"),
        "kind_list": _("List of items (each with fields)"), "items": _("each item of %(list)s"),
        "editItems": _("Edit the item fields"), "atLeastOne": _("At least one"),
        "previewOnly": _("This is a preview: nothing was sent."),
    }


def _preview_schema(body) -> dict:
    """A form schema as the task page gets it: reference lists filled in (`expand_for_page`, the same expansion
    as `cases.forms.expanded_schema`), texts in the chosen language."""
    from ..forms.schema import localize_ui

    if not isinstance(body, dict) or not isinstance(body.get("schema"), dict):
        raise InvalidRequest(_("Send {\"schema\": {...}}."))
    lang = body.get("lang") if body.get("lang") in ("ja", "en") else labels.lang()
    ui = body.get("ui_schema") if isinstance(body.get("ui_schema"), dict) else {}
    schema = pages.expand_for_page(services(), body["schema"], lang)
    return {"schema": schema, "ui_schema": localize_ui(ui, lang)}


@bp.post("/forms/preview")
@login_required
def form_preview():
    """{schema, ui_schema, lang} -> the schema and UI schema the task page would render (for the preview)."""
    from ..forms.schema import SchemaProblem

    try:
        return _preview_schema(request.get_json(silent=True))
    except TejunError as exc:
        return _json_refusal(exc)
    except SchemaProblem as exc:
        return problem(422, _("The request could not be processed"), str(exc))


def main_file(contents: dict[str, bytes]) -> str | None:
    """The BPMN file that defines the set's entry process (the case's own diagram): the editor opens it first."""
    for process_id in ENTRY_PROCESSES:
        wanted = re.compile(rf'<(?:\w+:)?process\b[^>]*\bid="{re.escape(process_id)}"')
        for path in sorted(contents):
            if path.endswith(".bpmn") and wanted.search(contents[path].decode("utf-8", "replace")):
                return path
    return None


def _edited_set(version_id: int, body) -> dict[str, bytes]:
    """The base version's files with the edited ones replaced (or added) and the removed ones left out."""
    if not isinstance(body, dict) or not isinstance(body.get("files", {}), dict):
        raise InvalidRequest(_("Send {\"files\": {\"name\": \"content\"}, \"removed\": [\"name\"]}."))
    edited, removed = body.get("files") or {}, body.get("removed") or []
    if not isinstance(removed, list) or len(edited) + len(removed) > MAX_FILES:
        raise InvalidRequest(_("Too many files."))
    for name in [*edited, *removed]:
        if not isinstance(name, str) or not FILE_NAME.fullmatch(name):
            raise InvalidRequest(_("File name not allowed: %(name)s", name=str(name)[:160]))
    _row, _files, files = pages.version_with_files(services(), version_id)
    for name in removed:
        files.pop(name, None)
    for name, content in edited.items():
        if not isinstance(content, str):
            raise InvalidRequest(_("File name not allowed: %(name)s", name=name))
        files[name] = content.encode("utf-8")
    return files


def _json_refusal(exc: TejunError):
    return problem(exc.status, _("The request could not be processed"), exc.detail)


@bp.post("/versions/<int:version_id>/validate")
@login_required
def validate(version_id: int):
    try:
        files = _edited_set(version_id, request.get_json(silent=True))
    except TejunError as exc:
        return _json_refusal(exc)
    found = validate_model_files(files)
    answer = {"valid": not found, "errors": _problems_json(found)}
    set_name = pages.version(services(), version_id).set_name
    if set_name == DEFAULT_SET:  # the set the names catalogs (bpmn/names) name
        from ..designer import names

        # not a problem (the set stays valid): an element a person reads named in one language only
        warnings = names.warnings(files)
        if warnings:
            answer["warnings"] = _problems_json(warnings)
    return answer


@bp.post("/versions/<int:version_id>/drafts")
@login_required
def save_draft(version_id: int):
    body = request.get_json(silent=True)
    try:
        files = _edited_set(version_id, body)
    except TejunError as exc:
        return _json_refusal(exc)
    comment = str(body.get("comment") or "").strip()[:MAX_COMMENT] or _("Edited in the browser")
    set_name = pages.version(services(), version_id).set_name
    try:
        new_id, created = versions.upload_draft(services(), current_user.actor, files, comment, set_name=set_name)
    except ModelError as exc:
        errors = _problems_json(exc.problems)
        return problem(422, _("The model set has problems"),
                       _("%(count)d problem(s): fix them and save again.", count=len(errors)), errors=errors)
    url = url_for("designer.version", version_id=new_id)
    if created:
        flash(_("Saved as draft version #%(id)d. Validate, compare and publish it from here.", id=new_id), "success")
    return {"version_id": new_id, "created": created, "url": url}, 201 if created else 200


# -- upload --------------------------------------------------------------------------------------------


def _uploaded_files() -> tuple[dict[str, bytes], list[Problem]]:
    files: dict[str, bytes] = {}
    problems: list[Problem] = []
    for storage in request.files.getlist("files"):
        if storage is None or not storage.filename:
            continue
        name = storage.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
        if not FILE_NAME.fullmatch(name):
            problems.append(Problem(name or "-", None, _("file name not allowed: use letters, digits, _ . - and the "
                                                         "extension .bpmn, .dmn or .json")))
            continue
        content = storage.stream.read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:
            problems.append(Problem(name, None, _("file is too large (the limit is %(limit)s bytes)",
                                                  limit=f"{MAX_FILE_BYTES:,}")))
            continue
        files[name] = content
    if len(files) > MAX_FILES:
        problems.append(Problem("-", None, _("Too many files.")))
    return files, problems


@bp.route("/upload", methods=["GET", "POST"])
@login_required
def upload():
    sets = pages.model_sets(services())
    form = {"set_name": request.values.get("set_name") or DEFAULT_SET, "new_set": "", "comment": "",
            "base": request.values.get("base", type=int)}
    if request.method == "GET":
        return render_template("designer/upload.html", sets=sets, form=form, problems=[], uploaded=[],
                               max_file_size=MAX_FILE_BYTES)
    form.update(new_set=(request.form.get("new_set") or "").strip(),
                comment=(request.form.get("comment") or "").strip())
    set_name = form["new_set"] or form["set_name"]
    files, problems = _uploaded_files()
    if not SET_NAME.fullmatch(set_name or ""):
        problems.append(Problem("-", None, _("Name the model set with letters, digits, _ . - (at most 64).")))
    if not files and not problems:
        problems.append(Problem("-", None, _("Choose at least one .bpmn, .dmn or .json file.")))
    merged = dict(files)
    if form["base"] and not problems:
        base, _files, base_files = pages.version_with_files(services(), form["base"])
        if base.set_name != set_name:
            problems.append(Problem("-", None, _("The base version belongs to another model set.")))
        merged = {**base_files, **files}
    if not problems:
        try:
            new_id, created = versions.upload_draft(services(), current_user.actor, merged,
                                                    form["comment"][:MAX_COMMENT] or _("Uploaded files"),
                                                    set_name=set_name)
        except ModelError as exc:
            problems = exc.problems
        else:
            if created:
                flash(_("Stored as draft version #%(id)d.", id=new_id), "success")
            else:
                flash(_("These files are already stored as version #%(id)d.", id=new_id), "info")
            return redirect(url_for("designer.version", version_id=new_id))
    return render_template("designer/upload.html", sets=sets, form=form, problems=problems,
                           uploaded=sorted(files), max_file_size=MAX_FILE_BYTES), 422


# -- migration of running cases --------------------------------------------------------------------------


def _case_filter(values) -> queries.CaseFilter:
    status = values.get("status") or None
    return queries.CaseFilter(
        from_version=values.get("from_version", type=int) or None,
        process_id=(values.get("process") or "").strip()[:255] or None,
        status=status if status in ("running", "error") else None,
        stage=(values.get("stage") or "").strip()[:32] or None,
    )


def _not_published(version_id: int):
    flash(_("Publish this version first: running cases can only move to a published version."), "error")
    return redirect(url_for("designer.version", version_id=version_id))


@bp.get("/versions/<int:version_id>/cases")
@login_required
def cases(version_id: int):
    chosen = _case_filter(request.args)
    try:
        found = pages.movable_cases(services(), version_id, chosen)
    except InvalidRequest:
        return _not_published(version_id)
    return render_template("designer/cases.html", target=found["target"], rows=found["rows"], total=found["total"],
                           chosen=chosen, choices=found["choices"], hashes=found["hashes"])


def _chosen_case_ids(version_id: int) -> tuple[queries.VersionRow, list[int]]:
    """The target version (InvalidRequest unless published) and the cases chosen: all movable ones matching the
    filter, or those ticked."""
    all_matching = bool(request.form.get("all_matching"))
    target, matching = pages.matching_case_ids(services(), version_id,
                                               _case_filter(request.form) if all_matching else None)
    if matching is not None:
        return target, matching
    ids = [i for i in request.form.getlist("case_id", type=int) if i > 0]  # out of range: 400 (input_guard)
    return target, list(dict.fromkeys(ids))[:migration.MAX_CASES_PER_JOB]


@bp.post("/versions/<int:version_id>/cases/preview")
@login_required
def preview(version_id: int):
    try:
        target, case_ids = _chosen_case_ids(version_id)
    except InvalidRequest:
        return _not_published(version_id)
    if not case_ids:
        flash(_("Choose at least one case."), "error")
        return redirect(url_for("designer.cases", version_id=version_id))
    try:
        found = migration.preview(services(), current_user.actor, case_ids, version_id)
    except (NotFound, InvalidRequest):
        flash(_("Some of the chosen cases cannot move to this version (another model set, or gone)."), "error")
        return redirect(url_for("designer.cases", version_id=version_id))
    rows = pages.cases_by_id(services(), case_ids)
    movable = [p["case_id"] for p in found if p["can_migrate"]]
    return render_template("designer/preview.html", target=target, previews=found, rows=rows, movable=movable)


@bp.post("/versions/<int:version_id>/cases/migrate")
@login_required
def migrate(version_id: int):
    try:
        pages.target(services(), version_id)
    except InvalidRequest:
        return _not_published(version_id)
    case_ids = list(dict.fromkeys(i for i in request.form.getlist("case_id", type=int) if i > 0))
    if not case_ids:
        flash(_("Choose at least one case."), "error")
        return redirect(url_for("designer.cases", version_id=version_id))
    if len(case_ids) == 1:
        try:
            moved = migration.migrate_case(services(), current_user.actor, case_ids[0], version_id)
        except Conflict as exc:
            flash(_("The case was not moved: %(reason)s", reason=message_for(exc)), "error")
        except (NotFound, InvalidRequest) as exc:
            flash(_("The case was not moved: %(reason)s", reason=message_for(exc)), "error")
        else:
            flash(_("%(reference)s now runs on version #%(id)d.", reference=moved["reference"], id=version_id),
                  "success")
        return redirect(url_for("designer.cases", version_id=version_id))
    try:
        job_id = migration.request_bulk(services(), current_user.actor, case_ids, version_id)
    except (NotFound, InvalidRequest) as exc:
        flash(_("The cases were not moved: %(reason)s", reason=message_for(exc)), "error")
        return redirect(url_for("designer.cases", version_id=version_id))
    flash(_("Migration of %(count)d cases queued: the timer worker moves them one by one.", count=len(case_ids)),
          "success")
    return redirect(url_for("designer.job", job_id=job_id))


def _progress(job_id: int) -> dict:
    found, rows = pages.job_progress(services(), job_id)
    results = []
    for case_id, outcome in sorted((found["results"] or {}).items(), key=lambda kv: int(kv[0])):
        row = rows.get(int(case_id))
        results.append({"case_id": int(case_id), "reference": row.reference if row else case_id,
                        "result": outcome.get("result"), "detail": outcome.get("detail", "")})
    return {"id": found["id"], "status": found["status"], "total": found["total"], "done": found["done"],
            "counts": found["counts"], "target_version_id": found["target_version_id"], "results": results}


@bp.get("/migrations/<int:job_id>")
@login_required
def job(job_id: int):
    found = _progress(job_id)
    labels = {"migrated": _("moved"), "refused": _("refused"), "skipped": _("skipped"), "failed": _("failed")}
    return render_template("designer/job.html", job=found, labels=labels,
                           progress_url=url_for("designer.job_progress", job_id=job_id))


@bp.get("/migrations/<int:job_id>/progress")
@login_required
def job_progress(job_id: int):
    return _progress(job_id)
