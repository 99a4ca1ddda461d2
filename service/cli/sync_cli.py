"""`flask --app wsgi models sync`: store bpmn/ and forms/ as a new published version when they changed."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from ..engine.loader import ModelError


@click.command("sync")
@click.option("--comment", default="synced from bpmn/ and forms/", help="Why this version exists.")
@with_appcontext
def sync_command(comment: str) -> None:
    """Store the default model set from disk as a published version, if its content changed."""
    from ..designer.versions import sync_from_disk

    svc = current_app.extensions["tejun"]
    try:
        version, created = sync_from_disk(svc, comment)
        summary = f"model version {version.id} ({version.content_hash[:12]})"
    except ModelError as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        sys.exit(1)
    click.echo(f"stored {summary}" if created else f"unchanged: {summary}", err=True)
