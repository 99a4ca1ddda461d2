"""Model versions as designers handle them: upload a draft, compare, publish, retire."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock
from ..auth.actor import Actor
from ..auth.permissions import may_design
from ..engine.migration import spec_changes
from ..errors import N_, Conflict, Forbidden, NotFound
from ..eventlog import chain
from ..models import ModelVersion
from ..services import Services
from ..unit_of_work import unit_of_work
from .store import DEFAULT_SET, specs_for, store_version, version_files


def _require_designer(actor: Actor) -> None:
    if not may_design(actor):
        raise Forbidden(N_("only process designers may change models"))


def _record(session: Session, actor: Actor, action: str, data: dict) -> None:
    chain.append(session, stream=chain.SYSTEM_STREAM, action=action, actor_id=actor.user_id,
                 actor_name=actor.username, data=data)


def upload_draft(svc: Services, actor: Actor, files: Mapping[str, bytes], comment: str,
                 set_name: str = DEFAULT_SET) -> tuple[int, bool]:
    """Store a complete model set as a draft version (validated first: ModelError lists every problem)."""
    _require_designer(actor)
    with unit_of_work(svc) as session:
        version, created = store_version(session, files, set_name=set_name, status="draft", comment=comment,
                                         author_id=actor.user_id)
        if created:
            _record(session, actor, "model_version_uploaded",
                    {"version_id": version.id, "set": set_name, "hash": version.content_hash, "comment": comment})
        return version.id, created


def publish(svc: Services, actor: Actor, version_id: int) -> None:
    """New cases start on the newest published version; running cases stay on theirs."""
    _require_designer(actor)
    with unit_of_work(svc) as session:
        version = session.get(ModelVersion, version_id)
        if version is None:
            raise NotFound(N_("no such model version"))
        if version.status == "published":
            raise Conflict(N_("this version is already published"))
        version.status = "published"
        version.published_at = clock.now()
        _record(session, actor, "model_version_published", {"version_id": version.id, "hash": version.content_hash})


def retire(svc: Services, actor: Actor, version_id: int) -> None:
    """A retired version starts no new cases; cases still on it keep running until migrated."""
    _require_designer(actor)
    with unit_of_work(svc) as session:
        version = session.get(ModelVersion, version_id)
        if version is None:
            raise NotFound(N_("no such model version"))
        version.status = "retired"
        _record(session, actor, "model_version_retired", {"version_id": version.id})


def diff_versions(session: Session, old_id: int, new_id: int) -> dict:
    """Which files, and which elements of each entry process, differ between two versions."""
    old_files, new_files = version_files(session, old_id), version_files(session, new_id)

    def digest(files, name):
        return hashlib.sha256(files[name]).hexdigest()

    files = {
        "added": sorted(set(new_files) - set(old_files)),
        "removed": sorted(set(old_files) - set(new_files)),
        "changed": sorted(n for n in set(old_files) & set(new_files) if digest(old_files, n) != digest(new_files, n)),
    }
    processes = {}
    for process_id in _entry_processes(session, old_id) & _entry_processes(session, new_id):
        old_spec, old_subs = specs_for(session, old_id, process_id)
        new_spec, new_subs = specs_for(session, new_id, process_id)
        processes[process_id] = spec_changes(old_spec, old_subs, new_spec, new_subs)
    return {"files": files, "processes": processes}


def _entry_processes(session: Session, version_id: int) -> set[str]:
    from ..models import ModelSpec

    return set(session.scalars(select(ModelSpec.process_id).where(ModelSpec.model_version_id == version_id)))




def sync_from_disk(svc: Services, comment: str) -> tuple[ModelVersion, bool]:
    """`models sync`: the default model set on disk (TEJUN_BPMN_DIR, TEJUN_FORMS_DIR) stored as a published
    version when its content changed; returns (the version, whether it is new). A new one is an
    administrative action: on the system stream. Raises ModelError when the files are invalid."""
    from .store import read_model_dirs

    files = read_model_dirs(svc.settings.bpmn_dir, svc.settings.forms_dir)
    with unit_of_work(svc) as session:
        version, created = store_version(session, files, status="published", comment=comment)
        if created:
            chain.append(session, stream=chain.SYSTEM_STREAM, action="model_version_published", actor_id=None,
                         actor_name="cli", data={"version_id": version.id, "set": version.set_name,
                                                 "hash": version.content_hash, "comment": comment,
                                                 "via": "models sync"})
        session.flush()
        return version, created


def all_versions(svc: Services) -> list[ModelVersion]:
    """Every stored version, newest first, with its file list."""
    from sqlalchemy.orm import selectinload

    with svc.db.reader() as session:
        return list(session.scalars(
            select(ModelVersion).options(selectinload(ModelVersion.files)).order_by(ModelVersion.id.desc())))
