"""`flask --app wsgi attachments ...`: evidence files between stores.

    flask --app wsgi attachments migrate-storage --to s3 [--delete-source] [--dry-run]
    flask --app wsgi attachments verify

`migrate-storage` copies every attachment's bytes from the other store (local disk for `--to s3`, S3 for
`--to local`) into the named one. It may be run again at any time (while the app runs, before switching
TEJUN_EVIDENCE_STORE, and once more after): a file already in the target with the right SHA-256 is left alone.
Every copy is checked against the SHA-256 kept in the database before it is written and after. It exits 1
when a file is missing from both stores or its bytes do not match (each such file is listed).
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..attachments import stored_files
from ..attachments.storage import KINDS, EvidenceCorrupt, EvidenceMissing, LocalDiskStore, S3Store, build_store
from ..errors import TejunError


@click.group("attachments")
def attachments_cli() -> None:
    """Evidence files: move them between stores, check them."""


def _target_holds(target, name: str, sha256: str) -> bool:
    """Whether the target already has exactly these bytes (S3: the digest it was written with; disk: read)."""
    if isinstance(target, S3Store):
        return target.stored_sha256(name) == sha256
    if not target.exists(name):
        return False
    try:
        target.open_verified(name, sha256).close()
    except EvidenceCorrupt:
        return False
    return True


@attachments_cli.command("migrate-storage")
@click.option("--to", "to", type=click.Choice(KINDS), required=True, help="The store to copy into.")
@click.option("--delete-source", is_flag=True, help="Remove each file from the other store once its copy is checked.")
@click.option("--dry-run", is_flag=True, help="Only count what would be copied.")
@with_appcontext
def migrate_storage(to: str, delete_source: bool, dry_run: bool) -> None:
    """Copy evidence into the `--to` store, verifying SHA-256 (idempotent)."""
    svc = current_app.extensions["tejun"]
    source_kind = "local" if to == "s3" else "s3"
    try:
        source, target = build_store(svc.settings, source_kind), build_store(svc.settings, to)
        target.check()
    except (ValueError, TejunError) as error:
        raise click.ClickException(str(error)) from error
    copied = present = 0
    problems: list[str] = []
    for public_id, name, sha256 in stored_files(svc):
        if _target_holds(target, name, sha256):
            present += 1
            if delete_source and not dry_run:
                source.delete(name)
            continue
        if dry_run:
            if source.exists(name):
                copied += 1
            else:
                problems.append(f"{public_id}: missing from both stores")
            continue
        try:
            with source.open_verified(name, sha256) as fh:
                content = fh.read()
        except EvidenceMissing:
            problems.append(f"{public_id}: missing from both stores")
            continue
        except EvidenceCorrupt:
            problems.append(f"{public_id}: bytes in the {source_kind} store do not match their SHA-256")
            continue
        if isinstance(target, LocalDiskStore):
            target.delete(name)  # a damaged earlier copy
        target.put(name, content, sha256)
        if not _target_holds(target, name, sha256):
            problems.append(f"{public_id}: the copy in the {to} store does not match its SHA-256")
            continue
        copied += 1
        if delete_source:
            source.delete(name)
    verb = "would copy" if dry_run else "copied"
    click.echo(f"{verb} {copied}, already in {to}: {present}, problems: {len(problems)}")
    for line in problems:
        click.echo(f"  {line}", err=True)
    if problems:
        raise SystemExit(1)


@attachments_cli.command("verify")
@with_appcontext
def verify_command() -> None:
    """Read every attachment from the configured store and check its SHA-256; exits 1 on any problem."""
    svc = current_app.extensions["tejun"]
    store = svc.evidence or build_store(svc.settings)
    good, problems = 0, []
    for public_id, name, sha256 in stored_files(svc):
        try:
            store.open_verified(name, sha256).close()
            good += 1
        except EvidenceMissing:
            problems.append(f"{public_id}: missing")
        except EvidenceCorrupt:
            problems.append(f"{public_id}: SHA-256 mismatch")
    click.echo(f"{store.kind}: {good} intact, {len(problems)} problem(s)")
    for line in problems:
        click.echo(f"  {line}", err=True)
    if problems:
        raise SystemExit(1)
