"""`flask --app wsgi models sync`: store bpmn/ and forms/ as a new published version when they changed."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from ..audit import chain
from ..engine.loader import ModelError
from ..unit_of_work import unit_of_work


@click.command("sync")
@click.option("--comment", default="synced from bpmn/ and forms/", help="Why this version exists.")
@with_appcontext
def sync_command(comment: str) -> None:
    """Store the default model set from disk as a published version, if its content changed."""
    from ..designer.store import read_model_dirs, store_version

    svc = current_app.extensions["tejun"]
    files = read_model_dirs(svc.settings.bpmn_dir, svc.settings.forms_dir)
    try:
        with unit_of_work(svc) as session:
            version, created = store_version(session, files, status="published", comment=comment)
            summary = f"model version {version.id} ({version.content_hash[:12]})"
            if created:  # publishing a process version is an administrative action: on the record
                chain.append(session, stream=chain.SYSTEM_STREAM, action="model_version_published", actor_id=None,
                             actor_name="cli", data={"version_id": version.id, "set": version.set_name,
                                                     "hash": version.content_hash, "comment": comment,
                                                     "via": "models sync"})
    except ModelError as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        sys.exit(1)
    click.echo(f"stored {summary}" if created else f"unchanged: {summary}", err=True)
