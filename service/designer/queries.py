"""What the designer pages read: model sets, versions with their running cases, files, and the cases a
designer may move between versions (reference, status, stage and version only: never case data)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import N_, NotFound
from ..models import Case, ModelFile, ModelVersion, User
from .store import latest_published, version_files

MAX_DIFF_LINES = 400


@dataclass
class VersionRow:
    id: int
    set_name: str
    content_hash: str
    status: str
    comment: str
    author: str
    created_at: datetime
    published_at: datetime | None
    running: int
    newest_published: bool


@dataclass
class SetRow:
    name: str
    versions: int
    drafts: int
    published: VersionRow | None
    running: int
    last_change: datetime | None


@dataclass
class CaseRow:
    """A case as designers see it."""

    id: int
    reference: str
    status: str
    stage: str | None
    process_id: str
    model_version_id: int


@dataclass
class FileRow:
    path: str
    kind: str
    size: int
    sha256: str


def running_counts(session: Session, version_ids=None) -> dict[int, int]:
    """Cases not yet completed, per model version."""
    query = select(Case.model_version_id, func.count()).where(Case.status != "completed")
    if version_ids is not None:
        query = query.where(Case.model_version_id.in_(list(version_ids)))
    return dict(session.execute(query.group_by(Case.model_version_id)).all())


def _authors(session: Session, user_ids) -> dict[int, str]:
    ids = {i for i in user_ids if i}
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name, User.username).where(User.id.in_(ids))).all()
    return {uid: display or username for uid, display, username in rows}


def _rows(session: Session, versions: list[ModelVersion]) -> list[VersionRow]:
    running = running_counts(session, [v.id for v in versions])
    authors = _authors(session, (v.created_by_id for v in versions))
    newest = {}
    for name in {v.set_name for v in versions}:
        published = latest_published(session, name)
        newest[name] = published.id if published else None
    return [
        VersionRow(id=v.id, set_name=v.set_name, content_hash=v.content_hash, status=v.status, comment=v.comment or "",
                   author=authors.get(v.created_by_id, ""), created_at=v.created_at, published_at=v.published_at,
                   running=running.get(v.id, 0), newest_published=newest.get(v.set_name) == v.id)
        for v in versions
    ]


def model_sets(session: Session) -> list[SetRow]:
    versions = list(session.scalars(select(ModelVersion).order_by(ModelVersion.set_name, ModelVersion.id.desc())))
    rows = _rows(session, versions)
    sets: dict[str, SetRow] = {}
    for row in rows:
        found = sets.setdefault(row.set_name, SetRow(row.set_name, 0, 0, None, 0, None))
        found.versions += 1
        found.drafts += row.status == "draft"
        found.running += row.running
        if row.newest_published:
            found.published = row
        if found.last_change is None or row.created_at > found.last_change:
            found.last_change = row.created_at
    return sorted(sets.values(), key=lambda s: (s.name != "default", s.name))


def versions_of(session: Session, set_name: str) -> list[VersionRow]:
    versions = list(session.scalars(
        select(ModelVersion).where(ModelVersion.set_name == set_name).order_by(ModelVersion.id.desc())
    ))
    if not versions:
        raise NotFound(N_("no such model set"))
    return _rows(session, versions)


def version(session: Session, version_id: int) -> VersionRow:
    found = session.get(ModelVersion, version_id)
    if found is None:
        raise NotFound(N_("no such model version"))
    return _rows(session, [found])[0]


def files_of(session: Session, version_id: int) -> list[FileRow]:
    rows = session.execute(
        select(ModelFile.path, ModelFile.kind, func.length(ModelFile.content), ModelFile.sha256)
        .where(ModelFile.model_version_id == version_id).order_by(ModelFile.path)
    ).all()
    return [FileRow(path, kind, size or 0, sha) for path, kind, size, sha in rows]


def file_content(session: Session, version_id: int, path: str) -> bytes:
    content = version_files(session, version_id).get(path)
    if content is None:
        raise NotFound(N_("no such file in this version"))
    return content


def element_names(session: Session, *version_ids: int) -> dict[str, str]:
    """{element id: name} over the BPMN files of the versions (the later version's name wins)."""
    from ..engine.safe_xml import XmlProblem, parse_xml

    names: dict[str, str] = {}
    for version_id in version_ids:
        for path, content in version_files(session, version_id).items():
            if not path.endswith(".bpmn"):
                continue
            try:
                root = parse_xml(content, filename=path)
            except XmlProblem:
                continue
            for element in root.iter():
                if isinstance(element.tag, str) and element.get("id") and element.get("name"):
                    names[element.get("id")] = element.get("name")
    return names


def text_diff(session: Session, old_id: int, new_id: int, path: str) -> list[str]:
    """A unified diff of one text file between two versions (cut after MAX_DIFF_LINES lines)."""
    old = version_files(session, old_id).get(path, b"").decode("utf-8", "replace").splitlines()
    new = version_files(session, new_id).get(path, b"").decode("utf-8", "replace").splitlines()
    lines = list(difflib.unified_diff(old, new, fromfile=f"#{old_id}/{path}", tofile=f"#{new_id}/{path}",
                                      lineterm="", n=2))
    return lines[:MAX_DIFF_LINES] + (["…"] if len(lines) > MAX_DIFF_LINES else [])


# -- cases to migrate -------------------------------------------------------------------------------------


@dataclass
class CaseFilter:
    from_version: int | None = None
    process_id: str | None = None
    status: str | None = None
    stage: str | None = None

    def as_args(self) -> dict:
        return {k: v for k, v in (("from_version", self.from_version), ("process", self.process_id),
                                  ("status", self.status), ("stage", self.stage)) if v}


def _movable(set_name: str, target_id: int, chosen: CaseFilter):
    where = [ModelVersion.set_name == set_name, Case.status != "completed", Case.model_version_id != target_id]
    if chosen.from_version:
        where.append(Case.model_version_id == chosen.from_version)
    if chosen.process_id:
        where.append(Case.process_id == chosen.process_id)
    if chosen.status:
        where.append(Case.status == chosen.status)
    if chosen.stage:
        where.append(Case.stage == chosen.stage)
    return where


def movable_cases(session: Session, set_name: str, target_id: int, chosen: CaseFilter,
                  limit: int | None = 200) -> tuple[list[CaseRow], int]:
    """Cases of the set not yet completed and not on the target version, matching the filter (and how many)."""
    where = _movable(set_name, target_id, chosen)
    joined = select(Case).join(ModelVersion, Case.model_version_id == ModelVersion.id).where(*where)
    total = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    query = (select(Case.id, Case.reference, Case.status, Case.stage, Case.process_id, Case.model_version_id)
             .join(ModelVersion, Case.model_version_id == ModelVersion.id).where(*where).order_by(Case.id))
    if limit is not None:
        query = query.limit(limit)
    return [CaseRow(*row) for row in session.execute(query).all()], total


def filter_choices(session: Session, set_name: str) -> dict:
    """The values the migration filter offers: versions, processes and stages that cases of the set have."""
    base = (select(Case.model_version_id, Case.process_id, Case.stage)
            .join(ModelVersion, Case.model_version_id == ModelVersion.id)
            .where(ModelVersion.set_name == set_name, Case.status != "completed").distinct())
    rows = session.execute(base).all()
    return {
        "versions": sorted({r[0] for r in rows}),
        "processes": sorted({r[1] for r in rows}),
        "stages": sorted({r[2] for r in rows if r[2]}),
    }


def cases_by_id(session: Session, case_ids) -> dict[int, CaseRow]:
    ids = [int(i) for i in case_ids]
    found: dict[int, CaseRow] = {}
    for start in range(0, len(ids), 900):  # stay under the bound-parameter limits
        chunk = ids[start:start + 900]
        for row in session.execute(
            select(Case.id, Case.reference, Case.status, Case.stage, Case.process_id, Case.model_version_id)
            .where(Case.id.in_(chunk))
        ).all():
            found[row[0]] = CaseRow(*row)
    return found
