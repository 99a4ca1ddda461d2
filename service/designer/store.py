"""The model store: immutable versions of the BPMN/DMN/form set, and per-process caches of what they hold.

A version is identified by the hash of its content, so syncing unchanged files is a no-op. Versions never
change once stored, so the caches below never need invalidating; they are bounded (service/model_cache.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import clock, model_cache
from ..engine.loader import ModelError, Problem, load_model
from ..engine.runtime import dump_specs, load_specs
from ..models import ModelFile, ModelSpec, ModelVersion
from .validation import validate_model_files

DEFAULT_SET = "default"
ENTRY_PROCESSES = ("research_security_case", "program_designation")


def file_kind(name: str) -> str:
    if name.endswith(".bpmn"):
        return "bpmn"
    if name.endswith(".dmn"):
        return "dmn"
    return "form"


def content_hash(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).hexdigest().encode() + b"\n")
    return digest.hexdigest()


def read_model_dirs(bpmn_dir: Path, forms_dir: Path) -> dict[str, bytes]:
    """The default model set from disk: `bpmn/*.bpmn|*.dmn` and `forms/*.json`, keyed by file name."""
    files: dict[str, bytes] = {}
    for path in sorted(bpmn_dir.glob("*.bpmn")) + sorted(bpmn_dir.glob("*.dmn")):
        files[path.name] = path.read_bytes()
    for path in sorted(forms_dir.glob("*.json")):
        files[path.name] = path.read_bytes()
    return files


def latest_published(session: Session, set_name: str = DEFAULT_SET) -> ModelVersion | None:
    return session.scalars(
        select(ModelVersion)
        .where(ModelVersion.set_name == set_name, ModelVersion.status == "published")
        .order_by(ModelVersion.published_at.desc(), ModelVersion.id.desc())
        .limit(1)
    ).first()


def store_version(
    session: Session,
    files: Mapping[str, bytes],
    *,
    set_name: str = DEFAULT_SET,
    status: str = "draft",
    comment: str = "",
    author_id: int | None = None,
) -> tuple[ModelVersion, bool]:
    """Store `files` as a version (validated first); returns (version, created). Same content, same version."""
    digest = content_hash(files)
    existing = session.scalars(
        select(ModelVersion).where(ModelVersion.set_name == set_name, ModelVersion.content_hash == digest)
    ).first()
    if existing is not None:
        return existing, False
    problems = validate_model_files(files)
    if not problems and not load_model(files).process_ids:
        # a version is something cases can run on: forms alone are not one
        problems = [Problem("-", None, "the model set holds no executable BPMN process")]
    if problems:
        raise ModelError(problems)
    return insert_version(session, files, set_name=set_name, status=status, comment=comment,
                          author_id=author_id), True


def insert_version(
    session: Session,
    files: Mapping[str, bytes],
    *,
    set_name: str,
    status: str,
    comment: str = "",
    author_id: int | None = None,
) -> ModelVersion:
    """Write a version row, its files and its engine specs. Callers validate first (see store_version)."""
    loaded = load_model(files)
    digest = content_hash(files)
    now = clock.now()
    version = ModelVersion(
        set_name=set_name,
        content_hash=digest,
        status=status,
        comment=comment,
        created_by_id=author_id,
        created_at=now,
        published_at=now if status == "published" else None,
    )
    for name, content in sorted(files.items()):
        version.files.append(
            ModelFile(path=name, kind=file_kind(name), content=content, sha256=hashlib.sha256(content).hexdigest())
        )
    session.add(version)
    session.flush()
    for process_id in loaded.process_ids:
        spec, subprocess_specs = loaded.specs_for(process_id)
        session.add(
            ModelSpec(model_version_id=version.id, process_id=process_id, spec_json=dump_specs(spec, subprocess_specs))
        )
    return version


# -- immutable version content, cached per process (bounded: service/model_cache.py) ------------------------
_specs = model_cache.bounded("specs", 64)  # (version, process) -> (spec, subprocess specs)
_files = model_cache.bounded("files", 16)  # version -> {path: content}
_hashes = model_cache.bounded("hashes", 1024)  # version -> content hash
_forms = model_cache.bounded("forms", 1024)  # (version, file name) -> parsed JSON


def specs_for(session: Session, version_id: int, process_id: str):
    """(spec, subprocess_specs) of one process in one version, restored once per process."""

    def load():
        row = session.scalars(
            select(ModelSpec).where(ModelSpec.model_version_id == version_id, ModelSpec.process_id == process_id)
        ).first()
        if row is None:
            raise LookupError(f"model version {version_id} has no process {process_id!r}")
        return load_specs(row.spec_json)

    return _specs.get((version_id, process_id), load)


def version_files(session: Session, version_id: int) -> dict[str, bytes]:
    def load():
        rows = session.execute(
            select(ModelFile.path, ModelFile.content).where(ModelFile.model_version_id == version_id)
        ).all()
        return {path: bytes(content) for path, content in rows}

    return _files.get(version_id, load)


def model_hash(session: Session, version_id: int) -> str:
    """The content hash of a version: stamped on every event so history names the process it ran under."""
    return _hashes.get(version_id, lambda: session.scalar(
        select(ModelVersion.content_hash).where(ModelVersion.id == version_id)))


def form_json(session: Session, version_id: int, name: str | None) -> dict | None:
    """A form (or UI) schema of a version, parsed once and shared: callers must not mutate it."""
    if not name:
        return None

    def load():
        content = version_files(session, version_id).get(name)
        return json.loads(content) if content is not None else None

    return _forms.get((version_id, name), load)
