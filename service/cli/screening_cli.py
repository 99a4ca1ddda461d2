"""`flask --app wsgi screening ...`: import restricted-party lists, list snapshots, deliver pending follow-ups.

    flask --app wsgi screening import meti_end_user_list EndUserList.xlsx [--list-date 2026-10-01]
    flask --app wsgi screening import us_csl consolidated.csv
    flask --app wsgi screening import institution_list ours.csv --organization CODE
    flask --app wsgi screening snapshots
    flask --app wsgi screening deliver
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..errors import TejunError


@click.group("screening")
def screening_cli() -> None:
    """Restricted-party screening: list snapshots and re-screening."""


def _actor(username: str | None):
    from ..auth.actor import Actor
    from ..auth.admin import actor_named

    svc = current_app.extensions["tejun"]
    if not username:
        # an operator at the command line: recorded by their OS account name
        return Actor(user_id=None, username=f"cli:{getpass.getuser()}"[:150], display_name="command line",
                     is_system=True)
    found = actor_named(svc, username)
    if found is None:
        raise click.BadParameter(f"no user {username!r}", param_hint="--by")
    return found


@screening_cli.command("import")
@click.argument("source")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list-date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The list's publication/revision date (default: found in the file's title rows, else today).")
@click.option("--organization", "organization", default=None, help="Code of the institution keeping this list.")
@click.option("--label", default=None, help="A name for this list (default: the source's name).")
@click.option("--by", "username", default=None, help="tejun username recorded as importer (default: the OS user).")
@click.option("--no-rescreen", is_flag=True, help="Only store the snapshot; do not re-screen open cases.")
@with_appcontext
def import_command(source, file, list_date, organization, label, username, no_rescreen) -> None:
    """Import FILE as a new snapshot of list SOURCE (meti_end_user_list, us_csl, institution_list)."""
    from ..screening.importers import import_list

    svc = current_app.extensions["tejun"]
    try:
        report = import_list(svc, _actor(username), source, file, list_date=list_date.date() if list_date else None,
                             organization_code=organization, label=label, rescreen=not no_rescreen)
    except TejunError as exc:
        click.echo(f"{file}: {exc.detail}", err=True)
        sys.exit(1)
    if report.unchanged:
        click.echo(f"unchanged: snapshot {report.snapshot_id} of {report.source} already has this file "
                   f"(sha256 {report.checksum[:12]})")
        return
    click.echo(f"imported {report.source} snapshot {report.snapshot_id}: list date {report.list_date}, "
               f"{report.row_count} entries ({report.skipped_rows} rows skipped), sha256 {report.checksum[:12]}")
    for field, header in report.columns.items():
        click.echo(f"  {field:<12} <- {header}")
    rescreen = report.rescreen
    if rescreen is not None:
        click.echo(f"re-screened {rescreen.subjects_screened} subject(s) of {rescreen.cases_screened} open case(s): "
                   f"{rescreen.new_hits} new hit(s); probable/exact on {len(rescreen.affected_case_ids)} case(s)")
        click.echo(f"  added to an open screening form: {rescreen.open_review_case_ids or '-'}")
        click.echo(f"  follow-up started: {rescreen.follow_up_case_ids or '-'}; waiting for the case: "
                   f"{rescreen.pending_case_ids or '-'}")
        if rescreen.busy_case_ids:
            click.echo(f"  busy, not re-screened (run the import again): {rescreen.busy_case_ids}", err=True)


@screening_cli.command("snapshots")
@with_appcontext
def snapshots_command() -> None:
    """List every imported snapshot, newest first."""
    from ..screening.lists import snapshots_for

    for s in snapshots_for(current_app.extensions["tejun"]):
        owner = f" org {s.organization_id}" if s.organization_id else ""
        click.echo(f"{s.id:>5} {s.source:<20}{owner} {s.list_date} {s.row_count:>7} entries  "
                   f"sha256 {s.checksum[:12]}  {s.imported_at:%Y-%m-%d %H:%M} by {s.imported_by_name}")


@screening_cli.command("build-indexes")
@with_appcontext
def build_indexes_command() -> None:
    """Store the search index of every snapshot that has none (import does it; migration 0014 did it)."""
    from ..screening import index_store

    built = index_store.build_missing(current_app.extensions["tejun"])
    click.echo(f"built {len(built)} index(es): {built or '-'}")


@screening_cli.command("deliver")
@with_appcontext
def deliver_command() -> None:
    """Hand pending screening-hit / disclosure-change follow-ups to cases now waiting for them."""
    from ..cases.follow_up_delivery import deliver_pending

    result = deliver_pending(current_app.extensions["tejun"])
    click.echo(f"delivered to {len(result.delivered)} case(s), still pending on {len(set(result.pending))}, "
               f"dropped {len(result.dropped)}")
