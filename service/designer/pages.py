"""Reads of the designer's pages (service/web/designer.py), each opening its own session and returning plain
rows (`queries`' dataclasses, file contents): the pages render after the session closed. Who may call them is
checked by the pages (`may_design`, before every request)."""

from __future__ import annotations

from ..cases import migration
from ..errors import InvalidRequest
from . import queries, versions
from .context_check import context_preview
from .store import file_kind, version_files


def model_sets(svc) -> list[queries.SetRow]:
    with svc.db.reader() as session:
        return queries.model_sets(session)


def versions_of(svc, set_name: str) -> list[queries.VersionRow]:
    with svc.db.reader() as session:
        return queries.versions_of(session, set_name)


def version(svc, version_id: int) -> queries.VersionRow:
    """One version (NotFound for an unknown one)."""
    with svc.db.reader() as session:
        return queries.version(session, version_id)


def version_page(svc, version_id: int) -> dict:
    """One version, its files, the other versions of its set and what each task's context file shows."""
    with svc.db.reader() as session:
        row = queries.version(session, version_id)
        return {"version": row, "files": queries.files_of(session, version_id),
                "others": [v for v in queries.versions_of(session, row.set_name) if v.id != version_id],
                "contexts": context_preview(version_files(session, version_id))}


def file_content(svc, version_id: int, name: str) -> bytes:
    with svc.db.reader() as session:
        return queries.file_content(session, version_id, name)


def running_elsewhere(svc, version_id: int) -> int:
    """How many running cases of the version's set run on other versions."""
    with svc.db.reader() as session:
        row = queries.version(session, version_id)
        return sum(v.running for v in queries.versions_of(session, row.set_name) if v.id != version_id)


def diff(svc, old_id: int, new_id: int) -> dict:
    """What changed between two versions: the changes by file and process, the changed elements, their names,
    text diffs of changed files other than diagrams, and the file names of both versions."""
    with svc.db.reader() as session:
        old, new = queries.version(session, old_id), queries.version(session, new_id)
        changes = versions.diff_versions(session, old_id, new_id)
        elements = {"added": set(), "removed": set(), "changed": set()}
        for found in changes["processes"].values():
            for key in elements:
                elements[key] |= set(found[key])
        return {
            "old": old, "new": new, "changes": changes, "elements": elements,
            "old_files": set(version_files(session, old_id)), "new_files": set(version_files(session, new_id)),
            "text_diffs": {name: queries.text_diff(session, old_id, new_id, name)
                           for name in changes["files"]["changed"] if file_kind(name) != "bpmn"},
            "names": queries.element_names(session, old_id, new_id),
        }


def version_with_files(svc, version_id: int) -> tuple[queries.VersionRow, list[queries.FileRow], dict[str, bytes]]:
    """One version (NotFound for an unknown one), its files as listed, and their contents by path."""
    with svc.db.reader() as session:
        row = queries.version(session, version_id)
        return row, queries.files_of(session, version_id), dict(version_files(session, version_id))


def expand_for_page(svc, schema: dict, lang: str) -> dict:
    """A form schema with its reference lists filled in (`cases.forms.expand_for_page`)."""
    from ..cases.forms import expand_for_page as expand

    with svc.db.reader() as session:
        return expand(session, schema, lang)


def target(svc, version_id: int) -> queries.VersionRow:
    """The version cases would move to: NotFound for an unknown one, InvalidRequest unless published."""
    with svc.db.reader() as session:
        return _target(session, version_id)


def _target(session, version_id: int) -> queries.VersionRow:
    row = queries.version(session, version_id)
    if row.status != "published":
        raise InvalidRequest("cases can only move to a published version")
    return row


def movable_cases(svc, version_id: int, chosen: queries.CaseFilter) -> dict:
    """The running cases that could move to a published version (`target`'s refusals), with the versions'
    hashes and the filter's choices."""
    with svc.db.reader() as session:
        row = _target(session, version_id)
        rows, total = queries.movable_cases(session, row.set_name, version_id, chosen)
        return {"target": row, "rows": rows, "total": total,
                "hashes": {v.id: v.content_hash for v in queries.versions_of(session, row.set_name)},
                "choices": queries.filter_choices(session, row.set_name)}


def matching_case_ids(svc, version_id: int, chosen: queries.CaseFilter | None) -> tuple[queries.VersionRow,
                                                                                      list[int] | None]:
    """The target version (`target`'s refusals) and, with a filter, the ids of the movable cases matching it
    (at most one job's worth)."""
    with svc.db.reader() as session:
        row = _target(session, version_id)
        if chosen is None:
            return row, None
        rows, _total = queries.movable_cases(session, row.set_name, version_id, chosen,
                                             limit=migration.MAX_CASES_PER_JOB)
        return row, [r.id for r in rows]


def cases_by_id(svc, case_ids) -> dict[int, queries.CaseRow]:
    with svc.db.reader() as session:
        return queries.cases_by_id(session, case_ids)


def job_progress(svc, job_id: int) -> tuple[dict, dict[int, queries.CaseRow]]:
    """A migration job's progress (NotFound for an unknown one) and the cases it moves."""
    with svc.db.reader() as session:
        found = migration.job_progress(session, job_id)
        return found, queries.cases_by_id(session, [int(i) for i in found["predicted"]])
